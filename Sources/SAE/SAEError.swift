import Foundation

/// Why a sparse autoencoder could not be loaded or applied, naming the file.
public enum SAEError: LocalizedError, Equatable, Sendable {
    case missingFile(path: String)
    case invalidConfig(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case badTensor(path: String, reason: String)
    case wrongHook(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .missingFile(path):
            return "\(path): not found (an SAELens SAE directory holds cfg.json and sae_weights.safetensors)"
        case let .invalidConfig(path, reason): return "\(path): \(reason)"
        case let .unsupported(path, reason): return "\(path): \(reason)"
        case let .badTensor(path, reason): return "\(path): \(reason)"
        case let .wrongHook(path, reason): return "\(path): \(reason)"
        }
    }
}
