/// The model a database was recorded from (metadata "model"): its Hugging Face `config.json` fields, under their
/// Hugging Face names, so that readers need not load GPT-2 to say what was recorded.
public struct StoredModel: Codable, Equatable, Sendable {
    public var vocabularySize: Int
    public var contextLength: Int
    public var embeddingSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// MLP width; nil means 4 · embeddingSize.
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
        vocabularySize: Int, contextLength: Int, embeddingSize: Int, layerCount: Int, headCount: Int,
        innerSize: Int?, activationFunction: String, layerNormEpsilon: Float, scaleAttentionWeights: Bool,
        scaleAttentionByInverseLayerIndex: Bool, modelType: String?
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

    /// Neurons per layer.
    public var neuronCount: Int { innerSize ?? 4 * embeddingSize }
}
