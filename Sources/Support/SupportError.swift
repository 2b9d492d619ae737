import Foundation

/// Failures of the shared helpers, each naming its file.
public enum SupportError: LocalizedError, Equatable, Sendable {
    case gzip(path: String, reason: String)
    case unreadableFile(path: String)

    public var errorDescription: String? {
        switch self {
        case let .gzip(path, reason): return "\(path): \(reason)"
        case let .unreadableFile(path): return "\(path): cannot be opened for reading"
        }
    }

    /// The problem without the file name, for callers whose own message names the file.
    public var reason: String {
        switch self {
        case let .gzip(_, reason): return reason
        case .unreadableFile: return "cannot be opened for reading"
        }
    }
}
