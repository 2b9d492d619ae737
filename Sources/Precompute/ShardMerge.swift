import ActivationStore
import Foundation

/// Combines the databases of `--shard 0/N … N-1/N` into the database a single run would have written.
///
/// Every selection is "the k best by (key, excerpt id)" and shards see disjoint excerpts, so the k best of the
/// union of the shards' selections is the single run's selection: the records are identical. Counts, minima,
/// maxima and histograms add up exactly; the float64 power sums add up to within rounding of the single run's.
public enum ShardMerge {
    public static func merge(inputs: [String], output: String, progress: (PrecomputeProgress) -> Void = { _ in }) throws -> PrecomputeSummary {
        guard !inputs.isEmpty else { throw PrecomputeError.cannotMerge("no input databases") }
        guard !FileManager.default.fileExists(atPath: output) else {
            throw PrecomputeError.cannotMerge("\(output) already exists; remove it or choose another --out")
        }
        let shards = try inputs.map { try ActivationDatabase.openForReading(path: $0) }
        let decoder = JSONDecoder()
        let settings = try shards.map { shard -> PrecomputeSettings in
            guard let text = try shard.metadata("settings"), let value = try? decoder.decode(PrecomputeSettings.self, from: Data(text.utf8)) else {
                throw PrecomputeError.cannotMerge("\(shard.path) has no readable settings")
            }
            return value
        }
        let first = settings[0]
        for (path, s) in zip(inputs, settings) where !s.sameExceptShard(first) {
            throw PrecomputeError.cannotMerge("\(path) was made with other settings than \(inputs[0])")
        }
        for key in ["model_sha256", "tokenizer_sha256", "corpus"] {
            // The corpus may sit at another path on each machine: its content is what must agree.
            let values = try shards.map { shard -> String? in
                let value = try shard.metadata(key)
                guard key == "corpus", let value else { return value }
                return (try? decoder.decode(CorpusManifest.self, from: Data(value.utf8))).map { "\($0.sha256) \($0.excerpts)" }
            }
            for (path, value) in zip(inputs, values) where value != values[0] {
                throw PrecomputeError.cannotMerge("\(path) differs from \(inputs[0]) in \(key)")
            }
        }
        let count = first.shardCount
        let indexes = settings.map(\.shardIndex).sorted()
        guard settings.allSatisfy({ $0.shardCount == count }), indexes == Array(0..<count) else {
            throw PrecomputeError.cannotMerge("expected shards 0/\(count) … \(count - 1)/\(count) once each; got \(settings.map { "\($0.shardIndex)/\($0.shardCount)" }.joined(separator: ", "))")
        }

        // Written beside the output and renamed into place when complete: no half-merged file ever has its name.
        let temporary = output + ".partial"
        try? FileManager.default.removeItem(atPath: temporary)
        var merged = first
        merged.shardIndex = 0
        merged.shardCount = 1
        let database = try ActivationDatabase.openForWriting(path: temporary)
        var summary = try decoder.decode(PrecomputeSummary.self, from: Data((try shards[0].metadata("summary") ?? "{}").utf8))
        // Vocabulary, documents and excerpts are the same in every shard: copied from the first.
        try database.connection.run("ATTACH DATABASE ? AS shard", [.text(inputs[0])])
        try database.connection.transaction {
            for key in ["tool", "model", "model_sha256", "tokenizer_sha256", "corpus"] {
                if let value = try shards[0].metadata(key) { try database.setMetadata(key, json: value) }
            }
            try database.setMetadata("settings", json: try json(merged))
            try database.connection.execute("""
                INSERT INTO vocabulary SELECT * FROM shard.vocabulary;
                INSERT INTO documents SELECT * FROM shard.documents;
                INSERT INTO excerpts SELECT * FROM shard.excerpts;
                """)

            let neurons = try shards[0].neuronIDs()
            for (index, shard) in shards.enumerated().dropFirst() where try shard.neuronIDs() != neurons {
                throw PrecomputeError.cannotMerge("\(inputs[index]) records other neurons than \(inputs[0])")
            }
            for (done, id) in neurons.enumerated() {
                try database.write(try mergeNeuron(try shards.map { try $0.neuron(id) }, settings: merged))
                if done % 1_000 == 999 || done == neurons.count - 1 {
                    progress(PrecomputeProgress(phase: "merge", done: done + 1, total: neurons.count, unit: "neurons", elapsed: 0))
                }
            }
            summary.shardExcerpts = summary.excerpts
            summary.tokensInExcerpts = try database.connection.query("SELECT coalesce(sum(token_count), 0) FROM excerpts") { $0.int(0) }.first ?? 0
            summary.resumed = false
            try summary.countStoredRecords(in: database)
            try database.setMetadata("summary", json: try json(summary))
            try database.markComplete()
        }
        try database.connection.execute("DETACH DATABASE shard")
        try database.compact()
        try FileManager.default.moveItem(atPath: temporary, toPath: output)
        summary.databaseBytes = Precomputation.fileSize(output)
        return summary
    }

    /// One neuron's records from every shard, re-selected exactly as a single run selects them.
    static func mergeNeuron(_ parts: [NeuronData], settings: PrecomputeSettings) throws -> NeuronData {
        var statistics = parts[0].statistics
        for part in parts.dropFirst() {
            guard part.statistics.quantileBoundaries == statistics.quantileBoundaries,
                  part.statistics.histogramEdges == statistics.histogramEdges else {
                throw PrecomputeError.cannotMerge("neuron \(parts[0].id) has different pilot estimates in different shards")
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
            { SampleHash.key(seed: settings.seed, stream: stream, layer: id.layer, neuron: id.neuron, excerpt: $0.excerptID) }
        }
        var records = select(.top, bucket: 0, limit: settings.samples.top) { -Double($0.maxActivation) }
        records += select(.random, bucket: 0, limit: settings.samples.random, key: hash(.random))
        for bucket in 0..<4 {
            records += select(.quantile, bucket: bucket, limit: settings.samples.perQuantileBucket, key: hash(.quantile))
        }
        records += select(.bottom, bucket: 0, limit: settings.samples.bottom) { Double($0.minActivation) }
        return NeuronData(id: id, statistics: statistics, records: records)
    }
}
