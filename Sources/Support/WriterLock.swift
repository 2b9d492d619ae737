import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One writer per output, for as long as the writer runs: an advisory `flock` on a sidecar file `OUTPUT.lock`
/// that holds the writer's PID, host and start time. The kernel releases the lock when the process dies, even by
/// `kill -9`, so a crash never blocks the rerun that resumes it; a second writer is refused at once, by name.
///
/// Why a sidecar and not the output itself: SQLite takes its own POSIX locks on a database, and on network file
/// systems `flock` may be emulated with those, which would collide with SQLite's. The sidecar is removed when the
/// lock is released; a lock file left by a killed writer is reused (its lock died with the process).
///
/// Limits: `flock` holds between processes of one machine and on local file systems. NFS (v4, or v3 with `lockd`)
/// and Lustre usually honour it; some network file systems do not, and there two machines may both "hold" it.
public final class WriterLock {
    /// The output it guards and the sidecar file that carries the lock.
    public let target: String
    public let lockPath: String
    private var descriptor: Int32

    /// Takes the lock on `target`, or throws `SupportError.locked` naming the holder.
    public init(for target: String) throws {
        self.target = target
        lockPath = target + ".lock"
        descriptor = -1
        // Another writer may unlink the sidecar between our open and our flock: retry until the file we locked is
        // the one the path names.
        for _ in 0..<100 {
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw SupportError.lockFailed(path: lockPath, reason: String(cString: strerror(errno)))
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                let holder = Self.holder(fd)
                close(fd)
                if code == EWOULDBLOCK { throw SupportError.locked(path: target, holder: holder) }
                throw SupportError.lockFailed(path: lockPath, reason: String(cString: strerror(code)))
            }
            var opened = stat(), named = stat()
            if fstat(fd, &opened) == 0, stat(lockPath, &named) == 0, opened.st_ino == named.st_ino,
                opened.st_dev == named.st_dev
            {
                descriptor = fd
                writeHolder()
                return
            }
            close(fd)
        }
        throw SupportError.lockFailed(path: lockPath, reason: "the lock file kept being replaced")
    }

    deinit { release() }

    /// Gives the lock up (also done when the process exits, however it exits).
    public func release() {
        guard descriptor >= 0 else { return }
        unlink(lockPath)
        close(descriptor)
        descriptor = -1
    }

    /// Who holds a lock, as its sidecar says: "pid 123 on host h since 2026-12-01T09:00:00Z".
    private static func holder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = pread(fd, &buffer, buffer.count, 0)
        let text = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? "another process" : trimmed
    }

    private func writeHolder() {
        let since = ISO8601DateFormatter().string(from: Date())
        let text = "pid \(getpid()) on host \(ProcessInfo.processInfo.hostName) since \(since)\n"
        _ = ftruncate(descriptor, 0)
        _ = text.utf8CString.withUnsafeBufferPointer { pwrite(descriptor, $0.baseAddress, $0.count - 1, 0) }
    }
}
