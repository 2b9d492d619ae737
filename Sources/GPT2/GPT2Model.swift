import Foundation
import Support

// Shape legend (as in llm.c): B sequences in a batch, T tokens per sequence, M = B·T rows, C = n_embd,
// H = n_head, D = C / H, N = neurons per layer (n_inner), V = vocab_size, P = n_positions.
//
// Port of transformers' `GPT2Model` (models/gpt2/modeling_gpt2.py) up to the last hook point that is asked for:
//   x = wte[ids] + wpe[positions]                                   <- blocks.0.hook_resid_pre
//   per block L:  x += c_proj(attn(ln_1(x)))                         <- blocks.L.hook_resid_mid
//                 h = gelu_new(c_fc(ln_2(x)))                        <- blocks.L.mlp.hook_post (the neurons)
//                 x += mlp.c_proj(h)      (mlp.c_proj(h): blocks.L.hook_mlp_out; x: blocks.L.hook_resid_post)
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

/// GPT-2 on the CPU, run for its MLP neurons: float32 throughout, or with bfloat16 projections
/// (`MatrixPrecision`).
public final class GPT2Model: Sendable {
    /// One block's parameters in the form the forward pass uses.
    struct Block: Sendable {
        let ln1Weight: [Float], ln1Bias: [Float]
        let attention: Projection  // [C, 3C]  columns [Q | K | V]
        let attentionOutput: Projection  // [C, C]
        let ln2Weight: [Float], ln2Bias: [Float]
        let fc: Projection  // [C, N]  -> the neurons
        let mlpOutput: Projection  // [N, C]
    }

    public let config: GPT2Config
    public let precision: MatrixPrecision
    /// The library of the float32 products (`.bfloat16` runs its products on its own kernel), fixed at load.
    public let blas: BLASLibrary
    private let sgemm: BLASLibrary.SGEMM
    let tokenEmbedding: [Float]  // [V, C]
    let positionEmbedding: [Float]  // [P, C]
    let blocks: [Block]

    /// Takes over `weights`; with `.bfloat16` the four projections of each block are rounded and packed here
    /// (the float32 matrices are not kept). Throws if this CPU cannot run `precision`.
    public convenience init(
        config: GPT2Config, weights: GPT2Weights, precision: MatrixPrecision = .float32, blas: BLASLibrary = .openBLAS
    ) throws {
        try self.init(
            config: config, tokenEmbedding: weights.tokenEmbedding, positionEmbedding: weights.positionEmbedding,
            blockCount: weights.blocks.count, precision: precision, blas: blas
        ) { weights.blocks[$0] }
    }

    /// Loads a Hugging Face checkpoint directory; `layerCount` loads only the first layers. Blocks are loaded and
    /// converted one at a time, so a bf16 model never holds all of its float32 matrices at once.
    public convenience init(
        directory: URL, layerCount: Int? = nil, precision: MatrixPrecision = .float32, blas: BLASLibrary = .openBLAS
    ) throws {
        let checkpoint = try GPT2Checkpoint(directory: directory)
        let config = checkpoint.config
        let (V, P, C) = (config.vocabularySize, config.contextLength, config.embeddingSize)
        try self.init(
            config: config, tokenEmbedding: try checkpoint.tensor("wte.weight", shape: [V, C]),
            positionEmbedding: try checkpoint.tensor("wpe.weight", shape: [P, C]),
            blockCount: min(layerCount ?? config.layerCount, config.layerCount), precision: precision, blas: blas
        ) {
            try GPT2Weights.Block(checkpoint: checkpoint, layer: $0)
        }
    }

    private init(
        config: GPT2Config, tokenEmbedding: [Float], positionEmbedding: [Float], blockCount: Int,
        precision: MatrixPrecision, blas: BLASLibrary, block: (Int) throws -> GPT2Weights.Block
    ) throws {
        guard precision.isSupported else {
            throw GPT2Error.unsupportedPrecision(
                precision.rawValue,
                reason:
                    "this CPU has no AVX-512 (bf16 runs on AVX-512 BF16, or emulated on AVX-512F); use fp32"
            )
        }
        let (c, n) = (config.embeddingSize, config.neuronCount)
        self.config = config
        self.precision = precision
        self.blas = blas
        let sgemm = try blas.sgemm()
        self.sgemm = sgemm
        self.tokenEmbedding = tokenEmbedding
        self.positionEmbedding = positionEmbedding
        blocks = try (0..<blockCount).map { layer in
            let w = try block(layer)
            func projection(_ weight: [Float], _ bias: [Float], _ inputs: Int, _ outputs: Int) throws -> Projection {
                try Projection(
                    weight: weight, bias: bias, inputs: inputs, outputs: outputs, precision: precision, blas: blas)
            }
            return Block(
                ln1Weight: w.ln1Weight, ln1Bias: w.ln1Bias,
                attention: try projection(w.attentionWeight, w.attentionBias, c, 3 * c),
                attentionOutput: try projection(w.attentionProjWeight, w.attentionProjBias, c, c),
                ln2Weight: w.ln2Weight, ln2Bias: w.ln2Bias,
                fc: try projection(w.fcWeight, w.fcBias, c, n),
                mlpOutput: try projection(w.mlpProjWeight, w.mlpProjBias, n, c))
        }
    }

    /// The layers this instance can run (all of the config's unless it was loaded with fewer).
    public var loadedLayerCount: Int { blocks.count }

