import Foundation

/// Everything that can go wrong while reading a tokenizer or a checkpoint, or running the model.
///
/// Each case carries the file, tensor or value involved so that its message can be shown to a user as it is;
/// messages end with a hint where there is an obvious next step.
public enum GPT2Error: LocalizedError, Equatable, Sendable {
    case fileNotFound(path: String, hint: String)
    case unreadableFile(path: String, reason: String)
    case invalidTokenizerFile(path: String, line: Int?, reason: String)
    case unknownTokenID(id: Int, vocabularySize: Int)
    case invalidSafetensors(path: String, reason: String)
    case invalidConfig(path: String, reason: String)
    case unsupportedConfig(path: String, key: String, value: String, supported: String)
    case missingTensor(name: String, path: String)
    case tensorShapeMismatch(name: String, path: String, expected: [Int], actual: [Int])
    case unsupportedDType(name: String, path: String, dtype: String)
    case sequenceTooLong(length: Int, maximum: Int)
    case tokenIDOutOfRange(id: Int, position: Int, vocabularySize: Int)
    case invalidInput(reason: String)
    case unsupportedPrecision(String, reason: String)
    case unsupportedLibrary(String, reason: String, hint: String)

    public var errorDescription: String? {
        switch self {
        case let .fileNotFound(path, hint):
            return "\(path): file not found. \(hint)"
        case let .unreadableFile(path, reason):
            return "\(path): cannot read file: \(reason)"
        case let .invalidTokenizerFile(path, line, reason):
            let location = line.map { "\(path):\($0)" } ?? path
            return "\(location): invalid tokenizer file: \(reason). Hint: re-run Scripts/fetch-assets."
        case let .unknownTokenID(id, size):
            return "token id \(id) is not in the vocabulary (size \(size))"
        case let .invalidSafetensors(path, reason):
            return "\(path): not a valid safetensors file: \(reason)"
        case let .invalidConfig(path, reason):
            return "\(path): invalid GPT-2 config: \(reason)"
        case let .unsupportedConfig(path, key, value, supported):
            return "\(path): unsupported \(key) \(value); neuronbench supports \(supported)"
        case let .missingTensor(name, path):
            return "\(path): tensor '\(name)' is missing from the checkpoint"
        case let .tensorShapeMismatch(name, path, expected, actual):
            return "\(path): tensor '\(name)' has shape \(actual) but config.json implies \(expected)"
        case let .unsupportedDType(name, path, dtype):
            return "\(path): tensor '\(name)' has unsupported dtype \(dtype); supported: F32, F16, BF16"
        case let .sequenceTooLong(length, maximum):
            return "input has \(length) tokens but the model's context (n_positions) is \(maximum)"
        case let .tokenIDOutOfRange(id, position, size):
            return
                "token id \(id) at position \(position) is out of range for the model's vocabulary (vocab_size \(size))"
        case let .invalidInput(reason):
            return reason
        case let .unsupportedPrecision(precision, reason):
            return "precision \(precision) is not available: \(reason)"
        case let .unsupportedLibrary(library, reason, hint):
            return "--blas \(library) is not available: \(reason). Hint: \(hint)."
        }
    }
}
