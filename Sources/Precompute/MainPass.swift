import ActivationStore
import Foundation
import GPT2
import Sampling
import Support

/// Phase 3: this shard's contexts through the model, every recorded layer's activations into its samplers, with
/// checkpoints every `checkpointSeconds` (resumed from the last one after a crash).
struct MainPass {
    let run: Precomputation
    let database: ActivationDatabase
    let model: GPT2Model
    let layers: [Int]
    let layout: ContextLayout
    private(set) var samplers: [LayerSampler]
    /// This shard's contexts, in corpus order.
    let shardContexts: [Int]
    private(set) var tokensPerSecond = 0.0

    init(
        _ run: Precomputation, _ database: ActivationDatabase, _ model: GPT2Model, _ layers: [Int],
        _ layout: ContextLayout,
        _ pilot: [PilotEstimates]
    ) throws {
        self.run = run
        self.database = database
        self.model = model
        self.layers = layers
        self.layout = layout
        let settings = run.settings
        samplers = zip(layers, pilot).map { layer, estimates in
            LayerSampler(
                layer: layer, neuronCount: model.config.neuronCount, maxTokens: settings.excerpter.tokens,
                sizes: settings.samples, seed: settings.seed, histogramBins: settings.histogramBins, pilot: estimates)
        }
        shardContexts = (0..<layout.count).filter { $0 % settings.shardCount == settings.shardIndex }
    }

    var tokensInShard: Int { shardContexts.reduce(0) { $0 + layout.tokens(ofContext: $1) } }
    var excerptsInShard: Int { shardContexts.reduce(0) { $0 + layout.excerpts(ofContext: $1).count } }

    mutating func run(_ progress: (ProgressReport) -> Void) throws {
        let settings = run.settings
        var nextExcerpt = try run.restoreCheckpoint(database, &samplers, layers)
        guard var context = layout.context(startingAt: nextExcerpt) else {
            throw PrecomputeError.corruptResumeState(
                path: run.outputPath,
                reason: "the resume position (excerpt \(nextExcerpt)) is not the start of a context")
        }
        let total = tokensInShard
        let started = Date()
        var tokensDone = shardContexts.prefix { layout.firstExcerpt[$0] < nextExcerpt }.reduce(0) {
            $0 + layout.tokens(ofContext: $1)
        }
        let tokensAtStart = tokensDone
        var lastCheckpoint = Date()
        var lastReport = Date.distantPast
        while context < layout.count {
            // A chunk: whole contexts spanning at most 4,096 excerpts (at least one context).
            var end = context + 1
            while end < layout.count && layout.firstExcerpt[end + 1] - layout.firstExcerpt[context] <= 4_096 {
                end += 1
            }
            let mine = (context..<end).filter { $0 % settings.shardCount == settings.shardIndex }
            context = end
            guard let first = mine.first, let last = mine.last else { continue }
            let rows = try run.excerpts(database, layout, first...last), base = layout.firstExcerpt[first]
            let contexts = mine.map { k in
                Array(rows[(layout.firstExcerpt[k] - base)..<(layout.firstExcerpt[k + 1] - base)])
            }
            for range in paddedBatches(
                lengths: contexts.map { $0.reduce(0) { $0 + $1.tokenIDs.count } }, maxCount: run.batchSize)
            {
                let batch = Array(contexts[range])
                try run.forward(model, batch, layers) { index, activations, spans in
                    samplers[index].update(values: activations.values, spans: spans)
                }
                tokensDone += batch.joined().reduce(0) { $0 + $1.tokenIDs.count }
                nextExcerpt = batch.last!.last!.id + 1
                if Date().timeIntervalSince(lastCheckpoint) >= run.checkpointSeconds {
                    try run.checkpoint(database, samplers, layers, next: nextExcerpt)
                    lastCheckpoint = Date()
                }
                if Date().timeIntervalSince(lastReport) >= 1 {
                    progress(
                        ProgressReport(
                            phase: "main pass", done: tokensDone, total: total, unit: "tokens",
                            elapsed: Date().timeIntervalSince(started)))
                    lastReport = Date()
                }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        progress(ProgressReport(phase: "main pass", done: tokensDone, total: total, unit: "tokens", elapsed: seconds))
        tokensPerSecond = seconds > 0 ? Double(tokensDone - tokensAtStart) / seconds : 0
    }
}

extension Precomputation {
    /// Runs a batch of contexts (each its excerpts' tokens in order, padded to the longest; padding follows the
    /// real tokens, so causal attention keeps it from touching them) and hands each selected layer's activations
    /// with every excerpt's rows to `body`.
    func forward(
        _ model: GPT2Model, _ contexts: [[ExcerptRow]], _ layers: [Int],
        _ body: (Int, MLPActivations, [ExcerptSpan]) -> Void
    ) throws {
        let tokens = contexts.map { $0.flatMap(\.tokenIDs) }
        let t = tokens.map(\.count).max() ?? 0
        let padded = tokens.map { $0 + [Int](repeating: 0, count: t - $0.count) }
        var spans: [ExcerptSpan] = []
        for (c, context) in contexts.enumerated() {
            var row = c * t
            for excerpt in context {
                spans.append(ExcerptSpan(excerpt: excerpt.id, firstRow: row, length: excerpt.tokenIDs.count))
                row += excerpt.tokenIDs.count
            }
        }
        let index = Dictionary(uniqueKeysWithValues: layers.enumerated().map { ($1, $0) })
        try model.forward(padded, layers: layers) { activations in body(index[activations.layer]!, activations, spans) }
    }

    /// The excerpts of contexts `range`, read and checked against the layout.
    func excerpts(
        _ database: ActivationDatabase, _ layout: ContextLayout, _ range: ClosedRange<Int>
    ) throws -> [ExcerptRow] {
        let first = layout.firstExcerpt[range.lowerBound], end = layout.firstExcerpt[range.upperBound + 1]
        let rows = try database.excerpts(from: first, to: end)
        guard rows.count == end - first, zip(rows, first..<end).allSatisfy({ $0.id == $1 }) else {
            throw ActivationStoreError.corrupt(path: outputPath, reason: "excerpts \(first)..<\(end) are missing")
        }
        return rows
    }
}
