import CZlib
import Foundation

/// Activation values as stored: little-endian IEEE float16, zlib-compressed (RFC 1950, what Python's
/// `zlib.decompress` reads). Values are rounded to the nearest float16; |x| > 65504 becomes ±inf.
public enum RecordCodec {
    public static func encode(_ values: [Float]) throws -> [UInt8] {
        try encode(halfBits: values.map { Float16($0).bitPattern })
    }

    /// The same from float16 bit patterns (what the samplers keep), with no conversion.
    public static func encode(halfBits: [UInt16]) throws -> [UInt8] {
        let raw = halfBits.map { $0.littleEndian }
        var length = compressBound(uLong(raw.count * 2))
        var compressed = [UInt8](repeating: 0, count: Int(length))
        let code = raw.withUnsafeBytes {
            compress2(&compressed, &length, $0.bindMemory(to: UInt8.self).baseAddress, uLong($0.count), 6)
        }
        guard code == Z_OK else { throw ActivationStoreError.codec("zlib compress2 failed with code \(code)") }
        compressed.removeLast(compressed.count - Int(length))
        return compressed
    }

    /// Decodes a blob that must hold exactly `count` values.
    public static func decode(_ blob: [UInt8], count: Int) throws -> [Float] {
        // zlib compresses at most ~1032:1; a count beyond that is refused before anything is allocated for it.
        guard count >= 0, count <= 1_032 * (blob.count + 64) else {
            throw ActivationStoreError.codec(
                "an activation blob of \(blob.count) bytes cannot hold the \(count) values its records describe")
        }
        var raw = [UInt8](repeating: 0, count: count * 2)
        var length = uLong(raw.count)
        let code = raw.withUnsafeMutableBufferPointer { out in
            blob.withUnsafeBufferPointer { uncompress(out.baseAddress, &length, $0.baseAddress, uLong($0.count)) }
        }
        guard code == Z_OK || (count == 0 && code == Z_BUF_ERROR) else {
            throw ActivationStoreError.codec(
                "zlib could not decompress an activation blob (code \(code)): the blob is corrupt or holds more than the \(count) values its records describe"
            )
        }
        guard Int(length) == count * 2 else {
            throw ActivationStoreError.codec(
                "an activation blob holds \(length / 2) values but its records describe \(count)")
        }
        return (0..<count).map { Float(Float16(bitPattern: UInt16(raw[2 * $0]) | UInt16(raw[2 * $0 + 1]) << 8)) }
    }
}
