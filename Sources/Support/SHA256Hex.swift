import COpenSSL
import Foundation

/// SHA-256 as the lowercase hex text that every neuronbench identity (corpus, model files, reply cache keys) is
/// written in. OpenSSL's libcrypto (a system library, like zlib and SQLite) does the hashing: swift-crypto would
/// compile its own copy of BoringSSL into every fresh build, the largest part of a clean build's time.
/// Not copyable: it owns an OpenSSL digest context.
public struct SHA256Hex: ~Copyable {
    private let context: OpaquePointer

    public init() {
        // Allocation failure is the only way these can fail for SHA-256.
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            fatalError("OpenSSL could not start a SHA-256 digest (out of memory)")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public mutating func update<Bytes: DataProtocol>(_ bytes: Bytes) {
        for region in bytes.regions {
            region.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
                precondition(EVP_DigestUpdate(context, base, buffer.count) == 1, "OpenSSL SHA-256 update failed")
            }
        }
    }

    /// The digest as 64 hex digits (the hasher can not be updated after this).
    public consuming func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &digest, &length) == 1, "OpenSSL SHA-256 final failed")
        return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }

    /// The digest of `bytes`.
    public static func digest<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
        var hasher = SHA256Hex()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of a regular file, read through one reused 1 MB buffer (cache-resident: a fresh 4 MB chunk per
    /// read cost page faults and a copy through memory, most of a 500 MB model's hashing time) up to the size it had
    /// when opened: a device or pipe (`/dev/zero` behind a symlink) is refused instead of read forever.
    public static func digest(ofFile path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SupportError.unreadableFile(path: path) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw SupportError.notARegularFile(path: path)
        }
        let hasher = SHA256Hex()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var left = Int(status.st_size)
        while left > 0 {
            let count = read(descriptor, buffer.baseAddress, min(left, buffer.count))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                if count < 0 { throw SupportError.readFailed(path: path, reason: String(cString: strerror(errno))) }
                break
            }
            precondition(
                EVP_DigestUpdate(hasher.context, buffer.baseAddress, count) == 1, "OpenSSL SHA-256 update failed")
            left -= count
        }
        return hasher.finalize()
    }
}
