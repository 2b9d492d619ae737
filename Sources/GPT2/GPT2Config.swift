import Foundation

/// The fields of a Hugging Face GPT-2 `config.json` that determine the network; every GPT-2 size follows from them.
///
/// Missing keys take `transformers.GPT2Config`'s defaults (those of GPT-2 small). Settings that would change the
/// computation in a way neuronbench does not implement are rejected by `validate` rather than ignored.
public struct GPT2Config: Codable, Equatable, Sendable {
    public var vocabularySize: Int
    public var contextLength: Int
    public var embeddingSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// MLP width, i.e. neurons per layer; `n_inner: null` means 4 · n_embd.
    public var innerSize: Int?
    public var activationFunction: String
    public var layerNormEpsilon: Float
    public var scaleAttentionWeights: Bool
    public var scaleAttentionByInverseLayerIndex: Bool
    public var modelType: String?

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case contextLength = "n_positions"
        case embeddingSize = "n_embd"
        case layerCount = "n_layer"
        case headCount = "n_head"
        case innerSize = "n_inner"
        case activationFunction = "activation_function"
        case layerNormEpsilon = "layer_norm_epsilon"
        case scaleAttentionWeights = "scale_attn_weights"
        case scaleAttentionByInverseLayerIndex = "scale_attn_by_inverse_layer_idx"
        case modelType = "model_type"
    }

    public init(
        vocabularySize: Int = 50257, contextLength: Int = 1024, embeddingSize: Int = 768, layerCount: Int = 12,
        headCount: Int = 12, innerSize: Int? = nil, activationFunction: String = "gelu_new",
        layerNormEpsilon: Float = 1e-5, scaleAttentionWeights: Bool = true,
        scaleAttentionByInverseLayerIndex: Bool = false, modelType: String? = "gpt2"
    ) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.embeddingSize = embeddingSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.innerSize = innerSize
        self.activationFunction = activationFunction
        self.layerNormEpsilon = layerNormEpsilon
        self.scaleAttentionWeights = scaleAttentionWeights
        self.scaleAttentionByInverseLayerIndex = scaleAttentionByInverseLayerIndex
        self.modelType = modelType
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = GPT2Config()
        // A size that is a JSON number but not an integer (4.5, 1e30) is named as such; Foundation would report
        // the whole file as "not valid JSON".
        func integer(_ key: CodingKeys) throws -> Int? {
            guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
            if let value = try? c.decode(Int.self, forKey: key) { return value }
            if let value = try? c.decode(Double.self, forKey: key) {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: [key], debugDescription: "must be an integer, got \(value)"))
            }
            return try c.decode(Int.self, forKey: key)
        }
        vocabularySize = try integer(.vocabularySize) ?? defaults.vocabularySize
        contextLength = try integer(.contextLength) ?? defaults.contextLength
        embeddingSize = try integer(.embeddingSize) ?? defaults.embeddingSize
        layerCount = try integer(.layerCount) ?? defaults.layerCount
        headCount = try integer(.headCount) ?? defaults.headCount
        innerSize = try integer(.innerSize)
        activationFunction =
            try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? defaults.activationFunction
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? defaults.layerNormEpsilon
        scaleAttentionWeights = try c.decodeIfPresent(Bool.self, forKey: .scaleAttentionWeights) ?? true
        scaleAttentionByInverseLayerIndex =
            try c.decodeIfPresent(Bool.self, forKey: .scaleAttentionByInverseLayerIndex) ?? false
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
    }

    /// Neurons per layer.
    public var neuronCount: Int { innerSize ?? 4 * embeddingSize }
    public var headSize: Int { embeddingSize / headCount }

    /// Reads and validates `config.json`.
    public init(contentsOf url: URL) throws {
        let data = try readFile(url, hint: "A Hugging Face GPT-2 directory has config.json beside model.safetensors.")
        do {
            self = try JSONDecoder().decode(GPT2Config.self, from: data)
        } catch let error as DecodingError {
            throw GPT2Error.invalidConfig(path: url.path, reason: Self.describe(error))
        } catch {
            throw GPT2Error.invalidConfig(path: url.path, reason: "not valid JSON")
        }
        try validate(path: url.path)
    }

    /// Upper bounds far above every published GPT-2 (XL: 48 layers, n_embd 1,600, n_inner 6,400, 1,024 positions,
    /// 50,257 tokens) that keep every derived size well inside memory and `Int32` token ids.
    public static let limits = (
        vocabularySize: 1 << 24, contextLength: 1 << 16, embeddingSize: 1 << 16, layerCount: 4_096, innerSize: 1 << 18
    )

    /// The activation functions that are exactly GPT-2's tanh approximation of GELU.
    public static let supportedActivations = ["gelu_new", "gelu_pytorch_tanh"]

    public func validate(path: String) throws {
        if let modelType, modelType != "gpt2" {
            throw GPT2Error.unsupportedConfig(path: path, key: "model_type", value: modelType, supported: "\"gpt2\"")
        }
        guard Self.supportedActivations.contains(activationFunction) else {
            throw GPT2Error.unsupportedConfig(
                path: path, key: "activation_function", value: "\"\(activationFunction)\"",
                supported: Self.supportedActivations.map { "\"\($0)\"" }.joined(separator: " or "))
        }
        guard scaleAttentionWeights else {
            throw GPT2Error.unsupportedConfig(path: path, key: "scale_attn_weights", value: "false", supported: "true")
        }
        // Bounds first: every size derived below (n_inner = 4 · n_embd, buffers, the layer list) must not
        // overflow or allocate gigabytes for a mistyped config before the checkpoint is consulted.
        for (key, value, limit) in [
            ("vocab_size", vocabularySize, Self.limits.vocabularySize),
            ("n_positions", contextLength, Self.limits.contextLength),
            ("n_embd", embeddingSize, Self.limits.embeddingSize), ("n_layer", layerCount, Self.limits.layerCount),
            ("n_head", headCount, Self.limits.embeddingSize), ("n_inner", innerSize ?? 1, Self.limits.innerSize),
        ] {
            guard value > 0 else {
                throw GPT2Error.invalidConfig(path: path, reason: "\(key) must be positive, got \(value)")
            }
            guard value <= limit else {
                throw GPT2Error.invalidConfig(
                    path: path, reason: "\(key) is \(value), beyond any GPT-2 this tool can run (at most \(limit))")
            }
        }
        guard embeddingSize % headCount == 0 else {
            throw GPT2Error.invalidConfig(
                path: path, reason: "n_embd \(embeddingSize) is not divisible by n_head \(headCount)")
        }
        guard layerNormEpsilon > 0 else {
            throw GPT2Error.invalidConfig(path: path, reason: "layer_norm_epsilon must be positive")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .keyNotFound(_, context),
            let .dataCorrupted(context):
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            return key.isEmpty ? context.debugDescription : "\(key): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
