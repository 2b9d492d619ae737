import ActivationStore
import ArgumentParser
import Foundation
import GPT2
import Precompute

/// `neuronbench precompute`: corpus -> activation database.
struct PrecomputeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "precompute",
        abstract:
            "Record every MLP neuron's (or SAE latent's) top, random, quantile and bottom excerpts into one SQLite database.",
        discussion: """
            Resumable: after an interruption (even kill -9), run the same command again. A database made with other \
            settings, model, tokenizer, corpus or units (neurons, or which SAEs) is refused. With --sae, the latents of \
            each SAE (one per layer) are recorded instead of the neurons. Schema: Schemas/activations.md.
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var precision: PrecisionOption
    @OptionGroup var saeOptions: SAEOptions
    @Option(
        help:
            "Read each context after GPT-2's <|endoftext|>: on, off (default: as the SAEs' prepend_bos says; off for neurons). Its position is never recorded."
    )
    var prependBos: String?
    @Option(
        help: "A directory of .txt files, a .txt file, or a .jsonl / .jsonl.gz file with a \"text\" field per line.")
    var corpus: String
    @Option(help: "The database to write (or resume).")
    var out: String
    @Option(help: "Layers to record, e.g. 0,3-5 (default: all).")
    var layers: String?
    @Option(help: "Use only the first N tokens of the corpus (in excerpts).")
    var maxTokens: Int?
    @Option(help: "Tokens per excerpt.")
    var excerptTokens = 64
    @Option(
        help: ArgumentHelp(
            "Tokens the model reads at once: documents are run in blocks of this many tokens, each cut into excerpts (default: --excerpt-tokens).",
            discussion:
                "A multiple of --excerpt-tokens, at most the model's n_positions. Records stay --excerpt-tokens long; their activations see the block's earlier tokens."
        ))
    var contextTokens: Int?
    @Option(
        help:
            "Keep a document's final, shorter excerpt if it has at least this many tokens (default: --excerpt-tokens, i.e. drop it)."
    )
    var minExcerptTokens: Int?
    @Option(help: "Top records per neuron (by excerpt maximum).")
    var topK = 50
    @Option(help: "Random records per neuron.")
    var randomK = 50
    @Option(help: "Records per quantile bucket per neuron.")
    var quantileK = 10
    @Option(
        help:
            "Bottom records per unit (by excerpt minimum; default: 50 for neurons, 0 for SAE latents, which are never negative)."
    )
    var bottomK: Int?
    @Option(
        help:
            "At most this many excerpts (and at most 1/16 of them) in the pilot pass that estimates quantile boundaries."
    )
    var pilotExcerpts = 2_000
    @Option(help: "Histogram bins per neuron.")
    var histogramBins = 32
    @Option(help: "Seed of every random choice.")
    var seed: UInt64 = 0
    @Option(help: "Process shard i of N (i/N, from 0), to merge later with `neuronbench merge`.")
    var shard: String?
    @Option(
        help:
            "Contexts per forward pass (speed only; results do not depend on it). Default: 2,048 tokens' worth (32 contexts of 64 tokens, 2 of 1,024)."
    )
    var batch: Int?
    @Option(
        help:
            "Refuse to start if the run would need more than this many GB: samplers, weights and buffers (default: 80% of RAM)."
    )
    var maxMemoryGb: Double?
    @Option(help: "Seconds between resume checkpoints.")
    var checkpointSeconds = 600.0

    func validate() throws {
        if let layers { _ = try parseLayers(layers) }
        if let shard { _ = try parseShard(shard) }
        guard excerptTokens > 0 else { throw ValidationError("--excerpt-tokens must be positive.") }
        if let minExcerptTokens, !(1...excerptTokens).contains(minExcerptTokens) {
            throw ValidationError("--min-excerpt-tokens must be between 1 and --excerpt-tokens (\(excerptTokens)).")
        }
        if let contextTokens, contextTokens <= 0 || contextTokens % excerptTokens != 0 {
            throw ValidationError(
                "--context-tokens must be a positive multiple of --excerpt-tokens (\(excerptTokens)).")
        }
        guard prependBos == nil || ["on", "off"].contains(prependBos!) else {
            throw ValidationError("--prepend-bos must be on or off.")
        }
        guard saeOptions.sae.isEmpty || layers == nil else {
            throw ValidationError("--sae records each SAE's own layer; leave out --layers.")
        }
        guard [topK, randomK, quantileK, bottomK ?? 0].allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("--top-k, --random-k, --quantile-k and --bottom-k cannot be negative.")
        }
        guard pilotExcerpts > 0 else { throw ValidationError("--pilot-excerpts must be positive.") }
        guard histogramBins > 0 else { throw ValidationError("--histogram-bins must be positive.") }
        if let maxTokens, maxTokens <= 0 { throw ValidationError("--max-tokens must be positive.") }
        if let batch, batch <= 0 { throw ValidationError("--batch must be positive.") }
        if let maxMemoryGb, !(maxMemoryGb > 0) { throw ValidationError("--max-memory-gb must be positive.") }
        guard checkpointSeconds.isFinite, checkpointSeconds >= 0 else {
            throw ValidationError("--checkpoint-seconds must be a number of seconds, 0 or more.")
        }
    }

    func run() throws {
        try reportingErrors {
            var settings = PrecomputeSettings()
            settings.excerpter = Excerpter(
                tokens: excerptTokens, minimumTokens: minExcerptTokens, contextTokens: contextTokens)
            settings.samples = SampleSizes(
                top: topK, random: randomK, perQuantileBucket: quantileK,
                bottom: bottomK ?? (saeOptions.sae.isEmpty ? 50 : 0))
            settings.pilotExcerpts = pilotExcerpts
            settings.histogramBins = histogramBins
            settings.seed = seed
            settings.maxTokens = maxTokens
            settings.precision = precision.precision
            settings.blas = precision.blas
            settings.layers = try layers.map(parseLayers)
            if let shard { (settings.shardIndex, settings.shardCount) = try parseShard(shard) }
            let run = Precomputation(
                modelDirectory: model.modelURL,
                tokenizerDirectory: URL(fileURLWithPath: model.tokenizer ?? model.model),
                corpusPath: corpus, outputPath: out, settings: settings)
            run.batchSize = batch ?? max(1, 2_048 / settings.excerpter.context)
            run.checkpointSeconds = checkpointSeconds
            run.saeDirectories = saeOptions.sae
            run.saeCentering = saeOptions.centering
            run.prependBOS = prependBos.map { $0 == "on" }
            if let maxMemoryGb { run.memoryLimit = Int(maxMemoryGb * 1e9) }
            let display = ProgressDisplay()
            let summary = try run.run(progress: display.report)
            printSummary(summary, path: out, precision: settings.precision, blas: settings.blas)
        }
    }
}

/// Parses "i/N" with 0 <= i < N.
func parseShard(_ text: String) throws -> (Int, Int) {
    let parts = text.split(separator: "/").map { Int($0) }
    guard parts.count == 2, let index = parts[0], let count = parts[1], count > 0, (0..<count).contains(index) else {
        throw ValidationError("--shard must be i/N with 0 <= i < N, e.g. 0/4 (not \"\(text)\").")
    }
    return (index, count)
}

func printSummary(
    _ summary: PrecomputeSummary, path: String, precision: MatrixPrecision? = nil, blas: BLASLibrary = .openBLAS,
    source: UnitSource? = nil
) {
    let s = summary.stored
    let issues = s.corpusIssues
    var lines = [
        summary.alreadyComplete
            ? "\(path) is already complete; nothing to do." : "wrote \(path)\(summary.resumed ? " (resumed)" : "")",
        "  corpus: \(s.documents.formatted()) documents, \(s.excerpts.formatted()) excerpts; \(s.tokensDropped.formatted()) tokens left out of excerpts (document remainders, --max-tokens)"
            + (summary.stoppedAtMaxTokens ? "; read only up to --max-tokens" : ""),
        "  repaired or skipped: \(issues.emptyDocuments) empty documents, \(issues.invalidUTF8Replaced) invalid UTF-8 sequences replaced, \(issues.nulBytesRemoved) NUL bytes removed, \(issues.malformedJSONLines) malformed JSON lines, \(issues.linesWithoutText) lines without \"text\"",
    ]
    lines += issues.examples.map { "    \($0)" }
    lines += [
        "  this run: \(s.shardExcerpts.formatted()) excerpts, \(s.tokensInExcerpts.formatted()) tokens, layers \(s.layers.map(String.init).joined(separator: ",")), pilot of \(s.pilotExcerpts) excerpts"
            + (precision.map { ", \($0.rawValue) projections" } ?? ""),
        "  units: \((source ?? (try? ActivationDatabase.openForReading(path: path, allowIncomplete: true).source()) ?? .neurons).description)",
        "  stored: \(s.neurons.formatted()) units, \(s.records.formatted()) records, \(String(format: "%.1f", s.bytesPerRecord)) bytes of compressed activations per record, database \(String(format: "%.1f", Double(summary.databaseBytes) / 1e6)) MB",
    ]
    if s.boundaryErrorMedian.count == QuantileBuckets.count {
        lines.append(
            "  quantile boundary error |true quantile - target| for q = \(QuantileBuckets.upperEdges.map { "\($0)" }.joined(separator: "/")): median "
                + s.boundaryErrorMedian.map { String(format: "%.4f", $0) }.joined(separator: "/") + ", max "
                + s.boundaryErrorMax.map { String(format: "%.4f", $0) }.joined(separator: "/"))
    }
    for (name, census) in [("dead (never > 0)", s.dead), ("dense (> 0 on more than half of the tokens)", s.dense)] {
        guard let census else { continue }
        lines.append(
            "  \(name): \(census.count.formatted()) units"
                + (census.examples.isEmpty
                    ? ""
                    : " (\(census.examples.joined(separator: ", "))\(census.count > census.examples.count ? ", …" : ""))")
        )
    }
    for totals in s.reconstruction ?? [] {
        lines.append(
            "  SAE of layer \(totals.layer) over \(totals.tokens.formatted()) tokens: L0 \(String(format: "%.2f", totals.l0)), variance explained \(String(format: "%.4f", totals.varianceExplained))"
        )
    }
    if summary.leftInWALMode { lines.append("  note: " + walNote(path)) }
    if let budget = summary.memoryBudget, summary.seconds > 0 {
        lines.append("  memory: \(budget), estimated before the run")
    }
    if summary.seconds > 0 {
        lines.append(
            "  matrix multiplies: \(blas.details ?? blas.rawValue)"
                + (blas == .openBLAS
                    ? BLASCore.replaced.map { " (OpenBLAS chose \($0.detected) for this CPU, which has faster ones)" }
                        ?? "" : "")
                + ((precision ?? .float32) == .bfloat16
                    ? "; the bf16 products use neuronbench's own kernel on \(MatrixPrecision.bfloat16Kernel ?? "?")"
                    : ""))
    }
    if summary.seconds > 0 {
        let p = summary.phases
        lines.append(
            "  time: \(String(format: "%.1f", summary.seconds)) s, main pass \(String(format: "%.0f", summary.mainPassTokensPerSecond)) tokens/s; "
                + "start-up \(String(format: "%.2f", p.startUp)) s, pilot \(String(format: "%.2f", p.pilot)) s, "
                + "main pass \(String(format: "%.2f", p.mainPass)) s, write \(String(format: "%.2f", p.write)) s"
        )
    }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
}

/// Why a database still has a -wal file beside it, and what to do before copying it.
func walNote(_ path: String) -> String {
    "\(path) is complete but in WAL mode (another program had it open when the writer finished): copy it together "
        + "with \(path)-wal, or first make it one file with `sqlite3 \(path) 'PRAGMA journal_mode = DELETE'` once "
        + "nothing else has it open"
}
