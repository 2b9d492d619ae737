import ActivationStore
import Foundation
import GPT2
import Sampling
import Support

/// Phase 3: this shard's contexts through the model, every recorded layer's unit values into its samplers (and,
/// for SAEs, their reconstruction totals), with checkpoints every `checkpointSeconds` (resumed from the last one
/// after a crash).
struct MainPass {
    let run: Precomputation
    let database: ActivationDatabase
    let reader: UnitReader
    let layers: [Int]
    let layout: ContextLayout
    private(set) var samplers: [LayerSampler]
    /// One per SAE (empty for neurons).
    private(set) var reconstruction: [ReconstructionTotals]
    /// This shard's contexts, in corpus order.
    let shardContexts: [Int]
    private(set) var tokensPerSecond = 0.0

    init(
        _ run: Precomputation, _ database: ActivationDatabase, _ reader: UnitReader, _ layout: ContextLayout,
        _ pilot: [PilotEstimates]
    ) throws {
        self.run = run
        self.database = database
        self.reader = reader
        self.layers = reader.layers
        self.layout = layout
        let settings = run.settings
        // Built on every core: each zero-fills its record buffers (1.2 GB for GPT-2 small at 64 tokens, page faults
        // included), which took over a second on one core.
        let (layers, units) = (reader.layers, reader.unitCounts)
        samplers = try Parallel.map(layers.count) { index in
            LayerSampler(
                layer: layers[index], neuronCount: units[index], maxTokens: settings.excerpter.tokens,
                sizes: settings.samples, seed: settings.seed, histogramBins: settings.histogramBins,
                pilot: pilot[index])
        }
        reconstruction = reader.saes.map {
            ReconstructionTotals(layer: $0.config.hook.layer, inputWidth: $0.config.inputWidth)
        }
        shardContexts = (0..<layout.count).filter { $0 % settings.shardCount == settings.shardIndex }
    }

    var tokensInShard: Int { shardContexts.reduce(0) { $0 + layout.tokens(ofContext: $1) } }
    var excerptsInShard: Int { shardContexts.reduce(0) { $0 + layout.excerpts(ofContext: $1).count } }

    mutating func run(_ progress: (ProgressReport) -> Void) throws {
        let settings = run.settings
        var nextExcerpt = try run.restoreCheckpoint(
            database, &samplers, layers, reconstruction: &reconstruction)
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
                try reconstruction.withUnsafeMutableBufferPointer { totals in
                    try reader.forward(batch, reconstruction: totals.baseAddress) { index, values, spans in
                        samplers[index].update(values: values, spans: spans)
                    }
                }
                tokensDone += batch.joined().reduce(0) { $0 + $1.tokenIDs.count }
                nextExcerpt = batch.last!.last!.id + 1
                if Date().timeIntervalSince(lastCheckpoint) >= run.checkpointSeconds {
                    try run.checkpoint(
                        database, samplers, layers, reconstruction: reconstruction, next: nextExcerpt)
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
