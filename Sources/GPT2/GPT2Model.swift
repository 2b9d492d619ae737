import Foundation

// Shape legend (as in llm.c): B sequences in a batch, T tokens per sequence, M = B·T rows, C = n_embd,
// H = n_head, D = C / H, N = neurons per layer (n_inner), V = vocab_size, P = n_positions.
//
// Port of transformers' `GPT2Model` (models/gpt2/modeling_gpt2.py) up to the last MLP that is asked for:
//   x = wte[ids] + wpe[positions]
//   per block:  x += c_proj(attn(ln_1(x)));   h = gelu_new(c_fc(ln_2(x)))  <- the neurons;   x += mlp.c_proj(h)
// No ln_f and no LM head: no neuron depends on them.

/// One layer's post-GELU MLP activations for a whole batch, lent to a tap for the duration of the call.
public struct MLPActivations {
    public let layer: Int
    public let batchSize: Int
    public let tokenCount: Int
    public let neuronCount: Int
    /// [B, T, N], valid only inside the tap; copy what you keep.
    public let values: UnsafeBufferPointer<Float>

    /// The activation of `neuron` at token `token` of sequence `sequence`.
    public subscript(sequence: Int, token: Int, neuron: Int) -> Float {
        values[(sequence * tokenCount + token) * neuronCount + neuron]
    }
}

/// GPT-2 in Float32 on the CPU, matrix multiplies through OpenBLAS, run for its MLP neurons.
public final class GPT2Model: Sendable {
    public let config: GPT2Config
    public let weights: GPT2Weights

    public init(config: GPT2Config, weights: GPT2Weights) {
        self.config = config
        self.weights = weights
        Parallel.singleThreadedBLAS
    }

    /// Loads a Hugging Face checkpoint directory; `layerCount` loads only the first layers.
    public convenience init(directory: URL, layerCount: Int? = nil) throws {
        let checkpoint = try GPT2Checkpoint(directory: directory)
        self.init(config: checkpoint.config, weights: try GPT2Weights(checkpoint: checkpoint, layerCount: layerCount))
    }

    /// The layers this instance can run (all of the config's unless it was loaded with fewer).
    public var loadedLayerCount: Int { weights.blocks.count }

    /// Runs `batch` (B sequences of T token ids, equal lengths) and calls `tap` with the MLP activations of each
    /// layer in `layers` (all loaded layers by default), in layer order. Only the running buffers are alive: a
    /// layer's activations are overwritten by the next layer's, so the tap must copy or reduce what it needs.
    public func forward(_ batch: [[Int]], layers: [Int]? = nil, tap: (MLPActivations) throws -> Void) throws {
        let selected = Set(layers ?? Array(0..<loadedLayerCount))
        for layer in selected where !(0..<loadedLayerCount).contains(layer) {
            throw GPT2Error.invalidInput(reason: "layer \(layer) is out of range: the model has \(loadedLayerCount) layers (0–\(loadedLayerCount - 1))")
        }
        guard let lastLayer = selected.max() else { return }
        guard let t = batch.first?.count, t > 0 else { throw GPT2Error.invalidInput(reason: "the input has no tokens") }
        for sequence in batch where sequence.count != t {
            throw GPT2Error.invalidInput(reason: "all sequences of a batch must have the same length (\(t) and \(sequence.count) given)")
        }
        guard t <= config.contextLength else { throw GPT2Error.sequenceTooLong(length: t, maximum: config.contextLength) }
        for sequence in batch {
            for (position, id) in sequence.enumerated() where !(0..<config.vocabularySize).contains(id) {
                throw GPT2Error.tokenIDOutOfRange(id: id, position: position, vocabularySize: config.vocabularySize)
            }
        }

        let b = batch.count, m = b * t
        let c = config.embeddingSize, n = config.neuronCount, heads = config.headCount
        let epsilon = config.layerNormEpsilon
        var x = [Float](repeating: 0, count: m * c)           // (M, C) residual stream
        var normed = [Float](repeating: 0, count: m * c)      // (M, C) ln_1 / ln_2 output
        var qkv = [Float](repeating: 0, count: m * 3 * c)     // (M, 3C)
        var attention = [Float](repeating: 0, count: m * c)   // (M, C) heads concatenated
        var neurons = [Float](repeating: 0, count: m * n)     // (M, N) post-GELU MLP activations: the neurons

        // x = wte[ids] + wpe[positions]
        for (s, sequence) in batch.enumerated() {
            for (position, id) in sequence.enumerated() {
                let row = (s * t + position) * c
                for j in 0..<c {
                    x[row + j] = weights.tokenEmbedding[id * c + j] + weights.positionEmbedding[position * c + j]
                }
            }
        }

        for layer in 0...lastLayer {
            let block = weights.blocks[layer]
            // Attention: x += c_proj(attn(ln_1(x)))
            Kernels.layerNorm(x, block.ln1Weight, block.ln1Bias, &normed, m: m, c: c, epsilon: epsilon)
            Kernels.linear(normed, block.attentionWeight, block.attentionBias, &qkv, m: m, k: c, n: 3 * c)
            var scale = 1 / Float(c / heads).squareRoot()
            if config.scaleAttentionByInverseLayerIndex { scale /= Float(layer + 1) }
            Kernels.batchedCausalAttention(qkv, &attention, batch: b, t: t, c: c, heads: heads, scale: scale)
            Kernels.linearAdd(attention, block.attentionProjWeight, block.attentionProjBias, &x, m: m, k: c, n: c)

            // MLP: neurons = gelu_new(c_fc(ln_2(x)));  x += mlp.c_proj(neurons)
            Kernels.layerNorm(x, block.ln2Weight, block.ln2Bias, &normed, m: m, c: c, epsilon: epsilon)
            Kernels.linear(normed, block.fcWeight, block.fcBias, &neurons, m: m, k: c, n: n)
            Kernels.geluNew(&neurons, count: m * n)
            if selected.contains(layer) {
                try neurons.withUnsafeBufferPointer { values in
                    try tap(MLPActivations(layer: layer, batchSize: b, tokenCount: t, neuronCount: n, values: values))
                }
            }
            if layer < lastLayer {
                Kernels.linearAdd(neurons, block.mlpProjWeight, block.mlpProjBias, &x, m: m, k: n, n: c)
            }
        }
    }

    /// The MLP activations of one sequence, copied out: layer -> [T, N]. For inspecting a text; bulk work should
    /// use `forward(_:layers:tap:)` and reduce inside the tap.
    public func mlpActivations(_ tokenIDs: [Int], layers: [Int]? = nil) throws -> [Int: [Float]] {
        var result: [Int: [Float]] = [:]
        try forward([tokenIDs], layers: layers) { result[$0.layer] = Array($0.values) }
        return result
    }
}
