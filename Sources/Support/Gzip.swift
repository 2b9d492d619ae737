import CZlib
import Foundation

/// Writes a gzip file (what `gzip -d`, Python's `gzip.open` and pandas read), appended to in pieces.
public final class GzipWriter {
    public let path: String
    private var file: gzFile?

    public init(path: String) throws {
        self.path = path
        guard let file = gzopen(path, "wb6") else {
            throw SupportError.gzip(path: path, reason: "cannot create the file")
        }
        self.file = file
    }

    public func write(_ bytes: [UInt8]) throws {
        guard let file, !bytes.isEmpty else { return }
        let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        guard written == Int32(bytes.count) else {
            throw SupportError.gzip(path: path, reason: "write failed (disk full?)")
        }
    }

    /// Flushes and closes the file; a failure here means the file is incomplete.
    public func close() throws {
        guard let file else { return }
        self.file = nil
        guard gzclose(file) == Z_OK else {
            throw SupportError.gzip(path: path, reason: "could not finish the gzip file")
        }
    }

    deinit { if let file { gzclose(file) } }
}

/// Reads a gzip file in chunks, reporting a truncated or corrupt stream as an error (zlib says "end of file" for
/// both unless asked).
public final class GzipReader {
    public let path: String
    private let file: gzFile

    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path), let file = gzopen(path, "rb") else {
            throw SupportError.gzip(path: path, reason: "not found or cannot be opened")
        }
        self.file = file
    }

    deinit { gzclose(file) }

    /// Up to `count` decompressed bytes; empty at the end of the stream.
    public func read(upTo count: Int = 1 << 20) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = gzread(file, &bytes, UInt32(count))
        var code: Int32 = 0
        if read < 0 {
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "gzip error"
            throw SupportError.gzip(path: path, reason: message + " (truncated or not gzip?)")
        }
        if read == 0 {
            // zlib reports a stream that ends early only here, at the end, as Z_BUF_ERROR.
            _ = gzerror(file, &code)
            if code == Z_BUF_ERROR {
                throw SupportError.gzip(path: path, reason: "the gzip stream ends early (truncated file)")
            }
        }
        bytes.removeLast(count - Int(read))
        return bytes
    }

    /// The whole decompressed content of the file at `path`.
    public static func contents(ofFile path: String) throws -> [UInt8] {
        let reader = try GzipReader(path: path)
        var out: [UInt8] = []
        while true {
            let chunk = try reader.read()
            if chunk.isEmpty { return out }
            out += chunk
        }
    }
}
