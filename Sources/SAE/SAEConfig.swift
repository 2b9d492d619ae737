import Foundation
import GPT2

/// An SAELens SAE's `cfg.json` (version 6, and the pre-6.0 layout with `hook_point` at the top level), reduced to
/// what encoding needs. Only what neuronbench can apply exactly is accepted; anything else is refused by name.
public struct SAEConfig: Sendable, Equatable {
    public enum Architecture: String, Sendable, CaseIterable {
        case standard, topk, jumprelu
    }

    public var architecture: Architecture
    public var inputWidth: Int
    public var latentCount: Int
    /// k of a topk SAE.
    public var k: Int?
    public var applyDecoderBiasToInput: Bool
    public var hook: HookPoint
    /// The SAE was trained on contexts that start with a BOS token.
    public var prependBOS: Bool?
    /// The SAE was trained on a TransformerLens model loaded with `center_writing_weights=True`: its residual is the
    /// Hugging Face residual minus its per-token mean over d_model.
    public var centerWritingWeights: Bool

    /// Parses `cfg.json` at `path`.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw SAEError.missingFile(path: path) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SAEError.invalidConfig(path: path, reason: "not a JSON object")
        }
        func fail(_ reason: String) -> SAEError { .invalidConfig(path: path, reason: reason) }
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        func integer(_ key: String) throws -> Int {
            // JSON true/false arrive as NSNumber too; their objCType is "c".
            guard let number = object[key] as? NSNumber, String(cString: number.objCType) != "c",
                let value = Int(exactly: number.doubleValue), value > 0
            else { throw fail("\"\(key)\" must be a positive integer") }
            return value
        }
        // Pre-6.0 configs name the activation instead of the architecture.
        let architectureName =
            object["architecture"] as? String
            ?? (object["activation_fn_str"] as? String).map { $0 == "relu" ? "standard" : $0 } ?? "standard"
        guard let architecture = Architecture(rawValue: architectureName) else {
            throw SAEError.unsupported(
                path: path,
                reason:
                    "architecture \"\(architectureName)\" is not supported (supported: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        self.architecture = architecture
        inputWidth = try integer("d_in")
        latentCount = try integer("d_sae")
        k = architecture == .topk ? try integer("k") : nil
        if let k, k > latentCount { throw fail("\"k\" (\(k)) is larger than \"d_sae\" (\(latentCount))") }
        applyDecoderBiasToInput = object["apply_b_dec_to_input"] as? Bool ?? true
        let normalize = object["normalize_activations"] as? String ?? "none"
        guard normalize == "none" else {
            throw SAEError.unsupported(
                path: path, reason: "normalize_activations \"\(normalize)\" is not supported (only \"none\")")
        }
        for (key, accepted) in [("reshape_activations", "none")] {
            if let value = object[key] as? String, value != accepted {
                throw SAEError.unsupported(path: path, reason: "\(key) \"\(value)\" is not supported")
            }
        }
        if object["rescale_acts_by_decoder_norm"] as? Bool == true {
            throw SAEError.unsupported(path: path, reason: "rescale_acts_by_decoder_norm is not supported")
        }
        if let dtype = object["dtype"] as? String, !["float32", "torch.float32"].contains(dtype) {
            throw SAEError.unsupported(path: path, reason: "dtype \"\(dtype)\" is not supported (only float32)")
        }
        let hookName =
            metadata["hook_name"] as? String ?? object["hook_name"] as? String ?? object["hook_point"] as? String
        guard let hookName else { throw fail("no metadata.hook_name (or hook_point): which activations does it read?") }
        guard let hook = HookPoint(name: hookName) else {
            throw SAEError.unsupported(
                path: path,
                reason:
                    "hook \"\(hookName)\" is not one neuronbench can tap (\(HookPoint.namePatterns.joined(separator: ", ")))"
            )
        }
        if let head = metadata["hook_head_index"] ?? object["hook_head_index"], !(head is NSNull) {
            throw SAEError.unsupported(path: path, reason: "hook_head_index is not supported")
        }
        self.hook = hook
        prependBOS = metadata["prepend_bos"] as? Bool ?? object["prepend_bos"] as? Bool
        let kwargs =
            metadata["model_from_pretrained_kwargs"] as? [String: Any]
            ?? object["model_from_pretrained_kwargs"] as? [String: Any] ?? [:]
        centerWritingWeights = kwargs["center_writing_weights"] as? Bool ?? false
    }
}
