import ActivationStore
import Crypto
import Foundation
import GPT2

/// A progress report, for a display on stderr.
public struct PrecomputeProgress: Sendable {
    public var phase: String
    public var done: Int
    public var total: Int
    public var unit: String
    /// Seconds since this phase started.
    public var elapsed: Double
}

/// What a precompute did: deterministic counts (also stored as metadata "summary") and this invocation's timing.
public struct PrecomputeSummary: Codable, Sendable {
    public var documents = 0
    public var corpusIssues = CorpusIssues()
    public var excerpts = 0
    public var shardExcerpts = 0
    public var tokensInExcerpts = 0
    public var tokensDropped = 0
    /// --max-tokens was reached before the end of the corpus, which was read no further.
    public var stoppedAtMaxTokens = false
    public var pilotExcerpts = 0
    public var layers: [Int] = []
    public var neurons = 0
    public var records = 0
    public var activationBytes = 0
    public var bytesPerRecord = 0.0
    /// Per quantile boundary (0.5, 0.9, 0.99, 0.999): median and maximum over neurons of |true quantile of the
    /// estimated boundary − its target|, measured exactly over this run's excerpts.
    public var boundaryErrorMedian: [Double] = []
    public var boundaryErrorMax: [Double] = []
    public var resumed = false
    public var alreadyComplete = false
    public var databaseBytes = 0
    public var seconds = 0.0
    public var mainPassTokensPerSecond = 0.0

    enum CodingKeys: String, CodingKey {
        case documents, corpusIssues, excerpts, shardExcerpts, tokensInExcerpts, tokensDropped, pilotExcerpts, layers,
             neurons, records, activationBytes, bytesPerRecord, boundaryErrorMedian, boundaryErrorMax
    }
}

/// Streams a corpus through GPT-2 into an activation database: tokenize -> pilot -> main pass -> write.
///
/// Each phase commits in its own transactions; the main pass checkpoints its sampler state every
/// `checkpointSeconds`, so after a crash or `kill -9` the same command resumes from the last checkpoint and
/// produces the same records as an uninterrupted run. The database says "complete" only after the last write.
extension PrecomputeSummary {
    /// Fills in the counts that are read back from a written database: neurons, records, bytes, boundary errors.
    mutating func countStoredRecords(in database: ActivationDatabase) throws {
        let connection = database.connection
        records = try connection.query("SELECT count(*) FROM records") { $0.int(0) }.first ?? 0
        activationBytes = try connection.query("SELECT coalesce(sum(length(activations)), 0) FROM neurons") { $0.int(0) }.first ?? 0
        bytesPerRecord = records > 0 ? Double(activationBytes) / Double(records) : 0
        var errors: [[Double]] = [[], [], [], []]
        neurons = 0
        for (excerpts, below) in try connection.query("SELECT excerpt_count, excerpts_below_boundaries FROM neurons", row: { ($0.int(0), $0.string(1)) }) {
            neurons += 1
            guard excerpts > 0, let counts = try? JSONDecoder().decode([Int].self, from: Data(below.utf8)), counts.count == 4 else { continue }
            for j in 0..<4 { errors[j].append(abs(Double(counts[j]) / Double(excerpts) - quantileBucketEdges[j])) }
        }
        guard !errors[0].isEmpty else { boundaryErrorMedian = []; boundaryErrorMax = []; return }
        boundaryErrorMedian = errors.map { $0.sorted()[$0.count / 2] }
        boundaryErrorMax = errors.map { $0.max()! }
    }
}

