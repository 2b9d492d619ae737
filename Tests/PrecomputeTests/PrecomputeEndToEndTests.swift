import ActivationStore
import CZlib
import Foundation
import GPT2
import SQLite
import TestSupport
import XCTest

@testable import Precompute

/// Precomputes the project's test corpus through a fixture checkpoint and checks the database against
/// activations recomputed directly by the forward pass.
final class PrecomputeEndToEndTests: XCTestCase {
    static func settings() -> PrecomputeSettings {
        var settings = PrecomputeSettings()
        settings.samples = SampleSizes(top: 10, random: 8, perQuantileBucket: 3, bottom: 6)
        settings.pilotExcerpts = 40
        settings.histogramBins = 8
        settings.seed = 42
        return settings
    }

    func precompute(
        _ settings: PrecomputeSettings = settings(), batch: Int = 16, corpus: String = Paths.testCorpus,
        into directory: URL, name: String = "run.db"
    ) throws -> (String, PrecomputeSummary) {
        let path = directory.appendingPathComponent(name).path
        let run = Precomputation(
            modelDirectory: Paths.model, tokenizerDirectory: Paths.tokenizer, corpusPath: corpus,
            outputPath: path, settings: settings)
        run.batchSize = batch
        return (path, try run.run())
    }

    func testEveryStoredRecordMatchesTheForwardPass() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let (path, summary) = try precompute(into: directory)
        try assertRecordsMatchTheForwardPass(
            path, summary, Self.settings(), minimumExcerpts: 150, minimumValues: 64 * 30 * 64)
        // The phases the summary reports account for the run: each one took time, together no more than the whole.
        let p = summary.phases
        XCTAssertTrue([p.startUp, p.pilot, p.mainPass, p.write].allSatisfy { $0 > 0 }, "\(p)")
        XCTAssertLessThanOrEqual(p.startUp + p.pilot + p.mainPass + p.write, summary.seconds)
        // Its memory estimate is the budget of this run: both layers of the test model, batches of 16 (the helper's).
        let config = try GPT2Checkpoint(directory: Paths.model).config
        XCTAssertEqual(
            summary.memoryBudget,
            MemoryBudget.forNeurons(
                layers: [0, 1], config: config, settings: Self.settings(), batch: 16,
                positions: Self.settings().excerpter.context))
    }

    /// bf16 precision: every record is the bf16 forward pass's (its own reference, run one sequence at a time),
    /// within bf16 error of the fp32 database, and the precision is part of the database's identity.
    func testBFloat16RecordsMatchTheBFloat16ForwardPass() throws {
        try XCTSkipUnless(MatrixPrecision.bfloat16.isSupported, "this CPU has no AVX-512")
        let directory = try TestSupport.temporaryDirectory(self)
        var settings = Self.settings()
        settings.precision = .bfloat16
        let (path, summary) = try precompute(settings, batch: 5, into: directory, name: "bf16.db")
        try assertRecordsMatchTheForwardPass(path, summary, settings, minimumExcerpts: 150, minimumValues: 64 * 30 * 64)

        let (fp32Path, _) = try precompute(into: directory, name: "fp32.db")
        let bf16 = try ActivationDatabase.openForReading(path: path),
            fp32 = try ActivationDatabase.openForReading(path: fp32Path)
        XCTAssertTrue(try metadataText(bf16.path, "settings").contains("\"precision\":\"bf16\""))
        XCTAssertFalse(
            try metadataText(fp32.path, "settings").contains("precision"), "fp32 databases keep their old identity")
        var differing = 0, total = 0
        var worst: Float = 0, scale: Float = 0
        for id in try fp32.neuronIDs() {
            let a = try fp32.neuron(id), b = try bf16.neuron(id)
            // Same random records (chosen by hash, not by value): compare their activations token by token.
            for (x, y) in zip(a.records(.random), b.records(.random)) {
                XCTAssertEqual(x.excerptID, y.excerptID)
                for (u, v) in zip(x.activations, y.activations) {
                    worst = max(worst, abs(u - v)); scale = max(scale, abs(u)); total += 1
                    if u != v { differing += 1 }
                }
            }
        }
        XCTAssertGreaterThan(differing, total / 10, "bf16 must actually change the arithmetic")
        XCTAssertLessThan(worst, 0.05 * scale, "bf16 error \(worst) against an activation scale of \(scale)")
        XCTAssertThrowsMessage(try precompute(into: directory, name: "bf16.db"), contains: ["other settings", "bf16"])
        // Shards of different precisions do not merge.
        var shard = settings
        (shard.shardIndex, shard.shardCount) = (1, 2)
        let (bf16Shard, _) = try precompute(shard, into: directory, name: "bf16-shard1.db")
        shard.precision = .float32
        shard.shardIndex = 0
        let (fp32Shard, _) = try precompute(shard, into: directory, name: "fp32-shard0.db")
        XCTAssertThrowsMessage(
            try ShardMerge.merge(
                inputs: [fp32Shard, bf16Shard], output: directory.appendingPathComponent("mixed.db").path),
            contains: [bf16Shard, "other settings"])
    }

    /// `--blas mkl`: every record is the MKL forward pass's, the same at batch 5 and 16, and the library is part of
    /// the database's identity (an OpenBLAS run does not resume it; OpenBLAS databases keep their old identity).
    func testMKLRecordsMatchTheMKLForwardPassAtAnyBatch() throws {
        do { try BLASLibrary.mkl.check() } catch {
            if ProcessInfo.processInfo.environment["NEURONBENCH_MKL"] != nil { throw error }
            throw XCTSkip("oneMKL is not installed here: \(error)")
        }
        let directory = try TestSupport.temporaryDirectory(self)
        var settings = Self.settings()
        settings.blas = .mkl
        let (path, summary) = try precompute(settings, batch: 5, into: directory, name: "mkl.db")
        try assertRecordsMatchTheForwardPass(path, summary, settings, minimumExcerpts: 150, minimumValues: 64 * 30 * 64)
        let (other, _) = try precompute(settings, batch: 16, into: directory, name: "mkl-16.db")
        try assertSameNeurons(path, other, exactStatistics: true)
        XCTAssertTrue(try metadataText(path, "settings").contains("\"blas\":\"mkl\""))
        let (openBLAS, _) = try precompute(into: directory, name: "openblas.db")
        XCTAssertFalse(try metadataText(openBLAS, "settings").contains("blas"), "OpenBLAS keeps the old identity")
        XCTAssertThrowsMessage(try precompute(into: directory, name: "mkl.db"), contains: ["other settings", "mkl"])
    }

    /// Long contexts, short records: 16-token excerpts read in 64-token contexts.
    func testLongContextsRecordShortExcerptsWithTheirContext() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        var settings = Self.settings()
        settings.excerpter = Excerpter(tokens: 16, minimumTokens: 4, contextTokens: 64)
        settings.maxTokens = 6_000
        settings.pilotExcerpts = 64
        let (path, summary) = try precompute(settings, batch: 5, into: directory)
        try assertRecordsMatchTheForwardPass(path, summary, settings, minimumExcerpts: 300, minimumValues: 64 * 30 * 16)
        let database = try ActivationDatabase.openForReading(path: path)
        let excerpts = try database.excerpts()

        // The pilot ran whole contexts (the smallest seeded hashes of their first excerpts): 64 excerpts' worth
        // (16 contexts of 4), at most 1/16 of the contexts.
        let contextFirsts = excerpts.indices.filter {
            $0 == 0 || excerpts[$0].documentID != excerpts[$0 - 1].documentID || excerpts[$0].startToken % 64 == 0
        }
        let pilotCount = min(16, (contextFirsts.count + 15) / 16)
        let chosen = contextFirsts.sorted {
            (SampleHash.key(seed: settings.seed, stream: .pilot, layer: 0, neuron: 0, excerpt: $0), $0)
                < (SampleHash.key(seed: settings.seed, stream: .pilot, layer: 0, neuron: 0, excerpt: $1), $1)
        }.prefix(pilotCount)
        let pilotExcerpts = chosen.map { first in
            excerpts[first...].prefix {
                $0.documentID == excerpts[first].documentID && $0.startToken / 64 == excerpts[first].startToken / 64
            }.count
        }.reduce(0, +)
        XCTAssertEqual(summary.stored.pilotExcerpts, pilotExcerpts)
        XCTAssertGreaterThan(pilotExcerpts, pilotCount, "several excerpts per pilot context")

        // The context changes the values: the same excerpts run alone give other activations.
        let alone = try directActivations(database)
        let inContext = try directActivations(database, contextTokens: 64)
        let later = excerpts.indices.filter { excerpts[$0].startToken % 64 != 0 }
        let first = excerpts.indices.filter { excerpts[$0].startToken % 64 == 0 }
        XCTAssertFalse(later.isEmpty)
        XCTAssertTrue(
            first.allSatisfy { alone[$0] == inContext[$0] }, "an excerpt at a context start sees no earlier token")
        XCTAssertTrue(later.allSatisfy { alone[$0] != inContext[$0] }, "later excerpts see their context")

        // Batch size and shards do not change the records (shards split by context).
        let (other, _) = try precompute(settings, batch: 2, into: directory, name: "batch2.db")
        try assertSameNeurons(path, other, exactStatistics: true)
        var shards: [String] = []
        for index in 0..<2 {
            var shard = settings
            (shard.shardIndex, shard.shardCount) = (index, 2)
            shards.append(try precompute(shard, batch: 3, into: directory, name: "shard\(index).db").0)
        }
        let merged = directory.appendingPathComponent("merged.db").path
        _ = try ShardMerge.merge(inputs: shards, output: merged)
        XCTAssertEqual(try recordsDump(path), try recordsDump(merged))
        try assertSameNeurons(path, merged, exactStatistics: false)

        // A context longer than the model's positions is refused before any work.
        var tooLong = settings
        tooLong.excerpter = Excerpter(tokens: 16, contextTokens: 128)
        XCTAssertThrowsMessage(
            try precompute(tooLong, into: directory, name: "long.db"), contains: ["128 tokens", "64 positions"])
        tooLong.excerpter = Excerpter(tokens: 16, contextTokens: 40)
        XCTAssertThrowsMessage(
            try precompute(tooLong, into: directory, name: "odd.db"), contains: ["multiple of the excerpt tokens (16)"])
    }

    func assertRecordsMatchTheForwardPass(
        _ path: String, _ summary: PrecomputeSummary, _ settings: PrecomputeSettings,
        minimumExcerpts: Int, minimumValues: Int
    ) throws {
        let database = try ActivationDatabase.openForReading(path: path)
        let direct = try directActivations(
            database, contextTokens: settings.excerpter.context, precision: settings.precision, blas: settings.blas)
        let excerptCount = direct.count
        XCTAssertEqual(summary.stored.excerpts, excerptCount)
        XCTAssertEqual(summary.stored.neurons, 64)
        XCTAssertGreaterThan(excerptCount, minimumExcerpts)
        var checkedValues = 0
        for id in try database.neuronIDs() {
            let stored = try database.neuron(id)
            let values = direct.map { $0[id.layer].map { $0[id.neuron] } }  // [excerpt][token]
            let maxima = values.map { $0.max()! }, minima = values.map { $0.min()! }

            // Activations: the forward pass's values rounded to float16, for every token of every record.
            for record in stored.records {
                XCTAssertEqual(
                    record.activations, values[record.excerptID].map { Float(Float16($0)) },
                    "\(id) excerpt \(record.excerptID)")
                XCTAssertEqual(record.maxActivation, maxima[record.excerptID])
                XCTAssertEqual(record.minActivation, minima[record.excerptID])
                checkedValues += record.activations.count
            }
            // Top: highest maxima, ties to the lower excerpt id; bottom: lowest minima.
            let top = (0..<excerptCount).sorted { (-maxima[$0], $0) < (-maxima[$1], $1) }.prefix(settings.samples.top)
            XCTAssertEqual(stored.records(.top).map(\.excerptID), Array(top), "top of \(id)")
            let bottom = (0..<excerptCount).sorted { (minima[$0], $0) < (minima[$1], $1) }.prefix(
                settings.samples.bottom)
            XCTAssertEqual(stored.records(.bottom).map(\.excerptID), Array(bottom), "bottom of \(id)")
            // Random: the smallest seeded hashes.
            func hash(_ stream: SampleHash.Stream, _ e: Int) -> Double {
                SampleHash.key(seed: settings.seed, stream: stream, layer: id.layer, neuron: id.neuron, excerpt: e)
            }
            let random = (0..<excerptCount).sorted { (hash(.random, $0), $0) < (hash(.random, $1), $1) }.prefix(
                settings.samples.random)
            XCTAssertEqual(stored.records(.random).map(\.excerptID), Array(random), "random of \(id)")
            // Quantile buckets: membership by the stored boundaries, then the smallest hashes.
            let boundaries = stored.statistics.quantileBoundaries
            XCTAssertEqual(boundaries.count, 4)
            XCTAssertEqual(boundaries, boundaries.sorted())
            for bucket in 0..<4 {
                let members = (0..<excerptCount).filter { e in
                    maxima[e] < boundaries[bucket] && (bucket == 0 || maxima[e] >= boundaries[bucket - 1])
                }
                let expected = members.sorted { (hash(.quantile, $0), $0) < (hash(.quantile, $1), $1) }.prefix(
                    settings.samples.perQuantileBucket)
                XCTAssertEqual(
                    stored.records(.quantile, bucket: bucket).map(\.excerptID), Array(expected),
                    "bucket \(bucket) of \(id)")
            }
            XCTAssertEqual(
                stored.statistics.excerptsBelowBoundaries, boundaries.map { b in maxima.filter { $0 < b }.count })

            // Statistics over every token.
            let all = values.flatMap { $0 }.map(Double.init)
            let s = stored.statistics
            let mean = all.reduce(0, +) / Double(all.count)
            let variance = all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(all.count)
            let skewness = all.map { pow($0 - mean, 3) }.reduce(0, +) / Double(all.count) / pow(variance, 1.5)
            let kurtosis = all.map { pow($0 - mean, 4) }.reduce(0, +) / Double(all.count) / (variance * variance) - 3
            XCTAssertEqual(s.tokenCount, all.count)
            XCTAssertEqual(s.excerptCount, excerptCount)
            XCTAssertEqual(s.mean, mean, accuracy: 1e-5 * max(1, abs(mean)))
            XCTAssertEqual(s.variance, variance, accuracy: 1e-5 * max(1, variance))
            XCTAssertEqual(s.skewness, skewness, accuracy: 1e-4 * max(1, abs(skewness)))
            XCTAssertEqual(s.kurtosis, kurtosis, accuracy: 1e-4 * max(1, abs(kurtosis)))
            XCTAssertEqual(Double(s.min), all.min()!)
            XCTAssertEqual(Double(s.max), all.max()!)
            XCTAssertEqual(s.positiveCount, all.filter { $0 > 0 }.count)
            let edges = s.histogramEdges
            XCTAssertEqual(edges.count, settings.histogramBins + 1)
            XCTAssertEqual(s.histogram.reduce(0, +), all.count)
            var expectedHistogram = [Int](repeating: 0, count: settings.histogramBins + 2)
            for x in values.flatMap({ $0 }) {
                expectedHistogram[
                    x < edges[0] ? 0 : x >= edges.last! ? edges.count : edges.lastIndex { $0 <= x }! + 1] += 1
            }
            XCTAssertLessThanOrEqual(
                zip(s.histogram, expectedHistogram).map { abs($0 - $1) }.reduce(0, +), 2 + all.count / 1_000,
                "histogram of \(id): \(s.histogram) vs \(expectedHistogram) (edges differ only by rounding)")
        }
        XCTAssertGreaterThan(checkedValues, minimumValues)
    }

    func testResultsDoNotDependOnBatchSize() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let (a, _) = try precompute(batch: 1, into: directory, name: "a.db")
        let (b, _) = try precompute(batch: 7, into: directory, name: "b.db")
        try assertSameNeurons(a, b, exactStatistics: true)
    }

    func testSameInputsGiveIdenticalDatabases() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let (a, _) = try precompute(into: directory, name: "a.db")
        let (b, _) = try precompute(into: directory, name: "b.db")
        for table in ["metadata", "vocabulary", "documents", "excerpts", "neurons"] {
            XCTAssertEqual(try dump(a, table), try dump(b, table), table)
        }
        var other = Self.settings()
        other.seed = 43
        let (c, _) = try precompute(other, into: directory, name: "c.db")
        XCTAssertNotEqual(try recordsDump(a), try recordsDump(c), "another seed draws other random records")
    }

    func testShardsMergeIntoTheSingleRunRecords() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let (single, _) = try precompute(into: directory, name: "single.db")
        var shards: [String] = []
        for index in 0..<3 {
            var settings = Self.settings()
            (settings.shardIndex, settings.shardCount) = (index, 3)
            shards.append(try precompute(settings, batch: 3 + index, into: directory, name: "shard\(index).db").0)
        }
        let merged = directory.appendingPathComponent("merged.db").path
        let summary = try ShardMerge.merge(inputs: shards.reversed(), output: merged)
        XCTAssertEqual(summary.stored.neurons, 64)
        XCTAssertEqual(try recordsDump(single), try recordsDump(merged))
        XCTAssertEqual(try dump(single, "excerpts"), try dump(merged, "excerpts"))
        try assertSameNeurons(single, merged, exactStatistics: false)
        XCTAssertEqual(try metadataText(merged, "settings"), try metadataText(single, "settings"))

        XCTAssertThrowsMessage(
            try ShardMerge.merge(
                inputs: Array(shards.prefix(2)), output: directory.appendingPathComponent("m2.db").path),
            contains: ["expected shards 0/3", "1/3"])
        XCTAssertThrowsMessage(try ShardMerge.merge(inputs: shards, output: merged), contains: ["already exists"])
        XCTAssertThrowsMessage(
            try ShardMerge.merge(inputs: shards + [single], output: directory.appendingPathComponent("m3.db").path),
            contains: ["once each", "0/1"])
    }

    func testRerunsAreRefusedWithOtherSettingsAndSkippedWhenComplete() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let (path, _) = try precompute(into: directory)
        let tables = ["metadata", "vocabulary", "documents", "excerpts", "neurons", "progress"]
        let before = try tables.map { try dump(path, $0) }
        let (_, again) = try precompute(into: directory)
        XCTAssertTrue(again.alreadyComplete)
        XCTAssertEqual(again.stored.neurons, 64)
        XCTAssertEqual(try tables.map { try dump(path, $0) }, before, "a complete database is not rewritten")
        // A complete database with another corpus is refused, not re-tokenized under its records.
        let otherCorpus = directory.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: otherCorpus, withIntermediateDirectories: true)
        try String(repeating: "Another corpus entirely, long enough for excerpts. ", count: 200)
            .write(to: otherCorpus.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsMessage(
            try precompute(corpus: otherCorpus.path, into: directory), contains: [path, "the corpus has changed"])
        XCTAssertEqual(try tables.map { try dump(path, $0) }, before)
        var other = Self.settings()
        other.samples.top = 11
        XCTAssertThrowsMessage(
            try precompute(other, into: directory), contains: [path, "other settings", "settings: stored"])
    }

    func testLayerSubsetMaxTokensAndShortExcerpts() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        var settings = Self.settings()
        settings.layers = [1]
        settings.maxTokens = 1_000
        settings.excerpter = Excerpter(tokens: 40, minimumTokens: 5)
        let (path, summary) = try precompute(settings, into: directory)
        let database = try ActivationDatabase.openForReading(path: path)
        XCTAssertEqual(try database.neuronIDs().map(\.layer), Array(repeating: 1, count: 32))
        let excerpts = try database.excerpts()
        XCTAssertLessThanOrEqual(excerpts.reduce(0) { $0 + $1.tokenIDs.count }, 1_000)
        XCTAssertTrue(excerpts.allSatisfy { (5...40).contains($0.tokenIDs.count) })
        XCTAssertTrue(excerpts.contains { $0.tokenIDs.count < 40 }, "a document's short remainder is kept")
        XCTAssertEqual(summary.stored.excerpts, excerpts.count)
        // Short excerpts are stored with their own length and match the model.
        let model = try GPT2Model(directory: Paths.model)
        let short = try XCTUnwrap(excerpts.first { $0.tokenIDs.count < 40 })
        let direct = try model.mlpActivations(short.tokenIDs, layers: [1])[1]!
        for id in try database.neuronIDs() {
            for record in try database.neuron(id).records where record.excerptID == short.id {
                XCTAssertEqual(
                    record.activations, (0..<short.tokenIDs.count).map { Float(Float16(direct[$0 * 32 + id.neuron])) })
            }
        }
    }

    /// --max-tokens reads the corpus only as far as it needs: a gzip corpus cut short after its first 40% records
    /// a prefix without error (the damaged tail is never read), reruns check only that prefix, and a change inside
    /// it is still caught.
    func testMaxTokensReadsOnlyThePrefixItNeeds() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let corpus = directory.appendingPathComponent("corpus.jsonl.gz").path
        func document(_ i: Int, firstWord: String = "Document") -> String {
            "\(i == 0 ? firstWord : "Document") \(i): "
                + String(repeating: "the union of states is strong and growing. ", count: 12)
        }
        func writeCorpus(firstWord: String) throws {
            let text =
                (0..<400).map { #"{"text": "\#(document($0, firstWord: firstWord))"}"# }.joined(separator: "\n") + "\n"
            let file = try XCTUnwrap(gzopen(corpus, "wb"))
            XCTAssertEqual(Int(gzwrite(file, text, UInt32(text.utf8.count))), text.utf8.count)
            gzclose(file)
            let data = try Data(contentsOf: URL(fileURLWithPath: corpus))
            try data.prefix(data.count * 4 / 10).write(to: URL(fileURLWithPath: corpus))
        }
        try writeCorpus(firstWord: "Document")
        var settings = Self.settings()
        settings.maxTokens = 2_000
        let (path, summary) = try precompute(settings, corpus: corpus, into: directory)
        XCTAssertTrue(summary.stoppedAtMaxTokens)
        let database = try ActivationDatabase.openForReading(path: path)
        let excerpts = try database.excerpts()
        let kept = excerpts.reduce(0) { $0 + $1.tokenIDs.count }
        XCTAssertTrue(
            (2_000 - 64 + 1)...2_000 ~= kept, "stops at the first excerpt that would pass the limit (\(kept) tokens)")
        // Reading stopped at the document holding the first 64-token window that did not fit (counted here with the
        // tokenizer directly).
        let tokenizer = try GPT2Tokenizer(directory: Paths.tokenizer)
        var total = 0, stop = 0
        search: for i in 0..<400 {
            for _ in 0..<(tokenizer.encode(document(i)).count / 64) {
                if total + 64 > 2_000 { stop = i; break search }
                total += 64
            }
        }
        XCTAssertEqual(kept, total)
        XCTAssertEqual(summary.stored.documents, stop + 1)
        XCTAssertLessThan(summary.stored.documents, 40)
        XCTAssertTrue(try metadataText(database.path, "corpus").contains(#""stoppedAtMaxTokens":true"#))

        // The whole corpus is damaged further on: without --max-tokens that is an error naming the file.
        XCTAssertThrowsMessage(try precompute(corpus: corpus, into: directory, name: "whole.db"), contains: [corpus])
        // A rerun reads the same prefix only: complete, nothing rewritten.
        let (_, again) = try precompute(settings, corpus: corpus, into: directory)
        XCTAssertTrue(again.alreadyComplete)
        // A change inside the prefix is caught.
        try writeCorpus(firstWord: "Changed")
        XCTAssertThrowsMessage(
            try precompute(settings, corpus: corpus, into: directory), contains: [path, "the corpus has changed"])
    }

    func testCorpusWithoutExcerptsAndBadLayer() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let corpus = directory.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        try "too short".write(to: corpus.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsMessage(try precompute(corpus: corpus.path, into: directory), contains: ["yields no excerpt"])
        var settings = Self.settings()
        settings.layers = [2]
        XCTAssertThrowsMessage(
            try precompute(settings, into: directory, name: "b.db"), contains: ["layer 2 is out of range"])
    }

    // MARK: Helpers

    /// A metadata value as stored, read with SQL (independently of the store's typed accessors).
}
