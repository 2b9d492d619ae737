/// The parameters GPT-2's MLP neurons depend on, as Float32, with the Conv1D layout kept: every weight matrix is
/// `[in, out]` and a projection is `y = x · W + b`.
///
/// The key table below is the one place that knows checkpoint names. `ln_f` and the LM head are not loaded: no
/// neuron depends on them.
public struct GPT2Weights: Sendable {
    public struct Block: Sendable {
        public var ln1Weight: [Float], ln1Bias: [Float]  // [C]
        public var attentionWeight: [Float], attentionBias: [Float]  // [C, 3C], [3C]  columns [Q | K | V]
        public var attentionProjWeight: [Float], attentionProjBias: [Float]  // [C, C], [C]
        public var ln2Weight: [Float], ln2Bias: [Float]  // [C]
        public var fcWeight: [Float], fcBias: [Float]  // [C, N], [N]
        public var mlpProjWeight: [Float], mlpProjBias: [Float]  // [N, C], [C]

        /// Loads block `layer` of `checkpoint`.
        public init(checkpoint: GPT2Checkpoint, layer: Int) throws {
            let config = checkpoint.config
            let (C, N) = (config.embeddingSize, config.neuronCount)
            func load(_ name: String, _ shape: [Int]) throws -> [Float] {
                try checkpoint.tensor("h.\(layer).\(name)", shape: shape)
            }
            ln1Weight = try load("ln_1.weight", [C]); ln1Bias = try load("ln_1.bias", [C])
            attentionWeight = try load("attn.c_attn.weight", [C, 3 * C])
            attentionBias = try load("attn.c_attn.bias", [3 * C])
            attentionProjWeight = try load("attn.c_proj.weight", [C, C])
            attentionProjBias = try load("attn.c_proj.bias", [C])
            ln2Weight = try load("ln_2.weight", [C]); ln2Bias = try load("ln_2.bias", [C])
            fcWeight = try load("mlp.c_fc.weight", [C, N]); fcBias = try load("mlp.c_fc.bias", [N])
            mlpProjWeight = try load("mlp.c_proj.weight", [N, C]); mlpProjBias = try load("mlp.c_proj.bias", [C])
        }
    }

    public var tokenEmbedding: [Float]  // [V, C]
    public var positionEmbedding: [Float]  // [P, C]
    public var blocks: [Block]

    /// Loads blocks `0..<layerCount` (all by default); later blocks cannot affect earlier neurons.
    public init(checkpoint: GPT2Checkpoint, layerCount: Int? = nil) throws {
        let config = checkpoint.config
        let (V, P, C) = (config.vocabularySize, config.contextLength, config.embeddingSize)
        tokenEmbedding = try checkpoint.tensor("wte.weight", shape: [V, C])
        positionEmbedding = try checkpoint.tensor("wpe.weight", shape: [P, C])
        blocks = try (0..<min(layerCount ?? config.layerCount, config.layerCount)).map {
            try Block(checkpoint: checkpoint, layer: $0)
        }
    }
}
