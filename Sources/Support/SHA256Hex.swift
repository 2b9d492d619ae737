import Crypto
import Foundation

/// SHA-256 as the lowercase hex text that every neuronbench identity (corpus, model files, reply cache keys) is
/// written in.
public struct SHA256Hex {
    private var hasher = SHA256()

    public init() {}

    public mutating func update<Bytes: DataProtocol>(_ bytes: Bytes) { hasher.update(data: bytes) }

    /// The digest as 64 hex digits (the hasher can not be updated after this).
    public func finalize() -> String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }

    /// The digest of `bytes`.
    public static func digest<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
        var hasher = SHA256Hex()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of a regular file, read in 4 MB chunks up to the size it had when opened: a device or pipe
    /// (`/dev/zero` behind a symlink) is refused instead of read forever.
    public static func digest(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw SupportError.unreadableFile(path: path) }
        defer { try? handle.close() }
        var status = stat()
        guard fstat(handle.fileDescriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw SupportError.notARegularFile(path: path)
        }
        var hasher = SHA256Hex()
        var left = Int(status.st_size)
        while left > 0, let chunk = try handle.read(upToCount: min(left, 1 << 22)), !chunk.isEmpty {
            hasher.update(chunk)
            left -= chunk.count
        }
        return hasher.finalize()
    }
}
