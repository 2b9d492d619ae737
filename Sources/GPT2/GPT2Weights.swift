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

        /// Each tensor of a block, by its name after `h.L.`, with its shape.
        static func shapes(_ config: GPT2Config) -> [String: [Int]] {
            let (C, N) = (config.embeddingSize, config.neuronCount)
            return [
                "ln_1.weight": [C], "ln_1.bias": [C], "attn.c_attn.weight": [C, 3 * C], "attn.c_attn.bias": [3 * C],
                "attn.c_proj.weight": [C, C], "attn.c_proj.bias": [C], "ln_2.weight": [C], "ln_2.bias": [C],
                "mlp.c_fc.weight": [C, N], "mlp.c_fc.bias": [N], "mlp.c_proj.weight": [N, C], "mlp.c_proj.bias": [C],
            ]
        }

        /// Loads block `layer` of `checkpoint`.
        public init(checkpoint: GPT2Checkpoint, layer: Int) throws {
            let shapes = Self.shapes(checkpoint.config)
            func load(_ name: String) throws -> [Float] {
                try checkpoint.tensor("h.\(layer).\(name)", shape: shapes[name]!)
            }
            ln1Weight = try load("ln_1.weight"); ln1Bias = try load("ln_1.bias")
            attentionWeight = try load("attn.c_attn.weight"); attentionBias = try load("attn.c_attn.bias")
            attentionProjWeight = try load("attn.c_proj.weight"); attentionProjBias = try load("attn.c_proj.bias")
            ln2Weight = try load("ln_2.weight"); ln2Bias = try load("ln_2.bias")
            fcWeight = try load("mlp.c_fc.weight"); fcBias = try load("mlp.c_fc.bias")
            mlpProjWeight = try load("mlp.c_proj.weight"); mlpProjBias = try load("mlp.c_proj.bias")
        }
    }

    /// Checks, from the safetensors headers alone (nothing is loaded or allocated), that `checkpoint` has every
    /// tensor of blocks `0..<layerCount` and the embeddings, each of the shape its config implies: a config that
    /// promises more layers or other sizes than the weights hold fails here, naming the tensor.
    public static func checkShapes(_ checkpoint: GPT2Checkpoint, layerCount: Int) throws {
        let config = checkpoint.config
        let (V, P, C) = (config.vocabularySize, config.contextLength, config.embeddingSize)
        try checkpoint.checkTensor("wte.weight", shape: [V, C])
        try checkpoint.checkTensor("wpe.weight", shape: [P, C])
        let shapes = Block.shapes(config).sorted { $0.key < $1.key }
        for layer in 0..<min(layerCount, config.layerCount) {
            for (name, shape) in shapes { try checkpoint.checkTensor("h.\(layer).\(name)", shape: shape) }
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
