import CDeflate
import CZlib
import Foundation

/// Activation values as stored: little-endian IEEE float16, zlib-compressed (RFC 1950, what Python's
/// `zlib.decompress` reads). Values are rounded to the nearest float16; |x| > 65504 becomes ±inf.
///
/// Written with libdeflate at level 1, read with zlib: on float16 activations libdeflate's level 1 compresses as well as
/// zlib's level 6 at about three times the speed (measured: BENCHMARKS.md), and compression was the largest part of
/// the final write. Any zlib reader reads either.
public enum RecordCodec {
    /// libdeflate's compression level (1–12).
    static let level: Int32 = 1

    public static func encode(_ values: [Float]) throws -> [UInt8] {
        try encode(halfBits: values.map { Float16($0).bitPattern })
    }

    /// The same from float16 bit patterns (what the samplers keep), with no conversion.
    public static func encode(halfBits: [UInt16]) throws -> [UInt8] {
        #if _endian(little)
        return try compress(halfBits)
        #else
        return try compress(halfBits.map { $0.littleEndian })
        #endif
    }

    /// zlib(`raw`'s bytes), written straight into an array of libdeflate's worst-case size, trimmed.
    private static func compress(_ raw: [UInt16]) throws -> [UInt8] {
        guard let compressor = Compressor.current else {
            throw ActivationStoreError.codec("libdeflate could not allocate a compressor")
        }
        let bound = libdeflate_zlib_compress_bound(compressor.pointer, raw.count * 2)
        let compressed = [UInt8](unsafeUninitializedCapacity: bound) { output, count in
            count = raw.withUnsafeBytes { input in
                libdeflate_zlib_compress(
                    compressor.pointer, input.baseAddress, input.count, output.baseAddress, output.count)
            }
        }
        // The bound is libdeflate's own worst case, so 0 (output too small) would be a libdeflate bug.
        guard !compressed.isEmpty else {
            throw ActivationStoreError.codec("libdeflate could not compress an activation blob")
        }
        return compressed
    }

    /// One compressor per thread (a libdeflate compressor must not be shared between threads; it holds ~1 MB of
    /// tables, so it is kept for the thread's lifetime rather than made per blob).
    private final class Compressor {
        let pointer: OpaquePointer
        private init?() {
            guard let pointer = libdeflate_alloc_compressor(RecordCodec.level) else { return nil }
            self.pointer = pointer
        }
        deinit { libdeflate_free_compressor(pointer) }

        static var current: Compressor? {
            let key = "neuronbench.RecordCodec.compressor"
            if let compressor = Thread.current.threadDictionary[key] as? Compressor { return compressor }
            let compressor = Compressor()
            Thread.current.threadDictionary[key] = compressor
            return compressor
        }
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
