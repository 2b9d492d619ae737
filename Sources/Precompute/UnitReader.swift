import ActivationStore
import Foundation
import GPT2
import SAE
import Sampling

/// The unit-source seam: a batch of contexts through the model, handed on as each recorded layer's unit values
/// [rows, units] with every excerpt's rows. The units are the MLP neurons (`mlp.hook_post`), or the latents of the
/// layer's SAE applied to its hook point. With `prependBOS` each context is read after GPT-2's `<|endoftext|>`,
/// whose row belongs to no excerpt, so it is never a record token and never counted.
struct UnitReader {
    let model: GPT2Model
    /// Recorded layers, ascending.
    let layers: [Int]
    /// The SAE of each recorded layer, in `layers` order; empty for neurons.
    let saes: [SparseAutoencoder]
    let prependBOS: Bool

    /// GPT-2's `<|endoftext|>`, its BOS.
    static let beginningOfText = 50256

    var readsLatents: Bool { !saes.isEmpty }

    /// Units per recorded layer.
    var unitCounts: [Int] {
        readsLatents ? saes.map(\.config.latentCount) : layers.map { _ in model.config.neuronCount }
    }

    /// Runs a batch of contexts (each its excerpts' tokens in order, padded to the longest; padding follows the
    /// real tokens, so causal attention keeps it from touching them) and calls `body(layer index, values, spans)`
    /// per recorded layer. With `reconstruction` (one per SAE), adds each SAE's reconstruction of the excerpt rows.
    func forward(
        _ contexts: [[ExcerptRow]], reconstruction: UnsafeMutablePointer<ReconstructionTotals>? = nil,
        _ body: (Int, UnsafeBufferPointer<Float>, [ExcerptSpan]) -> Void
    ) throws {
        let lead = prependBOS ? [Self.beginningOfText] : []
        let tokens = contexts.map { lead + $0.flatMap(\.tokenIDs) }
        let t = tokens.map(\.count).max() ?? 0
        let padded = tokens.map { $0 + [Int](repeating: 0, count: t - $0.count) }
        var spans: [ExcerptSpan] = []
        for (c, context) in contexts.enumerated() {
            var row = c * t + lead.count
            for excerpt in context {
                spans.append(ExcerptSpan(excerpt: excerpt.id, firstRow: row, length: excerpt.tokenIDs.count))
                row += excerpt.tokenIDs.count
            }
        }
        let index = Dictionary(uniqueKeysWithValues: layers.enumerated().map { ($1, $0) })
        guard readsLatents else {
            try model.forward(padded, layers: layers) { activations in
                body(index[activations.layer]!, activations.values, spans)
            }
            return
        }
        try model.forward(padded, hooks: Set(saes.map(\.config.hook))) { hooked in
            let i = index[hooked.hook.layer]!, sae = saes[i], rows = padded.count * t
            let x = Array(hooked.values)
            let latents = sae.encode(x, rows: rows)
            if let reconstruction {
                Self.addReconstruction(sae, x, latents, rows: rows, spans: spans, to: &reconstruction[i])
            }
            latents.withUnsafeBufferPointer { body(i, $0, spans) }
        }
    }

    /// Sums for L0 and variance explained over the rows of `spans` (never BOS or padding).
    private static func addReconstruction(
        _ sae: SparseAutoencoder, _ x: [Float], _ latents: [Float], rows: Int, spans: [ExcerptSpan],
        to totals: inout ReconstructionTotals
    ) {
        let d = sae.config.inputWidth, n = sae.config.latentCount
        let target = sae.input(x, rows: rows), rebuilt = sae.decode(latents, rows: rows)
        for span in spans {
            for r in span.firstRow..<(span.firstRow + span.length) {
                var nonZero = 0
                for j in 0..<n where latents[r * n + j] != 0 { nonZero += 1 }
                totals.nonZeroLatents += nonZero
                for j in 0..<d {
                    let value = Double(target[r * d + j]), error = value - Double(rebuilt[r * d + j])
                    totals.squaredError += error * error
                    totals.sumSquares += value * value
                    totals.sums[j] += value
                }
                totals.tokens += 1
            }
        }
    }
}
