import Foundation

/// Why an import or export of another tool's files failed: always the file and the problem.
public enum InteropError: LocalizedError, Equatable, Sendable {
    /// A file of OpenAI's or Neuronpedia's formats that cannot be read as that format.
    case invalidFile(path: String, reason: String)
    /// An export that could not be written (nothing is left half-written in its place).
    case writeFailed(path: String, reason: String)
    case invalidRequest(String)

    public var errorDescription: String? {
        switch self {
        case let .invalidFile(path, reason): return "\(path): \(reason)"
        case let .writeFailed(path, reason): return "\(path): could not write the export (\(reason))"
        case let .invalidRequest(reason): return reason
        }
    }
}