    /// Runs `batch` (B sequences of T token ids, equal lengths) and calls `tap` with the MLP activations of each
    /// layer in `layers` (all loaded layers by default), in layer order. Only the running buffers are alive: a
    /// layer's activations are overwritten by the next layer's, so the tap must copy or reduce what it needs.
    public func forward(_ batch: [[Int]], layers: [Int]? = nil, tap: (MLPActivations) throws -> Void) throws {
        let hooks = Set((layers ?? Array(0..<loadedLayerCount)).map { HookPoint(layer: $0, site: .mlpPost) })
        try forward(batch, hooks: hooks) { hooked in
            try tap(
                MLPActivations(
                    layer: hooked.hook.layer, batchSize: hooked.batchSize, tokenCount: hooked.tokenCount,
                    neuronCount: hooked.width, values: hooked.values))
        }
    }

    /// Runs `batch` and calls `tap` with the vectors of each hook point in `hooks`, in forward order. The pass stops
    /// after the last hook; only the running buffers are alive (plus the MLP output when `hook_mlp_out` is asked
    /// for), so the tap must copy or reduce what it needs.
    public func forward(_ batch: [[Int]], hooks: Set<HookPoint>, tap: (HookActivations) throws -> Void) throws {
        for hook in hooks where !(0..<loadedLayerCount).contains(hook.layer) {
            throw GPT2Error.invalidInput(
                reason:
                    "layer \(hook.layer) is out of range: the model has \(loadedLayerCount) layers (0–\(loadedLayerCount - 1))"
            )
        }
        guard let lastLayer = hooks.map(\.layer).max() else { return }
        guard let t = batch.first?.count, t > 0 else { throw GPT2Error.invalidInput(reason: "the input has no tokens") }
        for sequence in batch where sequence.count != t {
            throw GPT2Error.invalidInput(
                reason: "all sequences of a batch must have the same length (\(t) and \(sequence.count) given)")
        }
        guard t <= config.contextLength else {
            throw GPT2Error.sequenceTooLong(length: t, maximum: config.contextLength)
        }
        for sequence in batch {
            for (position, id) in sequence.enumerated() where !(0..<config.vocabularySize).contains(id) {
                throw GPT2Error.tokenIDOutOfRange(id: id, position: position, vocabularySize: config.vocabularySize)
            }
        }

        let b = batch.count, m = b * t
        let c = config.embeddingSize, n = config.neuronCount, heads = config.headCount
        let epsilon = config.layerNormEpsilon
        var x = [Float](repeating: 0, count: m * c)  // (M, C) residual stream
        var normed = [Float](repeating: 0, count: m * c)  // (M, C) ln_1 / ln_2 output
        var qkv = [Float](repeating: 0, count: m * 3 * c)  // (M, 3C)
        var attention = [Float](repeating: 0, count: m * c)  // (M, C) heads concatenated
        var neurons = [Float](repeating: 0, count: m * n)  // (M, N) post-GELU MLP activations: the neurons
        let wantsMLPOut = hooks.contains { $0.site == .mlpOut }
        var mlpOut = [Float](repeating: 0, count: wantsMLPOut ? m * c : 0)  // (M, C) only for hook_mlp_out
        func emit(_ site: HookPoint.Site, _ layer: Int, _ values: [Float], width: Int) throws {
            let hook = HookPoint(layer: layer, site: site)
            guard hooks.contains(hook) else { return }
            try values.withUnsafeBufferPointer {
                try tap(HookActivations(hook: hook, batchSize: b, tokenCount: t, width: width, values: $0))
            }
        }

        // x = wte[ids] + wpe[positions]
        for (s, sequence) in batch.enumerated() {
            for (position, id) in sequence.enumerated() {
                let row = (s * t + position) * c
                for j in 0..<c {
                    x[row + j] = tokenEmbedding[id * c + j] + positionEmbedding[position * c + j]
                }
            }
        }

        for layer in 0...lastLayer {
            let block = blocks[layer]
            try emit(.residPre, layer, x, width: c)
            // Attention: x += c_proj(attn(ln_1(x)))
            Kernels.layerNorm(x, block.ln1Weight, block.ln1Bias, &normed, m: m, c: c, epsilon: epsilon)
            block.attention.apply(normed, &qkv, rows: m)
            var scale = 1 / Float(c / heads).squareRoot()
            if config.scaleAttentionByInverseLayerIndex { scale /= Float(layer + 1) }
            Kernels.batchedCausalAttention(
                qkv, &attention, batch: b, t: t, c: c, heads: heads, scale: scale, precision: precision,
                sgemm: sgemm)
            block.attentionOutput.add(attention, to: &x, rows: m)
            try emit(.residMid, layer, x, width: c)

            // MLP: neurons = gelu_new(c_fc(ln_2(x)));  x += mlp.c_proj(neurons)
            Kernels.layerNorm(x, block.ln2Weight, block.ln2Bias, &normed, m: m, c: c, epsilon: epsilon)
            block.fc.apply(normed, &neurons, rows: m)
            Kernels.geluNew(&neurons, count: m * n)
            try emit(.mlpPost, layer, neurons, width: n)
            // The last layer's MLP output is needed only by its own mlp_out and resid_post hooks.
            let later = layer < lastLayer
            if hooks.contains(HookPoint(layer: layer, site: .mlpOut)) {
                block.mlpOutput.apply(neurons, &mlpOut, rows: m)
                try emit(.mlpOut, layer, mlpOut, width: c)
                for i in 0..<(m * c) { x[i] += mlpOut[i] }
            } else if later || hooks.contains(HookPoint(layer: layer, site: .residPost)) {
                block.mlpOutput.add(neurons, to: &x, rows: m)
            }
            try emit(.residPost, layer, x, width: c)
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
