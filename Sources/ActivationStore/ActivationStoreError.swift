import Foundation

/// Problems with an activation database beyond SQLite's own errors (`SQLiteError`, which names the file too).
public enum ActivationStoreError: LocalizedError, Equatable, Sendable {
    case notADatabase(path: String, reason: String)
    case unsupportedSchemaVersion(path: String, found: Int, supported: ClosedRange<Int>)
    case incomplete(path: String, status: String)
    case neuronNotFound(path: String, layer: Int, neuron: Int)
    case codec(String)
    case corrupt(path: String, reason: String)
    /// A caller handed the store values that contradict each other (a programming error, reported, not trapped).
    case invalidArgument(String)

    public var errorDescription: String? {
        switch self {
        case let .notADatabase(path, reason):
            return "\(path): not a neuronbench activation database: \(reason)"
        case let .unsupportedSchemaVersion(path, found, supported):
            let versions =
                supported.count == 1
                ? "version \(supported.lowerBound)" : "versions \(supported.lowerBound)–\(supported.upperBound)"
            let hint =
                found < ActivationSchema.version && supported == ActivationSchema.version...ActivationSchema.version
                ? "; it can be read, but not resumed or extended: precompute into a new file" : ""
            return
                "\(path): schema version \(found) is not supported here (this neuronbench \(supported.count == 1 ? "writes" : "reads") \(versions))\(hint)"
        case let .incomplete(path, status):
            return
                "\(path): the precompute that writes this database has not finished (status: \(status)). Re-run the same precompute to resume it."
        case let .neuronNotFound(path, layer, neuron):
            return "\(path): no neuron \(layer):\(neuron) in this database"
        case let .codec(reason):
            return reason
        case let .corrupt(path, reason):
            return "\(path): corrupt database: \(reason)"
        case let .invalidArgument(reason):
            return "invalid argument to the activation store: \(reason)"
        }
    }
}
