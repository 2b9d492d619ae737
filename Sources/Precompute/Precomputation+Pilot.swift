import ActivationStore
import Foundation
import GPT2
import Sampling
import Support

/// Phase 2: a pilot pass over a seeded sample of contexts fixes each neuron's quantile boundaries and histogram
/// range before the main pass (both need the distribution before streaming it). Its estimates are stored, so a
/// resumed run never re-runs it.
extension Precomputation {
    struct Pilot {
        var estimates: [PilotEstimates]
        var excerptCount: Int
    }

    func pilotOnce(
        _ database: ActivationDatabase, _ model: GPT2Model, _ layers: [Int], _ layout: ContextLayout,
        _ progress: (ProgressReport) -> Void
    ) throws -> Pilot {
        let contexts = pilotContexts(layout)
        let estimates: [PilotEstimates]
        if let stored = try database.progress(ProgressKey.pilot) {
            estimates = try decodePilot(stored, layers: layers, neurons: model.config.neuronCount)
        } else {
            estimates = try runPilot(database, model, layers, layout, contexts, progress)
            try database.transaction { try database.setProgress(ProgressKey.pilot, encodePilot(estimates)) }
        }
        return Pilot(
            estimates: estimates, excerptCount: contexts.reduce(0) { $0 + layout.excerpts(ofContext: $1).count })
    }

    /// The pilot's contexts: the smallest seeded hashes of the contexts' first excerpts (every shard picks the
    /// same ones), in corpus order.
    private func pilotContexts(_ layout: ContextLayout) -> [Int] {
        (0..<layout.count)
            .map {
                (
                    SampleHash.key(
                        seed: settings.seed, stream: .pilot, layer: 0, neuron: 0, excerpt: layout.firstExcerpt[$0]), $0
                )
            }
            .sorted { $0 < $1 }.prefix(settings.pilotContextCount(contexts: layout.count)).map(\.1).sorted()
    }

    private func runPilot(
        _ database: ActivationDatabase, _ model: GPT2Model, _ layers: [Int], _ layout: ContextLayout,
        _ contextIDs: [Int], _ progress: (ProgressReport) -> Void
    ) throws -> [PilotEstimates] {
        let excerptCount = contextIDs.reduce(0) { $0 + layout.excerpts(ofContext: $1).count }
        let n = model.config.neuronCount
        var maxima = layers.map { _ in [Float](repeating: 0, count: excerptCount * n) }  // [layer][pilot excerpt][N]
        var low = layers.map { _ in [Float](repeating: .infinity, count: n) }
        var high = layers.map { _ in [Float](repeating: -.infinity, count: n) }
        let started = Date()
        var done = 0
        for range in paddedBatches(lengths: contextIDs.map { layout.tokens(ofContext: $0) }, maxCount: batchSize) {
            let batch = try contextIDs[range].map { try excerpts(database, layout, $0...$0) }
            let firstColumn = done
            try forward(model, batch, layers) { index, activations, spans in
                // Neuron ranges on every core: each worker owns columns [n0, n1) of maxima, low and high.
                maxima[index].withUnsafeMutableBufferPointer { maxima in
                    low[index].withUnsafeMutableBufferPointer { low in
                        high[index].withUnsafeMutableBufferPointer { high in
                            let parts = max(1, min(Parallel.workers * 4, n / 64))
                            Parallel.forEach(parts) { part in
                                let n0 = part * n / parts, n1 = (part + 1) * n / parts
                                for (column, span) in spans.enumerated() {
                                    let row = (firstColumn + column) * n
                                    for i in n0..<n1 { maxima[row + i] = -.infinity }
                                    for t in 0..<span.length {
                                        let values = activations.values.baseAddress! + (span.firstRow + t) * n
                                        for i in n0..<n1 {
                                            maxima[row + i] = max(maxima[row + i], values[i])
                                            low[i] = min(low[i], values[i])
                                            high[i] = max(high[i], values[i])
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            done += batch.reduce(0) { $0 + $1.count }
            progress(
                ProgressReport(
                    phase: "pilot", done: done, total: excerptCount, unit: "excerpts",
                    elapsed: Date().timeIntervalSince(started)))
        }
        let buckets = QuantileBuckets.count
        return layers.indices.map { index in
            var boundaries = [Float](repeating: 0, count: buckets * n)
            for i in 0..<n {
                let column = (0..<excerptCount).map { maxima[index][$0 * n + i] }.sorted()
                for (j, q) in QuantileBuckets.upperEdges.enumerated() {
                    boundaries[buckets * i + j] = Self.quantile(column, q)
                }
            }
            let lows = low[index], highs = zip(low[index], high[index]).map { $1 > $0 ? $1 : $0 + 1 }
            return PilotEstimates(boundaries: boundaries, histogramLow: lows, histogramHigh: highs)
        }
    }

    /// numpy's default ("linear") quantile of sorted values.
    static func quantile(_ sorted: [Float], _ q: Double) -> Float {
        let position = q * Double(sorted.count - 1)
        let below = Int(position.rounded(.down)), above = min(below + 1, sorted.count - 1)
        let fraction = Float(position - Double(below))
        return sorted[below] + (sorted[above] - sorted[below]) * fraction
    }
}
