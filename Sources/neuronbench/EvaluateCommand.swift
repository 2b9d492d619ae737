import ActivationStore
import ArgumentParser
import Evaluation
import Foundation
import Interop
import LLM
import Support

/// `neuronbench evaluate`: explain, simulate and score neurons of an activation database.
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract:
            "Explain and score neurons; write scores.csv, summary.csv, explanations.jsonl, simulations.jsonl.gz, judgements.jsonl.gz.",
        discussion: "Columns: Schemas/scores.md. The database is opened read-only.")

    @Option(help: "The activation database (from `neuronbench precompute`).")
    var db: String?
    @Option(
        help: ArgumentHelp(
            "Instead of --db: an OpenAI collated-activations tree ({layer}/{neuron}.json NeuronRecords, or its parent).",
            discussion:
                "Excerpt identity comes from neuronbench sidecars when present, else from identical tokens. Schemas/interop.md."
        ))
    var recordsFrom: String?
    @Option(help: "Neurons: all, 3, 2-4, 3:17, 3:100-199, random:N (comma-separated).")
    var neurons: String?
    @OptionGroup var options: EvaluationOptions
    @Option(help: "The run directory to write.")
    var out: String
    @Flag(help: "Print how many LLM calls and tokens the run would take, and exit without calling.")
    var dryRun = false

    func validate() throws {
        guard (db == nil) != (recordsFrom == nil) else {
            throw ValidationError("Give the records with exactly one of --db and --records-from.")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let reader: any NeuronRecordSource =
                if let db { try NeuronRecordReader(path: db) } else { try OpenAIRecordSource(directory: recordsFrom!) }
            let sourcePath = db ?? recordsFrom!
            let available = try reader.neuronIDs()
            let selected = try NeuronSelection.select(neurons, from: available, seed: options.seed)
            if dryRun {
                try printDryRun(reader: reader, neurons: selected)
                return
            }
            let started = Date()
            let (explainers, scorers, client) = try options.plugins()
            for case let imported as ImportedExplainer in explainers {
                for problem in imported.problems { warn("\(imported.path): \(problem) (skipped)") }
                let known = Set(available)
                let strangers = imported.explanations.keys.filter { !known.contains($0) }.sorted()
                if let first = strangers.first {
                    warn(
                        "\(imported.path): \(strangers.count) explained neurons are not in \(sourcePath) (e.g. \(first)); they are not evaluated"
                    )
                }
            }
            let settings = try options.settings()
            let writer = try RunWriter(directory: URL(fileURLWithPath: out))
            let display = ProgressDisplay()
            try await Evaluator(source: reader, settings: settings).run(
                neurons: selected, explainers: explainers, scorers: scorers, progress: display.report,
                explained: writer.explained, emit: writer.add)
            var manifest = RunManifest(
                database: sourcePath, neurons: neurons ?? "all", explainers: explainers.map(\.name),
                scorers: scorers.map(\.name), settings: settings, seed: options.seed,
                tool: "neuronbench \(NeuronbenchVersion.current)")
            if let database = reader as? NeuronRecordReader {
                manifest.databaseFingerprint = try database.database.fingerprint()
                manifest.units = try database.database.source().description
            } else {
                manifest.units = "OpenAI NeuronRecords (\(sourcePath))"
            }
            if let client { manifest.llm = try await recordLLMUsage(client, neurons: selected.count, writer: writer) }
            // A run in which nothing could be scored (a wrong database, an LLM outage) is a failure: it is not put
            // in place, so an earlier run in `--out` stays as it was.
            let counts = writer.statusCounts
            if !counts.isEmpty && counts.allSatisfy({ $0.ok == 0 }) {
                throw EvaluationError.invalidSpecification(
                    "no unit could be scored (\(writer.firstProblem.map { "every explanation or simulation failed or was missing; first: \($0)" } ?? "every selected unit is dead: never above 0 on the recorded corpus")); nothing was written to \(out)"
                )
            }
            try writer.finish(manifest: manifest)
            printEvaluationSummary(writer, seconds: Date().timeIntervalSince(started))
        }
    }
}

