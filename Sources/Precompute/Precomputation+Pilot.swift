import ActivationStore
import Foundation
import GPT2
import Sampling
import Support

/// Phase 2: a pilot pass over a seeded sample of contexts fixes each unit's quantile boundaries and histogram
/// range before the main pass (both need the distribution before streaming it). Its estimates are stored, so a
/// resumed run never re-runs it.
///
/// Neurons: the buckets cover all excerpts (OpenAI's rule). SAE latents (never negative, mostly zero): a latent
/// active (excerpt maximum > 0) in fewer than half of the pilot's excerpts gets buckets over its activating
/// excerpts only; a latent active in fewer than `rareActiveExcerpts` of them is rare, and the pilot grows for it
/// (doubling, in the same seeded order of contexts, to at most a quarter of the corpus and 16 times the base pilot)
/// until it is seen often enough; a latent still rare then keeps the boundaries of what it showed (all 0 if it never
/// fired there, which leaves its quantile buckets empty: its few activating excerpts are its top records). Boundary
/// errors are measured over the whole run either way (`DatabaseSummary`).
extension Precomputation {
    struct Pilot {
        var estimates: [PilotEstimates]
        var excerptCount: Int
    }

    /// A latent seen active in fewer pilot excerpts than this makes the pilot grow.
    static let rareActiveExcerpts = 20
    /// The grown pilot runs at most this many times the base pilot's contexts (and at most a quarter of them all).
    static let pilotGrowth = 16

    func pilotOnce(
        _ database: ActivationDatabase, _ reader: UnitReader, _ layout: ContextLayout,
        _ progress: (ProgressReport) -> Void
    ) throws -> Pilot {
        if let stored = try database.progress(ProgressKey.pilot) {
            return try decodePilot(stored, units: reader.unitCounts)
        }
        let order = pilotOrder(layout)
        let base = Array(order.prefix(settings.pilotContextCount(contexts: layout.count)))
        let pilot =
            reader.readsLatents
            ? try runLatentPilot(database, reader, layout, order, baseCount: base.count, progress)
            : Pilot(
                estimates: try runPilot(database, reader, layout, base.sorted(), progress),
                excerptCount: base.reduce(0) { $0 + layout.excerpts(ofContext: $1).count })
        try database.transaction { try database.setProgress(ProgressKey.pilot, encodePilot(pilot)) }
        return pilot
    }

    /// Every context in the pilot's order: by the seeded hash of its first excerpt (every shard picks the same).
    private func pilotOrder(_ layout: ContextLayout) -> [Int] {
        (0..<layout.count)
            .map {
                (
                    SampleHash.key(
                        seed: settings.seed, stream: .pilot, layer: 0, neuron: 0, excerpt: layout.firstExcerpt[$0]), $0
                )
            }
            .sorted { $0 < $1 }.map(\.1)
    }

    /// Runs `contextIDs` (in corpus order) in padded batches, reporting progress as `phase`.
    private func forEachPilotBatch(
        _ database: ActivationDatabase, _ layout: ContextLayout, _ contextIDs: [Int], phase: String,
        _ progress: (ProgressReport) -> Void, _ body: ([[ExcerptRow]]) throws -> Void
    ) throws {
        let excerptCount = contextIDs.reduce(0) { $0 + layout.excerpts(ofContext: $1).count }
        let started = Date()
        var done = 0
        for range in paddedBatches(lengths: contextIDs.map { layout.tokens(ofContext: $0) }, maxCount: batchSize) {
            let batch = try contextIDs[range].map { try excerpts(database, layout, $0...$0) }
            try body(batch)
            done += batch.reduce(0) { $0 + $1.count }
            progress(
                ProgressReport(
                    phase: phase, done: done, total: excerptCount, unit: "excerpts",
                    elapsed: Date().timeIntervalSince(started)))
        }
    }

