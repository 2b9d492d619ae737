import ActivationStore
import Foundation
import GPT2
import SAE
import Sampling
import Support

/// Streams a corpus through GPT-2 into an activation database: tokenize -> pilot -> main pass -> write. The units
/// recorded are the MLP neurons, or the latents of the SAEs in `saeDirectories` (one per layer): one source per
/// database, part of its identity.
///
/// Each phase commits in its own transactions; the main pass checkpoints its sampler state every
/// `checkpointSeconds`, so after a crash or `kill -9` the same run resumes from the last checkpoint and produces
/// the same records as an uninterrupted one. The database says "complete" only after the last write.
public final class Precomputation {
    public let modelDirectory: URL
    public let tokenizerDirectory: URL
    public let corpusPath: String
    public let outputPath: String
    public let settings: PrecomputeSettings
    /// Contexts per forward pass: speed only, never results.
    public var batchSize = 32
    public var checkpointSeconds = 600.0
    /// The most memory the run may take (samplers, weights, buffers: `MemoryBudget`; default: 80% of the machine's
    /// RAM); checked before any work.
    public var memoryLimit = Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8)
    /// SAELens-format SAE directories, at most one per layer: record their latents instead of the neurons.
    public var saeDirectories: [String] = []
    /// Overrides the SAEs' own centring (`center_writing_weights`).
    public var saeCentering: Bool?
    /// Overrides the default BOS rule: the SAEs' `prepend_bos` (all must agree), off for neurons.
    public var prependBOS: Bool?

    public init(
        modelDirectory: URL, tokenizerDirectory: URL, corpusPath: String, outputPath: String,
        settings: PrecomputeSettings
    ) {
        self.modelDirectory = modelDirectory
        self.tokenizerDirectory = tokenizerDirectory
        self.corpusPath = corpusPath
        self.outputPath = outputPath
        self.settings = settings
    }

    /// Memory the samplers hold for `units` units (neurons or latents): each record slot keeps its float16
    /// activations plus about 40 bytes of heap entry, and each unit about 1 KB of statistics and histogram.
    public static func samplerBytes(_ settings: PrecomputeSettings, neurons units: Int) -> Int {
        units * (settings.samples.recordsPerUnit * (2 * settings.excerpter.tokens + 40) + 1_024)
    }

    /// What one run works with once its inputs are checked.
    struct Inputs {
        var corpus: Corpus
        var config: GPT2Config
        var layers: [Int]
        var tokenizer: GPT2Tokenizer
        var identity: ActivationDatabase.Identity
        /// One per recorded layer for an SAE source; empty for neurons.
        var saes: [SparseAutoencoder]
        /// Units per recorded layer.
        var unitCounts: [Int]
        var memoryBudget: MemoryBudget
    }

    public func run(progress: (ProgressReport) -> Void = { _ in }) throws -> PrecomputeSummary {
        let started = Date()
        let inputs = try checkedInputs()
        // One writer per database for the whole run (released when this returns, or by the kernel if it dies).
        let lock = try WriterLock(for: outputPath)
        defer { lock.release() }
        let database = try ActivationDatabase.openForWriting(path: outputPath)
        var summary = PrecomputeSummary()
        summary.stored.layers = inputs.layers
        summary.memoryBudget = inputs.memoryBudget
        summary.resumed = try checkResumable(database, inputs.identity)
        if try database.status() == .complete {
            return try alreadyComplete(database, inputs.corpus)
        }
        let manifest = try tokenizeOnce(database, inputs, progress)
        summary.stored.documents = manifest.documents
        summary.stored.corpusIssues = manifest.issues
        summary.stored.excerpts = manifest.excerpts
        summary.stored.tokensDropped = manifest.tokensDropped
        summary.stoppedAtMaxTokens = manifest.stoppedAtMaxTokens ?? false

        let model = try GPT2Model(
            directory: modelDirectory, layerCount: (inputs.layers.max() ?? 0) + 1, precision: settings.precision,
            blas: settings.blas)
        let reader = UnitReader(
            model: model, layers: inputs.layers, saes: inputs.saes, prependBOS: inputs.identity.source.prependBOS)
        let layout = ContextLayout(try database.excerptPlacements(), excerpter: settings.excerpter)
        var phaseStarted = Date()
        summary.phases.startUp = phaseStarted.timeIntervalSince(started)
        let pilot = try pilotOnce(database, reader, layout, progress)
        summary.stored.pilotExcerpts = pilot.excerptCount
        summary.phases.pilot = Date().timeIntervalSince(phaseStarted)

        phaseStarted = Date()
        var pass = try MainPass(self, database, reader, layout, pilot.estimates)
        try pass.run(progress)
        summary.phases.mainPass = Date().timeIntervalSince(phaseStarted)
        summary.stored.tokensInExcerpts = pass.tokensInShard
        summary.stored.shardExcerpts = pass.excerptsInShard
        summary.stored.reconstruction = reader.readsLatents ? pass.reconstruction : nil
        summary.mainPassTokensPerSecond = pass.tokensPerSecond

        phaseStarted = Date()
        let singleFile = try writeNeurons(database, pass.samplers, summary: &summary.stored, progress)
        summary.phases.write = Date().timeIntervalSince(phaseStarted)
        summary.leftInWALMode = !singleFile
        summary.databaseBytes = ActivationDatabase.fileSize(outputPath)
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Settings, corpus, model configuration, layers, memory and tokenizer, checked before anything is written.
    private func checkedInputs() throws -> Inputs {
        try settings.validate()
        try settings.blas.check()
        guard batchSize > 0 else { throw PrecomputeError.invalidSetting("batch size", "must be positive") }
        let corpus = try Corpus(path: corpusPath)
        // The checkpoint is validated (config bounds, safetensors headers, every needed tensor's shape) before it is
        // hashed, before `--out` is opened and before anything is sized by its config.
        let checkpoint = try GPT2Checkpoint(directory: modelDirectory)
        let config = checkpoint.config
        let saes = try loadedSAEs(config)
        let layers = saes.isEmpty ? try resolvedLayers(config) : saes.map(\.config.hook.layer)
        try GPT2Weights.checkShapes(checkpoint, layerCount: (layers.max() ?? 0) + 1)
        let source = try unitSource(saes)
        let positions = settings.excerpter.context + (source.prependBOS ? 1 : 0)
        guard positions <= config.contextLength else {
            throw PrecomputeError.contextTooLong(
                tokens: settings.excerpter.context, positions: config.contextLength, withBOS: source.prependBOS)
        }
        let unitCounts = saes.isEmpty ? layers.map { _ in config.neuronCount } : saes.map(\.config.latentCount)
        let units = unitCounts.reduce(0, +)
        let budget = MemoryBudget.of(
            units: units, blocks: (layers.max() ?? 0) + 1,
            saeBytes: saes.reduce(0) { $0 + 8 * $1.config.inputWidth * $1.config.latentCount }, config: config,
            settings: settings, batch: batchSize, positions: positions)
        guard budget.totalBytes <= memoryLimit else {
            let split =
                saes.isEmpty
                ? MemoryBudget.layerSplit(
                    layers, config: config, settings: settings, batch: batchSize, positions: positions,
                    limit: memoryLimit) : nil
            throw PrecomputeError.tooMuchMemory(
                budget, allowedBytes: memoryLimit, units: units, recordsPerUnit: settings.samples.recordsPerUnit,
                excerptTokens: settings.excerpter.tokens, layerSplit: split)
        }
        let tokenizer = try GPT2Tokenizer(directory: tokenizerDirectory)
        guard tokenizer.vocabularySize <= config.vocabularySize else {
            throw PrecomputeError.tokenizerTooLarge(
                tokens: tokenizer.vocabularySize, vocabularySize: config.vocabularySize)
        }
        let identity = ActivationDatabase.Identity(
            settings: settings, modelSHA256: try Self.sha256(files: modelFiles()),
            tokenizerSHA256: try Self.sha256(
                files: ["vocab.json", "merges.txt"].map { tokenizerDirectory.appendingPathComponent($0) }),
            source: source)
        return Inputs(
            corpus: corpus, config: config, layers: layers, tokenizer: tokenizer, identity: identity, saes: saes,
            unitCounts: unitCounts, memoryBudget: budget)
    }

    /// A database finished earlier: nothing is rewritten (the corpus must still be the one it recorded).
    private func alreadyComplete(_ database: ActivationDatabase, _ corpus: Corpus) throws -> PrecomputeSummary {
        try checkCorpusUnchanged(corpus, database)
        var summary = PrecomputeSummary()
        summary.stored = try database.summary() ?? DatabaseSummary()
        summary.stoppedAtMaxTokens = try database.corpus()?.stoppedAtMaxTokens ?? false
        summary.alreadyComplete = true
        summary.resumed = true
        summary.databaseBytes = ActivationDatabase.fileSize(outputPath)
        return summary
    }

    private func resolvedLayers(_ config: GPT2Config) throws -> [Int] {
        let layers = settings.layers.map { Array(Set($0)).sorted() } ?? Array(0..<config.layerCount)
        for layer in layers where !(0..<config.layerCount).contains(layer) {
            throw PrecomputeError.layerOutOfRange(layer: layer, layerCount: config.layerCount)
        }
        guard !layers.isEmpty else { throw PrecomputeError.invalidSetting("layers", "must name at least one layer") }
        return layers
    }

    private func modelFiles() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: modelDirectory.path)) ?? []
        let weights = names.filter { $0.hasSuffix(".safetensors") || $0 == "model.safetensors.index.json" }.sorted()
        return (["config.json"] + weights).map { modelDirectory.appendingPathComponent($0) }
    }

    /// {file name: sha256} of each file.
    static func sha256(files: [URL]) throws -> [String: String] {
        var result: [String: String] = [:]
        for url in files {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw PrecomputeError.modelFileMissing(path: url.path)
            }
            result[url.lastPathComponent] = try SHA256Hex.digest(ofFile: url.path)
        }
        return result
    }
}
