import Foundation

/// Failures of the shared helpers, each naming its file.
public enum SupportError: LocalizedError, Equatable, Sendable {
    case gzip(path: String, reason: String)
    case unreadableFile(path: String)
    /// A read failed after the file was opened (an I/O error).
    case readFailed(path: String, reason: String)
    case notARegularFile(path: String)
    /// Another process holds the writer lock on the output at `path`.
    case locked(path: String, holder: String)
    case lockFailed(path: String, reason: String)
    /// A write failed (a full disk, a quota, an I/O error).
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .gzip(path, reason): return "\(path): \(reason)"
        case let .unreadableFile(path): return "\(path): cannot be opened for reading"
        case let .readFailed(path, reason): return "\(path): read failed: \(reason)"
        case let .notARegularFile(path): return "\(path): not a regular file (a device, pipe or directory?)"
        case let .locked(path, holder):
            return
                "\(path): another neuronbench is writing it (\(holder)); wait for it to finish, or write elsewhere"
        case let .lockFailed(path, reason): return "\(path): cannot take the writer lock: \(reason)"
        case let .writeFailed(path, reason): return "\(path): write failed: \(reason)"
        }
    }

    /// The problem without the file name, for callers whose own message names the file.
    public var reason: String {
        switch self {
        case let .gzip(_, reason): return reason
        case .unreadableFile: return "cannot be opened for reading"
        case let .readFailed(_, reason): return "read failed: \(reason)"
        case .notARegularFile: return "not a regular file (a device, pipe or directory?)"
        case let .locked(_, holder): return "another neuronbench is writing it (\(holder))"
        case let .lockFailed(_, reason): return "cannot take the writer lock: \(reason)"
        case let .writeFailed(_, reason): return "write failed: \(reason)"
        }
    }
}