    /// Neurons: every pilot excerpt's maximum per neuron, kept densely (neurons are rarely exactly 0).
    private func runPilot(
        _ database: ActivationDatabase, _ reader: UnitReader, _ layout: ContextLayout, _ contextIDs: [Int],
        _ progress: (ProgressReport) -> Void
    ) throws -> [PilotEstimates] {
        let excerptCount = contextIDs.reduce(0) { $0 + layout.excerpts(ofContext: $1).count }
        let units = reader.unitCounts
        var maxima = units.map { [Float](repeating: 0, count: excerptCount * $0) }  // [layer][pilot excerpt][N]
        var low = units.map { [Float](repeating: .infinity, count: $0) }
        var high = units.map { [Float](repeating: -.infinity, count: $0) }
        var done = 0
        try forEachPilotBatch(database, layout, contextIDs, phase: "pilot", progress) { batch in
            let firstColumn = done
            try reader.forward(batch) { index, values, spans in
                let n = units[index]
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
                                        let values = values.baseAddress! + (span.firstRow + t) * n
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
        }
        let buckets = QuantileBuckets.count
        return units.indices.map { index in
            let n = units[index]
            var boundaries = [Float](repeating: 0, count: buckets * n)
            for i in 0..<n {
                let column = (0..<excerptCount).map { maxima[index][$0 * n + i] }.sorted()
                for (j, q) in QuantileBuckets.upperEdges.enumerated() {
                    boundaries[buckets * i + j] = Self.quantile(column, q)
                }
            }
            return PilotEstimates(
                boundaries: boundaries, histogramLow: low[index],
                histogramHigh: Self.histogramHigh(low[index], high[index]))
        }
    }

    /// SAE latents: per latent only its positive excerpt maxima (the rest are exactly 0), from the base pilot, and
    /// for rare latents from growing rounds too.
    private func runLatentPilot(
        _ database: ActivationDatabase, _ reader: UnitReader, _ layout: ContextLayout, _ order: [Int], baseCount: Int,
        _ progress: (ProgressReport) -> Void
    ) throws -> Pilot {
        let units = reader.unitCounts
        var positives = units.map { [[Float]](repeating: [], count: $0) }  // [layer][latent] positive maxima
        var seen = units.map { [Int](repeating: 0, count: $0) }  // [layer][latent] pilot excerpts it took part in
        var collecting = units.map { [Bool](repeating: true, count: $0) }
        var low = units.map { [Float](repeating: .infinity, count: $0) }
        var high = units.map { [Float](repeating: -.infinity, count: $0) }
        var ran = 0, end = max(1, baseCount), excerptsRun = 0
        let limit = max(baseCount, min((layout.count + 3) / 4, Self.pilotGrowth * baseCount))
        var round = 0
        while ran < end {
            let contexts = order[ran..<end].sorted()
            try forEachPilotBatch(
                database, layout, contexts, phase: round == 0 ? "pilot" : "pilot, round \(round + 1) for rare latents",
                progress
            ) { batch in
                try reader.forward(batch) { index, values, spans in
                    let n = units[index]
                    positives[index].withUnsafeMutableBufferPointer { positives in
                        seen[index].withUnsafeMutableBufferPointer { seen in
                            collecting[index].withUnsafeBufferPointer { collecting in
                                low[index].withUnsafeMutableBufferPointer { low in
                                    high[index].withUnsafeMutableBufferPointer { high in
                                        let parts = max(1, min(Parallel.workers * 4, n / 64))
                                        Parallel.forEach(parts) { part in
                                            let n0 = part * n / parts, n1 = (part + 1) * n / parts
                                            var maxima = [Float](repeating: 0, count: n1 - n0)
                                            for span in spans {
                                                for i in 0..<(n1 - n0) { maxima[i] = -.infinity }
                                                for t in 0..<span.length {
                                                    let row = values.baseAddress! + (span.firstRow + t) * n
                                                    for i in n0..<n1 where collecting[i] {
                                                        maxima[i - n0] = max(maxima[i - n0], row[i])
                                                        low[i] = min(low[i], row[i])
                                                        high[i] = max(high[i], row[i])
                                                    }
                                                }
                                                for i in n0..<n1 where collecting[i] {
                                                    seen[i] += 1
                                                    if maxima[i - n0] > 0 { positives[i].append(maxima[i - n0]) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            excerptsRun += contexts.reduce(0) { $0 + layout.excerpts(ofContext: $1).count }
            ran = end
            // A latent stops collecting once it has been seen active often enough.
            var anyRare = false
            for index in units.indices {
                for i in 0..<units[index] where collecting[index][i] {
                    if positives[index][i].count >= Self.rareActiveExcerpts {
                        collecting[index][i] = false
                    } else {
                        anyRare = true
                    }
                }
            }
            if anyRare && end < limit { end = min(limit, 2 * end) }
            round += 1
        }
        let buckets = QuantileBuckets.count
        let estimates = units.indices.map { index in
            let n = units[index]
            var boundaries = [Float](repeating: 0, count: buckets * n)
            var activating = [Bool](repeating: false, count: n)
            for i in 0..<n {
                let active = positives[index][i].sorted(), excerpts = seen[index][i]
                // Mostly zero: the quantiles of all excerpts would collapse to 0, so take those of the active ones.
                activating[i] = 2 * active.count < excerpts
                let column =
                    activating[i] ? active : [Float](repeating: 0, count: excerpts - active.count) + active
                guard !column.isEmpty else { continue }
                for (j, q) in QuantileBuckets.upperEdges.enumerated() {
                    boundaries[buckets * i + j] = Self.quantile(column, q)
                }
            }
            return PilotEstimates(
                boundaries: boundaries, histogramLow: low[index].map { $0.isFinite ? $0 : 0 },
                histogramHigh: Self.histogramHigh(low[index], high[index]), activatingOnly: activating)
        }
        return Pilot(estimates: estimates, excerptCount: excerptsRun)
    }

    /// The histogram's last edge: the pilot's maximum, or low + 1 when the unit was constant (or never seen).
    private static func histogramHigh(_ low: [Float], _ high: [Float]) -> [Float] {
        zip(low, high).map { low, high in
            let low = low.isFinite ? low : 0
            return high > low ? high : low + 1
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
