import Foundation

/// Failures of building or writing a report, naming the file. (A run directory or database that cannot be read
/// fails with its own module's error, which names it.)
public enum ReportError: LocalizedError, Equatable, Sendable {
    case cannotWrite(path: String, reason: String)
    /// The run's scores name records the database does not hold (the run was made from another database?).
    case databaseInconsistent(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotWrite(path, reason):
            return "\(path): cannot write the report: \(reason)"
        case let .databaseInconsistent(path, reason):
            return "\(path): \(reason). Hint: is this the database the run was evaluated on?"
        }
    }
}