extension EvaluateCommand {
    /// The LLM plug-ins' calls, tokens and cost: printed, written per neuron to llm-usage.csv, and returned for
    /// run.json.
    func recordLLMUsage(_ client: LLMClient, neurons: Int, writer: RunWriter) async throws -> RunManifest.LLMUsage {
        let configuration = client.configuration
        let ledger = client.ledger
        let (total, retries, byNeuron) = (await ledger.total, await ledger.retries, await ledger.byNeuron)
        let cost = configuration.cost(
            promptTokens: total.usage.promptTokens, completionTokens: total.usage.completionTokens)
        try writer.writeLLMUsage(usageRows(byNeuron, configuration: configuration))
        var line =
            "  LLM: \(total.calls) calls (\(total.cachedCalls) from the cache, \(total.failedCalls) failed, \(retries) retries), "
            + "\(total.usage.promptTokens) prompt + \(total.usage.completionTokens) completion tokens"
        if let cost { line += String(format: ", $%.4f ($%.6f per neuron)", cost, cost / Double(max(1, neurons))) }
        let shifted = await ledger.shiftedReplies
        if shifted > 0 {
            line +=
                "\n  LLM: \(shifted) all-at-once replies were read realigned: their prompt log-probabilities were \(LLMSimulator.shiftedServerBug)"
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
        return RunManifest.LLMUsage(
            model: configuration.model, baseURL: configuration.redactedBaseURL, calls: total.calls,
            cachedCalls: total.cachedCalls, failedCalls: total.failedCalls, retries: retries,
            promptTokens: total.usage.promptTokens, completionTokens: total.usage.completionTokens,
            costDollars: cost)
    }

    /// llm-usage.csv's rows: calls and tokens per neuron (and dollars when prices are given).
    func usageRows(_ byNeuron: [NeuronID: UsageLedger.Entry], configuration: LLMConfiguration) -> [[CSV.Cell]] {
        var rows: [[CSV.Cell]] = [
            [
                "layer", "neuron", "calls", "cached_calls", "failed_calls", "prompt_tokens", "completion_tokens",
                "cost_dollars",
            ]
        ]
        for (id, entry) in byNeuron.sorted(by: { $0.key < $1.key }) {
            let cost = configuration.cost(
                promptTokens: entry.usage.promptTokens, completionTokens: entry.usage.completionTokens)
            rows.append([
                .integer(id.layer), .integer(id.neuron), .integer(entry.calls), .integer(entry.cachedCalls),
                .integer(entry.failedCalls),
                .integer(entry.usage.promptTokens), .integer(entry.usage.completionTokens), .number(cost ?? .nan),
            ])
        }
        return rows
    }

    /// Calls and estimated tokens of the LLM plug-ins for this selection, without calling. Prompt tokens are
    /// estimated as characters / 4 of the prompts the run would send (simulator and judge prompts with a 12-word
    /// explanation); a judge's completion as 2 tokens per answer plus 2.
    func printDryRun(reader: any NeuronRecordSource, neurons: [NeuronID]) throws {
        let settings = try options.settings()
        var calls = 0, promptCharacters = 0, completionTokens = 0
        let llmExplainers = options.explainers.filter { $0 == "llm" || $0 == "shuffled:llm" }.count
        let llmSimulators = options.scorerSpecifications.filter { $0.hasPrefix("simulation:llm") }.map {
            String($0.dropFirst("simulation:".count))
        }
        let explanation = "words and phrases about government spending and the national budget in general"
        for id in neurons {
            let splits = RecordSplits(try reader.record(id), sizes: settings.splits)
            if llmExplainers > 0 {
                let characters = Prompts.explainer(records: splits.explain).reduce(0) {
                    $0 + ($1["content"]?.count ?? 0)
                }
                calls += llmExplainers; promptCharacters += llmExplainers * characters;
                completionTokens += llmExplainers * 20
            }
            let records =
                (settings.calibration == .none ? [] : splits.calibration) + splits.scoreTop + splits.scoreRandom
            for simulator in llmSimulators {
                for record in records {
                    calls += options.explainers.count
                    if simulator == "llm:all-at-once" {
                        promptCharacters +=
                            options.explainers.count
                            * Prompts.allAtOnce(explanation: explanation, tokens: record.tokens).count
                    } else {
                        promptCharacters +=
                            options.explainers.count
                            * Prompts.json(explanation: explanation, tokens: record.tokens).reduce(0) {
                                $0 + ($1["content"]?.count ?? 0)
                            }
                        completionTokens += options.explainers.count * record.tokens.count * 12
                    }
                }
            }
        }
        // Judge calls: the examples each neuron would get (all of them are known without calling).
        let judgeTasks = options.scorerSpecifications.compactMap { specification -> JudgeTask? in
            specification == "detection:llm" ? .detection : specification == "fuzzing:llm" ? .fuzzing : nil
        }
        for task in judgeTasks {
            let scorer = ClassificationScorer(
                task: task, judge: KeywordJudge(), settings: settings.examples, seed: options.seed)
            for id in neurons {
                let record = try reader.record(id)
                let shown = Set(RecordSplits(record, sizes: settings.splits).explain.map(\.excerptID))
                let request = ScoreRequest(neuron: id, explanation: explanation, record: record, shown: shown)
                for call in scorer.calls(for: request) {
                    let messages = Prompts.judge(task: task, explanation: explanation, examples: call.examples)
                    calls += options.explainers.count
                    promptCharacters +=
                        options.explainers.count * messages.reduce(0) { $0 + ($1["content"]?.count ?? 0) }
                    completionTokens += options.explainers.count * (2 + 2 * call.examples.count)
                }
            }
        }
        if options.scorerSpecifications.contains("intruder:llm") {
            let scorer = IntruderScorer(judge: KeywordJudge(), settings: settings.examples, seed: options.seed)
            for id in neurons {
                let record = try reader.record(id)
                let shown = Set(RecordSplits(record, sizes: settings.splits).explain.map(\.excerptID))
                for call in scorer.calls(for: ScoreRequest(neuron: id, explanation: "", record: record, shown: shown)) {
                    calls += 1
                    promptCharacters += Prompts.intruder(examples: call.examples).reduce(0) {
                        $0 + ($1["content"]?.count ?? 0)
                    }
                    completionTokens += 2
                }
            }
        }
        let promptTokens = promptCharacters / 4
        var line =
            "dry run: \(neurons.count) neurons, \(calls) LLM calls, about \(promptTokens) prompt and \(completionTokens) completion tokens"
        if let cost = try? options.llm.configuration().cost(
            promptTokens: promptTokens, completionTokens: completionTokens)
        {
            line += String(format: ", about $%.2f", cost)
        }
        print(line + " (estimates: 4 characters per token; cached replies would not be sent again)")
    }
}

func warn(_ message: String) {
    let line = TerminalText.escaped(SecretRedaction.redact(message), newline: " ")
    FileHandle.standardError.write(Data("neuronbench: warning: \(line)\n".utf8))
}

func printEvaluationSummary(_ writer: RunWriter, seconds: Double) {
    var lines = [
        "wrote \(writer.directory.path)/{scores.csv, summary.csv, explanations.jsonl, simulations.jsonl.gz, judgements.jsonl.gz, run.json} in \(String(format: "%.1f", seconds)) s"
    ]
    for c in writer.statusCounts {
        let s = c.summary
        let threshold = c.pair.kind?.shareThreshold ?? 0.5
        lines.append(
            String(
                format:
                    "  %@: %d scored (%d undefined), %d failed, %d missing, %d dead; mean %@ %.3f [95%% CI %.3f, %.3f], median %.3f, ≥%.1f: %.1f%%",
                c.pair.description, s.count, c.ok - s.count, c.failed, c.missing, c.dead, c.metric, s.mean,
                s.confidenceLow,
                s.confidenceHigh, s.median, threshold, 100 * s.fraction(atLeast: threshold)))
    }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
}
