import Foundation

/// Why an evaluation, or one neuron's part of it, failed.
public enum EvaluationError: LocalizedError, Equatable, Sendable {
    /// The explainer has no explanation for this neuron (e.g. absent from an imported file): listed, not scored.
    case missingExplanation
    /// The unit is never above 0 on the recorded corpus (a dead SAE latent, a silent neuron): nothing to explain or
    /// score. Listed, counted apart, never sent to an explainer or scorer.
    case deadUnit
    case explainerFailed(String)
    case simulatorFailed(String)
    case judgeFailed(String)
    case invalidSpecification(String)
    case invalidImport(path: String, reason: String)
    case unknownPlugin(kind: String, name: String, known: [String])
    case invalidRun(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .missingExplanation: return "no explanation for this neuron"
        case .deadUnit: return "never above 0 on the recorded corpus (dead): nothing to explain"
        case let .explainerFailed(reason): return "explainer failed: \(reason)"
        case let .simulatorFailed(reason): return "simulator failed: \(reason)"
        case let .judgeFailed(reason): return "judge failed: \(reason)"
        case let .invalidSpecification(reason): return reason
        case let .invalidImport(path, reason): return "\(path): \(reason)"
        case let .unknownPlugin(kind, name, known):
            return "unknown \(kind) \"\(name)\"; known: \(known.joined(separator: ", "))"
        case let .invalidRun(path, reason): return "\(path): \(reason)"
        }
    }
}
