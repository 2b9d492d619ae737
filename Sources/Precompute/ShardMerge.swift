import ActivationStore
import Foundation
import Support

/// Combines the databases of `--shard 0/N … N-1/N` (of one unit source) into the database a single run would have
/// written.
///
/// Every selection is "the k best by (key, excerpt id)" and shards see disjoint excerpts, so the k best of the
/// union of the shards' selections is the single run's selection: the records are identical. Counts, minima,
/// maxima and histograms add up exactly; the float64 power sums add up to within rounding of the single run's.
public enum ShardMerge {
    public static func merge(
        inputs: [String], output: String, progress: (ProgressReport) -> Void = { _ in }
    ) throws -> PrecomputeSummary {
        guard !inputs.isEmpty else { throw PrecomputeError.cannotMerge("no input databases") }
        guard !FileManager.default.fileExists(atPath: output) else {
            throw PrecomputeError.cannotMerge("\(output) already exists; remove it or write elsewhere")
        }
        let lock = try WriterLock(for: output)
        defer { lock.release() }
        let shards = try inputs.map { try ActivationDatabase.openForReading(path: $0) }
        for shard in shards where try shard.neuronIDs().isEmpty {
            throw PrecomputeError.cannotMerge("\(shard.path) is marked complete but records no neurons")
        }
        let identities = try shards.map { shard -> ActivationDatabase.Identity in
            guard let identity = try shard.identity() else {
                throw PrecomputeError.cannotMerge("\(shard.path) has no settings")
            }
            return identity
        }
        let first = identities[0]
        for (path, identity) in zip(inputs, identities) {
            guard identity.settings.sameExceptShard(first.settings) else {
                throw PrecomputeError.cannotMerge("\(path) was made with other settings than \(inputs[0])")
            }
            guard identity.modelSHA256 == first.modelSHA256, identity.tokenizerSHA256 == first.tokenizerSHA256 else {
                throw PrecomputeError.cannotMerge("\(path) differs from \(inputs[0]) in its model or tokenizer files")
            }
            guard identity.source.identity == first.source.identity else {
                throw PrecomputeError.cannotMerge(
                    "\(path) records other units than \(inputs[0]) (\(identity.source) vs \(first.source))")
            }
        }
        // The corpus may sit at another path on each machine: its content is what must agree.
        let corpora = try shards.map { try $0.corpus() }
        for (path, corpus) in zip(inputs, corpora)
        where corpus?.sha256 != corpora[0]?.sha256 || corpus?.excerpts != corpora[0]?.excerpts {
            throw PrecomputeError.cannotMerge("\(path) differs from \(inputs[0]) in its corpus")
        }
        let count = first.settings.shardCount
        let indexes = identities.map(\.settings.shardIndex).sorted()
        guard identities.allSatisfy({ $0.settings.shardCount == count }), indexes == Array(0..<count) else {
            throw PrecomputeError.cannotMerge(
                "expected shards 0/\(count) … \(count - 1)/\(count) once each; got \(identities.map { "\($0.settings.shardIndex)/\($0.settings.shardCount)" }.joined(separator: ", "))"
            )
        }

        try checkRecordsComeFromOwnShard(shards, identities)

        // Written beside the output and renamed into place when complete: no half-merged file ever has its name. A
        // failed merge (a full disk, a bad input) removes it with its journal files; a killed one leaves them for
        // the next merge to clear.
        let temporary = output + ".partial"
        func removeTemporary() {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                try? FileManager.default.removeItem(atPath: temporary + suffix)
            }
        }
        removeTemporary()
        var summary = PrecomputeSummary()
        do {
            try writeMerged(
                shards, inputs: inputs, corpora: corpora, settings: first.settings, to: temporary, &summary, progress)
        } catch {
            removeTemporary()
            throw error
        }
        guard !FileManager.default.fileExists(atPath: output) else {
            removeTemporary()
            throw PrecomputeError.cannotMerge("\(output) appeared while merging; the merged database is not put there")
        }
        guard rename(temporary, output) == 0 else {
            let reason = String(cString: strerror(errno))
            removeTemporary()
            throw PrecomputeError.cannotMerge("cannot put the merged database in place at \(output) (\(reason))")
        }
        summary.databaseBytes = ActivationDatabase.fileSize(output)
        return summary
    }

    /// The merged database at `temporary`: corpus copied from the first shard, every neuron re-selected, the
    /// summary, "complete", one file.
    private static func writeMerged(
        _ shards: [ActivationDatabase], inputs: [String], corpora: [CorpusManifest?], settings: PrecomputeSettings,
        to temporary: String, _ summary: inout PrecomputeSummary, _ progress: (ProgressReport) -> Void
    ) throws {
        var merged = settings
        merged.shardIndex = 0
        merged.shardCount = 1
        let database = try ActivationDatabase.openForWriting(path: temporary)
        summary.stored = try shards[0].summary() ?? DatabaseSummary()
        // The SAEs' reconstruction sums add up over the shards' disjoint tokens.
        if var totals = summary.stored.reconstruction {
            for shard in shards.dropFirst() {
                for (i, other) in (try shard.summary()?.reconstruction ?? []).enumerated() where i < totals.count {
                    totals[i].merge(other)
                }
            }
            summary.stored.reconstruction = totals
        }
        summary.stoppedAtMaxTokens = corpora[0]?.stoppedAtMaxTokens ?? false
        // Vocabulary, documents and excerpts are the same in every shard: copied from the first.
        try database.copyCorpus(fromDatabaseAt: inputs[0])
        try database.transaction {
            try database.copyDescription(from: shards[0], settings: merged)
            let neurons = try shards[0].neuronIDs()
            for (index, shard) in shards.enumerated().dropFirst() where try shard.neuronIDs() != neurons {
                throw PrecomputeError.cannotMerge("\(inputs[index]) records other neurons than \(inputs[0])")
            }
            for (done, id) in neurons.enumerated() {
                try database.write(try mergeNeuron(try shards.map { try $0.neuron(id) }, settings: merged))
                if done % 1_000 == 999 || done == neurons.count - 1 {
                    progress(
                        ProgressReport(
                            phase: "merge", done: done + 1, total: neurons.count, unit: "neurons", elapsed: 0))
                }
            }
            summary.stored.shardExcerpts = summary.stored.excerpts
            summary.stored.tokensInExcerpts = try database.excerptTokenCount()
            summary.stored.addStoredCounts(try database.storedCounts())
            try database.setSummary(summary.stored)
            try database.markComplete()
        }
        // Nobody reads the temporary file: it becomes one file at once (checkpointed in full otherwise).
        _ = try database.compact(waitingForReaders: 0)
    }

    /// Every shard's records must come from its own contexts (context k belongs to shard k % N): a database whose
    /// settings name one shard but whose records are another's (two writers interleaved) would be merged into
    /// duplicated records.
    private static func checkRecordsComeFromOwnShard(
        _ shards: [ActivationDatabase], _ identities: [ActivationDatabase.Identity]
    ) throws {
        let settings = identities[0].settings
        let layout = ContextLayout(try shards[0].excerptPlacements(), excerpter: settings.excerpter)
        var shardOfExcerpt = [Int](repeating: -1, count: layout.excerptTokens.count)
        for context in 0..<layout.count {
            for excerpt in layout.excerpts(ofContext: context) {
                shardOfExcerpt[excerpt] = context % settings.shardCount
            }
        }
        for (shard, identity) in zip(shards, identities) {
            let index = identity.settings.shardIndex
            let foreign = try shard.recordedExcerptIDs().filter {
                !shardOfExcerpt.indices.contains($0) || shardOfExcerpt[$0] != index
            }
            if let example = foreign.first {
                throw PrecomputeError.cannotMerge(
                    "\(shard.path) says it is shard \(index)/\(settings.shardCount), but \(foreign.count) of the excerpts its records come from (e.g. excerpt \(example)) belong to another shard or to none; the database was written by two runs at once and must be recomputed"
                )
            }
        }
    }

    /// One neuron's records from every shard, re-selected exactly as a single run selects them.
    static func mergeNeuron(_ parts: [NeuronData], settings: PrecomputeSettings) throws -> NeuronData {
        var statistics = parts[0].statistics
        for part in parts.dropFirst() {
            guard part.statistics.quantileBoundaries == statistics.quantileBoundaries,
                part.statistics.quantilePopulation == statistics.quantilePopulation,
                part.statistics.histogramEdges == statistics.histogramEdges
            else {
                throw PrecomputeError.cannotMerge(
                    "neuron \(parts[0].id) has different pilot estimates in different shards")
            }
            statistics.merge(part.statistics)
        }
        let id = parts[0].id
        let all = parts.flatMap(\.records)
        func select(_ kind: RecordKind, bucket: Int, limit: Int, key: (StoredRecord) -> Double) -> [StoredRecord] {
            all.filter { $0.kind == kind && $0.bucket == bucket }
                .map { (key($0), $0) }
                .sorted { ($0.0, $0.1.excerptID) < ($1.0, $1.1.excerptID) }
                .prefix(limit)
                .enumerated().map { rank, pair in
                    var record = pair.1
                    record.rank = rank
                    return record
                }
        }
        func hash(_ stream: SampleHash.Stream) -> (StoredRecord) -> Double {
            {
                SampleHash.key(
                    seed: settings.seed, stream: stream, layer: id.layer, neuron: id.neuron, excerpt: $0.excerptID)
            }
        }
        var records = select(.top, bucket: 0, limit: settings.samples.top) { -Double($0.maxActivation) }
        records += select(.random, bucket: 0, limit: settings.samples.random, key: hash(.random))
        for bucket in 0..<QuantileBuckets.count {
            records += select(
                .quantile, bucket: bucket, limit: settings.samples.perQuantileBucket, key: hash(.quantile))
        }
        records += select(.bottom, bucket: 0, limit: settings.samples.bottom) { Double($0.minActivation) }
        return NeuronData(id: id, statistics: statistics, records: records)
    }
}