public final class Precomputation {
    public let modelDirectory: URL
    public let tokenizerDirectory: URL
    public let corpusPath: String
    public let outputPath: String
    public let settings: PrecomputeSettings
    public var batchSize = 32
    /// The most memory the samplers may take (default: 80% of the machine's RAM); checked before any work.
    public var memoryLimit = Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8)

    /// Memory the samplers hold for `neurons` neurons: each record slot keeps its float16 activations plus about
    /// 40 bytes of heap entry, and each neuron about 1 KB of statistics and histogram.
    public static func samplerBytes(_ settings: PrecomputeSettings, neurons: Int) -> Int {
        let s = settings.samples
        let records = s.top + s.random + 4 * s.perQuantileBucket + s.bottom
        return neurons * (records * (2 * settings.excerpter.tokens + 40) + 1_024)
    }
    public var checkpointSeconds = 600.0

    public init(modelDirectory: URL, tokenizerDirectory: URL, corpusPath: String, outputPath: String, settings: PrecomputeSettings) {
        self.modelDirectory = modelDirectory
        self.tokenizerDirectory = tokenizerDirectory
        self.corpusPath = corpusPath
        self.outputPath = outputPath
        self.settings = settings
    }

    public func run(progress: (PrecomputeProgress) -> Void = { _ in }) throws -> PrecomputeSummary {
        let started = Date()
        try settings.validate()
        guard batchSize > 0 else { throw PrecomputeError.invalidSettings("--batch must be positive") }
        let corpus = try Corpus(path: corpusPath)
        let config = try GPT2Config(contentsOf: modelDirectory.appendingPathComponent("config.json"))
        let layers = try resolvedLayers(config)
        guard settings.excerpter.context <= config.contextLength else {
            throw PrecomputeError.invalidSettings(
                "contexts of \(settings.excerpter.context) tokens (--context-tokens / --excerpt-tokens) exceed the model's \(config.contextLength) positions")
        }
        let samplerBytes = Self.samplerBytes(settings, neurons: layers.count * config.neuronCount)
        guard samplerBytes <= memoryLimit else {
            let gb = { (bytes: Int) in bytes < 1_000_000_000 ? String(format: "%.0f MB", Double(bytes) / 1e6) : String(format: "%.1f GB", Double(bytes) / 1e9) }
            throw PrecomputeError.invalidSettings(
                "the samplers would need \(gb(samplerBytes)) of memory (\(layers.count * config.neuronCount) neurons × "
                + "\(settings.samples.top + settings.samples.random + 4 * settings.samples.perQuantileBucket + settings.samples.bottom) "
                + "records × \(settings.excerpter.tokens) tokens), more than the \(gb(memoryLimit)) allowed; record fewer layers "
                + "(--layers), fewer records (--top-k, --random-k, --quantile-k, --bottom-k), shorter excerpts, or shards")
        }
        let tokenizer = try GPT2Tokenizer(directory: tokenizerDirectory)
        guard tokenizer.vocabularySize <= config.vocabularySize else {
            throw PrecomputeError.invalidSettings("the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocab_size is \(config.vocabularySize)")
        }
        let identity = [
            "settings": try json(settings),
            "model_sha256": try json(try Self.sha256(files: modelFiles())),
            "tokenizer_sha256": try json(try Self.sha256(files: ["vocab.json", "merges.txt"].map { tokenizerDirectory.appendingPathComponent($0) })),
        ]

        let database = try ActivationDatabase.openForWriting(path: outputPath)
        var summary = PrecomputeSummary()
        summary.layers = layers
        if try database.metadata("settings") != nil {
            try checkIdentity(database, identity)
            summary.resumed = true
        }
        if try database.status() == "complete" {
            // Finished earlier: nothing is rewritten (the corpus must still be the one it recorded).
            try checkCorpusUnchanged(corpus, database)
            summary = try storedSummary(database) ?? summary
            summary.alreadyComplete = true
            summary.databaseBytes = Self.fileSize(outputPath)
            return summary
        }

        // Phase 1: tokenize and cut excerpts (one transaction; redone whole if interrupted).
        if try database.progress("tokenized") == nil {
            try database.connection.transaction {
                try database.connection.execute("DELETE FROM vocabulary; DELETE FROM documents; DELETE FROM excerpts; DELETE FROM progress;")
                for (key, value) in identity { try database.setMetadata(key, json: value) }
                try database.setMetadata("tool", json: #"{"name": "neuronbench", "version": "\#(toolVersion)"}"#)
                try database.setMetadata("model", json: try json(config))
                try database.writeVocabulary(tokenizer.tokenBytes)
                let manifest = try tokenize(corpus, tokenizer, database, progress)
                try database.setMetadata("corpus", json: try json(manifest))
                try database.setProgress("tokenized", [1])
            }
        } else {
            try checkCorpusUnchanged(corpus, database)
        }
        let manifest = try JSONDecoder().decode(CorpusManifest.self, from: Data((try database.metadata("corpus") ?? "{}").utf8))
        summary.documents = manifest.documents
        summary.corpusIssues = manifest.issues
        summary.excerpts = manifest.excerpts
        summary.tokensDropped = manifest.tokensDropped
        summary.stoppedAtMaxTokens = manifest.stoppedAtMaxTokens ?? false

        let model = try GPT2Model(directory: modelDirectory, layerCount: (layers.max() ?? 0) + 1, precision: settings.precision)
        let maxTokens = settings.excerpter.tokens
        let layout = ContextLayout(try database.excerptPlacements(), excerpter: settings.excerpter)
        let pilotContexts = pilotContexts(layout)

        // Phase 2: pilot pass, fixing quantile boundaries and histogram ranges.
        let pilot: [PilotEstimates]
        if let stored = try database.progress("pilot") {
            pilot = try decodePilot(stored, layers: layers, neurons: config.neuronCount)
        } else {
            pilot = try runPilot(database, model, layers, layout, pilotContexts, progress)
            try database.connection.transaction { try database.setProgress("pilot", encodePilot(pilot)) }
        }
        summary.pilotExcerpts = pilotContexts.reduce(0) { $0 + layout.excerpts(ofContext: $1).count }

        // Phase 3: the main pass over this shard's contexts.
        var samplers = zip(layers, pilot).map { layer, estimates in
            LayerSamplers(layer: layer, neuronCount: config.neuronCount, maxTokens: maxTokens, sizes: settings.samples,
                         seed: settings.seed, histogramBins: settings.histogramBins, pilot: estimates)
        }
        var nextExcerpt = 0
        if let position = try database.progress("next_excerpt") {
            var reader = BinaryReader(position)
            nextExcerpt = try reader.readInt()
            for (index, layer) in layers.enumerated() {
                guard let state = try database.progress("state.\(layer)") else {
                    throw ActivationStoreError.corrupt(path: outputPath, reason: "resume state of layer \(layer) is missing")
                }
                do { try samplers[index].restore(state) } catch {
                    throw ActivationStoreError.corrupt(path: outputPath, reason: "resume state of layer \(layer) is unreadable")
                }
            }
        }
        let shardContexts = (0..<layout.count).filter { $0 % settings.shardCount == settings.shardIndex }
        summary.tokensInExcerpts = shardContexts.reduce(0) { $0 + layout.tokens(ofContext: $1) }
        summary.shardExcerpts = shardContexts.reduce(0) { $0 + layout.excerpts(ofContext: $1).count }
        guard var context = layout.context(startingAt: nextExcerpt) else {
            throw ActivationStoreError.corrupt(path: outputPath, reason: "the resume position (excerpt \(nextExcerpt)) is not the start of a context")
        }
        let mainStarted = Date()
        var tokensDone = shardContexts.prefix { layout.firstExcerpt[$0] < nextExcerpt }.reduce(0) { $0 + layout.tokens(ofContext: $1) }
        let tokensAtStart = tokensDone
        var lastCheckpoint = Date()
        var lastReport = Date.distantPast
        while context < layout.count {
            // A chunk: whole contexts spanning at most 4,096 excerpts (at least one context).
            var end = context + 1
            while end < layout.count && layout.firstExcerpt[end + 1] - layout.firstExcerpt[context] <= 4_096 { end += 1 }
            let mine = (context..<end).filter { $0 % settings.shardCount == settings.shardIndex }
            context = end
            guard let first = mine.first, let last = mine.last else { continue }
            let rows = try excerpts(database, layout, first...last), base = layout.firstExcerpt[first]
            let contexts = mine.map { k in Array(rows[(layout.firstExcerpt[k] - base)..<(layout.firstExcerpt[k + 1] - base)]) }
            for range in paddedBatches(lengths: contexts.map { $0.reduce(0) { $0 + $1.tokenIDs.count } }, maxCount: batchSize) {
                let batch = Array(contexts[range])
                try forward(model, batch, layers) { index, activations, spans in
                    samplers[index].update(values: activations.values, spans: spans)
                }
                tokensDone += batch.joined().reduce(0) { $0 + $1.tokenIDs.count }
                nextExcerpt = batch.last!.last!.id + 1
                if Date().timeIntervalSince(lastCheckpoint) >= checkpointSeconds {
                    try checkpoint(database, samplers, layers, nextExcerpt)
                    lastCheckpoint = Date()
                }
                if Date().timeIntervalSince(lastReport) >= 1 {
                    progress(PrecomputeProgress(phase: "main pass", done: tokensDone, total: summary.tokensInExcerpts, unit: "tokens",
                                                elapsed: Date().timeIntervalSince(mainStarted)))
                    lastReport = Date()
                }
            }
        }
        let mainSeconds = Date().timeIntervalSince(mainStarted)
        progress(PrecomputeProgress(phase: "main pass", done: tokensDone, total: summary.tokensInExcerpts, unit: "tokens", elapsed: mainSeconds))

        // Phase 4: write every neuron, then mark the database complete, in one transaction.
        try database.beginFinalWrite()
        try database.connection.transaction {
            for (index, sampler) in samplers.enumerated() {
                try NeuronWriter.write(sampler, neuronCount: config.neuronCount, to: database)
                progress(PrecomputeProgress(phase: "write", done: index + 1, total: samplers.count, unit: "layers",
                                            elapsed: Date().timeIntervalSince(mainStarted) - mainSeconds))
            }
            try summary.countStoredRecords(in: database)
            try database.setMetadata("summary", json: try json(summary))
            try database.clearProgress()
            try database.markComplete()
        }
        try database.compact()
        summary.databaseBytes = Self.fileSize(outputPath)
        summary.seconds = Date().timeIntervalSince(started)
        summary.mainPassTokensPerSecond = mainSeconds > 0 ? Double(tokensDone - tokensAtStart) / mainSeconds : 0
        return summary
    }

    // MARK: Phases

    private func tokenize(_ corpus: Corpus, _ tokenizer: GPT2Tokenizer, _ database: ActivationDatabase,
                          _ progress: (PrecomputeProgress) -> Void) throws -> CorpusManifest {
        var documentID = 0, excerptID = 0, tokensKept = 0, dropped = 0
        var limitReached = false
        let started = Date()
        var lastReport = Date.distantPast
        // With --max-tokens the corpus is read only until an excerpt would take the total past the limit: a
        // short prefix of a large corpus costs a short prefix of its tokenizing.
        let (sha, issues) = try corpus.forEachDocument { document in
            let ids = tokenizer.encode(document.text)
            try database.insert(DocumentRow(id: documentID, source: document.source, line: document.line,
                                            byteCount: document.text.utf8.count, tokenCount: ids.count,
                                            invalidUTF8Replaced: document.invalidUTF8Replaced, nulRemoved: document.nulRemoved))
            var kept = 0
            for window in settings.excerpter.windows(tokenCount: ids.count) {
                if let limit = settings.maxTokens, tokensKept + window.count > limit { limitReached = true; break }
                try database.insert(ExcerptRow(id: excerptID, documentID: documentID, startToken: window.start,
                                               tokenIDs: Array(ids[window.start..<(window.start + window.count)])))
                excerptID += 1
                tokensKept += window.count
                kept += window.count
            }
            dropped += ids.count - kept
            documentID += 1
            if Date().timeIntervalSince(lastReport) >= 1 {
                progress(PrecomputeProgress(phase: "tokenize", done: documentID, total: 0, unit: "documents",
                                            elapsed: Date().timeIntervalSince(started)))
                lastReport = Date()
            }
            return !limitReached
        }
        progress(PrecomputeProgress(phase: "tokenize", done: documentID, total: documentID, unit: "documents",
                                    elapsed: Date().timeIntervalSince(started)))
        guard excerptID > 0 else { throw PrecomputeError.emptyCorpus(path: corpusPath) }
        return CorpusManifest(path: corpusPath, format: corpus.format.rawValue, files: corpus.files.count, sha256: sha,
                              documents: documentID, excerpts: excerptID, tokensInExcerpts: tokensKept,
                              tokensDropped: dropped, issues: issues, stoppedAtMaxTokens: limitReached ? true : nil)
    }

    /// The pilot's contexts: the smallest seeded hashes of the contexts' first excerpts (every shard picks the
    /// same ones), in corpus order.
    private func pilotContexts(_ layout: ContextLayout) -> [Int] {
        (0..<layout.count)
            .map { (SampleHash.key(seed: settings.seed, stream: .pilot, layer: 0, neuron: 0, excerpt: layout.firstExcerpt[$0]), $0) }
            .sorted { $0 < $1 }.prefix(settings.pilotContextCount(contexts: layout.count)).map(\.1).sorted()
    }

    private func runPilot(_ database: ActivationDatabase, _ model: GPT2Model, _ layers: [Int], _ layout: ContextLayout,
                          _ contextIDs: [Int], _ progress: (PrecomputeProgress) -> Void) throws -> [PilotEstimates] {
        let excerptCount = contextIDs.reduce(0) { $0 + layout.excerpts(ofContext: $1).count }
        let n = model.config.neuronCount
        var maxima = layers.map { _ in [Float](repeating: 0, count: excerptCount * n) }   // [layer][pilot excerpt][N]
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
                }}}
            }
            done += batch.reduce(0) { $0 + $1.count }
            progress(PrecomputeProgress(phase: "pilot", done: done, total: excerptCount, unit: "excerpts",
                                        elapsed: Date().timeIntervalSince(started)))
        }
        return layers.indices.map { index in
            var boundaries = [Float](repeating: 0, count: 4 * n)
            for i in 0..<n {
                let column = (0..<excerptCount).map { maxima[index][$0 * n + i] }.sorted()
                for (j, q) in quantileBucketEdges.enumerated() { boundaries[4 * i + j] = Self.quantile(column, q) }
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

    /// Runs a batch of contexts (each its excerpts' tokens in order, padded to the longest; padding follows the
    /// real tokens, so causal attention keeps it from touching them) and hands each selected layer's activations
    /// with every excerpt's rows to `body`.
    private func forward(_ model: GPT2Model, _ contexts: [[ExcerptRow]], _ layers: [Int],
                         _ body: (Int, MLPActivations, [ExcerptSpan]) -> Void) throws {
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
    private func excerpts(_ database: ActivationDatabase, _ layout: ContextLayout, _ range: ClosedRange<Int>) throws -> [ExcerptRow] {
        let first = layout.firstExcerpt[range.lowerBound], end = layout.firstExcerpt[range.upperBound + 1]
        let rows = try database.excerpts(from: first, to: end)
        guard rows.count == end - first, zip(rows, first..<end).allSatisfy({ $0.id == $1 }) else {
            throw ActivationStoreError.corrupt(path: outputPath, reason: "excerpts \(first)..<\(end) are missing")
        }
        return rows
    }

    private func checkpoint(_ database: ActivationDatabase, _ samplers: [LayerSamplers], _ layers: [Int], _ next: Int) throws {
        try database.connection.transaction {
            for (sampler, layer) in zip(samplers, layers) { try database.setProgress("state.\(layer)", sampler.serialize()) }
            var writer = BinaryWriter()
            writer.write(next)
            try database.setProgress("next_excerpt", writer.bytes)
        }
    }

    // MARK: Helpers

    private func resolvedLayers(_ config: GPT2Config) throws -> [Int] {
        let layers = settings.layers.map { Array(Set($0)).sorted() } ?? Array(0..<config.layerCount)
        for layer in layers where !(0..<config.layerCount).contains(layer) {
            throw PrecomputeError.invalidSettings("layer \(layer) is out of range: the model has \(config.layerCount) layers (0–\(config.layerCount - 1))")
        }
        guard !layers.isEmpty else { throw PrecomputeError.invalidSettings("no layers selected") }
        return layers
    }

    /// Resuming or re-running: the corpus must still be the one that was tokenized.
    private func checkCorpusUnchanged(_ corpus: Corpus, _ database: ActivationDatabase) throws {
        let stored = try JSONDecoder().decode(CorpusManifest.self, from: Data((try database.metadata("corpus") ?? "{}").utf8))
        // A run that stopped at --max-tokens read (and hashed) only its first `documents` documents.
        let readLimit = stored.stoppedAtMaxTokens == true ? stored.documents : nil
        var read = 0
        let (sha, _) = try corpus.forEachDocument { _ in
            read += 1
            return readLimit.map { read < $0 } ?? true
        }
        guard sha == stored.sha256 else {
            throw ActivationStoreError.settingsMismatch(path: outputPath, differences: ["the corpus has changed (sha256 \(sha) vs \(stored.sha256))"])
        }
    }

    private func checkIdentity(_ database: ActivationDatabase, _ identity: [String: String]) throws {
        var differences: [String] = []
        for (key, value) in identity.sorted(by: { $0.key < $1.key }) {
            let stored = try database.metadata(key) ?? "none"
            if stored != value { differences.append("\(key): stored \(stored), now \(value)") }
        }
        if !differences.isEmpty { throw ActivationStoreError.settingsMismatch(path: outputPath, differences: differences) }
    }

    private func storedSummary(_ database: ActivationDatabase) throws -> PrecomputeSummary? {
        guard let text = try database.metadata("summary") else { return nil }
        return try? JSONDecoder().decode(PrecomputeSummary.self, from: Data(text.utf8))
    }

    private func modelFiles() throws -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: modelDirectory.path)) ?? []
        let weights = names.filter { $0.hasSuffix(".safetensors") || $0 == "model.safetensors.index.json" }.sorted()
        return (["config.json"] + weights).map { modelDirectory.appendingPathComponent($0) }
    }

    /// {file name: sha256} of each file, read in 4 MB chunks.
    static func sha256(files: [URL]) throws -> [String: String] {
        var result: [String: String] = [:]
        for url in files {
            guard let handle = FileHandle(forReadingAtPath: url.path) else {
                throw GPT2Error.fileNotFound(path: url.path, hint: "")
            }
            defer { try? handle.close() }
            var hasher = SHA256()
            while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty { hasher.update(data: chunk) }
            result[url.lastPathComponent] = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
        return result
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    private func encodePilot(_ pilot: [PilotEstimates]) -> [UInt8] {
        var writer = BinaryWriter()
        for estimates in pilot {
            writer.write(estimates.boundaries); writer.write(estimates.histogramLow); writer.write(estimates.histogramHigh)
        }
        return writer.bytes
    }

    private func decodePilot(_ bytes: [UInt8], layers: [Int], neurons: Int) throws -> [PilotEstimates] {
        var reader = BinaryReader(bytes)
        do {
            return try layers.map { _ in
                PilotEstimates(boundaries: try reader.read(4 * neurons), histogramLow: try reader.read(neurons),
                               histogramHigh: try reader.read(neurons))
            }
        } catch {
            throw ActivationStoreError.corrupt(path: outputPath, reason: "the stored pilot estimates are unreadable")
        }
    }
}

/// The corpus as recorded in metadata "corpus".
public struct CorpusManifest: Codable, Sendable {
    public var path: String
    public var format: String
    public var files: Int
    public var sha256: String
    public var documents: Int
    public var excerpts: Int
    public var tokensInExcerpts: Int
    public var tokensDropped: Int
    public var issues: CorpusIssues
    /// true when --max-tokens was reached before the end of the corpus: reading stopped there, so `sha256`,
    /// `documents`, `tokensDropped` and `issues` cover the documents read (absent otherwise).
    public var stoppedAtMaxTokens: Bool?
}

public let toolVersion = "0.1.0"

/// Compact, key-sorted JSON: the stored form of every metadata value (so equal values compare equal as text).
func json<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
