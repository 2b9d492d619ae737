import ActivationStore
import ArgumentParser
import Evaluation
import Foundation
import LLM

/// `neuronbench evaluate`: explain, simulate and score neurons of an activation database.
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Explain, simulate and score neurons; write scores.csv, summary.csv, explanations.jsonl, simulations.jsonl.gz.",
        discussion: "Columns: Schemas/scores.md. The database is opened read-only.")

    @Option(help: "The activation database (from `neuronbench precompute`).")
    var db: String
    @Option(help: "Neurons: all, 3, 2-4, 3:17, 3:100-199, random:N (comma-separated).")
    var neurons: String?
    @OptionGroup var options: EvaluationOptions
    @Option(help: "The run directory to write.")
    var out: String
    @Flag(help: "Print how many LLM calls and tokens the run would take, and exit without calling.")
    var dryRun = false

    func run() async throws {
        try await reportingErrors {
            let reader = try NeuronRecordReader(path: db)
            let selected = try NeuronSelection.select(neurons, from: try reader.neuronIDs(), seed: options.seed)
            if dryRun {
                try printDryRun(reader: reader, neurons: selected)
                return
            }
            let (explainers, simulators, client) = try options.plugins()
            for case let imported as ImportedExplainer in explainers {
                for problem in imported.problems { warn("\(imported.path): \(problem) (skipped)") }
            }
            let settings = try options.settings()
            let report = try EvaluationReport(directory: URL(fileURLWithPath: out))
            let display = ProgressDisplay()
            let started = Date()
            try await Evaluator(source: reader, settings: settings).run(
                neurons: selected, explainers: explainers, simulators: simulators,
                progress: { display.report(phase: $0.phase, done: $0.done, total: $0.total, unit: $0.unit, elapsed: Date().timeIntervalSince(started)) },
                explained: report.explained, emit: report.add)
            var llmRun: [String: Any] = [:]
            if let client {
                let configuration = client.configuration
                llmRun = ["llm_model": configuration.model, "llm_base_url": configuration.baseURL.absoluteString]
                let ledger = client.ledger
                let (total, retries, byNeuron) = (await ledger.total, await ledger.retries, await ledger.byNeuron)
                llmRun["llm_calls"] = total.calls
                llmRun["llm_cached_calls"] = total.cachedCalls
                llmRun["llm_failed_calls"] = total.failedCalls
                llmRun["llm_retries"] = retries
                llmRun["llm_prompt_tokens"] = total.usage.promptTokens
                llmRun["llm_completion_tokens"] = total.usage.completionTokens
                if let cost = configuration.cost(promptTokens: total.usage.promptTokens, completionTokens: total.usage.completionTokens) {
                    llmRun["llm_cost_dollars"] = cost
                }
                try writeUsage(byNeuron, configuration: configuration)
                var line = "  LLM: \(total.calls) calls (\(total.cachedCalls) from the cache, \(total.failedCalls) failed, \(retries) retries), "
                    + "\(total.usage.promptTokens) prompt + \(total.usage.completionTokens) completion tokens"
                if let cost = llmRun["llm_cost_dollars"] as? Double {
                    line += String(format: ", $%.4f ($%.6f per neuron)", cost, cost / Double(max(1, selected.count)))
                }
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            try report.finish(run: llmRun.merging([
                "database": db, "neurons": neurons ?? "all", "explainers": explainers.map(\.name), "simulators": simulators.map(\.name),
                "calibration": settings.calibration.rawValue, "explain_records": settings.splits.explainRecords,
                "score_top_records": settings.splits.scoreTop, "score_random_records": settings.splits.scoreRandom,
                "seed": options.seed, "tool": "neuronbench 0.1.0",
            ]) { $1 })
            printEvaluationSummary(report, seconds: Date().timeIntervalSince(started))
            let counts = report.statusCounts
            if !counts.isEmpty && counts.allSatisfy({ $0.ok == 0 }) {
                throw EvaluationError.invalidSpecification("no neuron could be scored (every explanation or simulation failed or was missing); see \(out)/scores.csv")
            }
        }
    }
}

extension EvaluateCommand {
    /// llm-usage.csv: calls and tokens per neuron (and dollars when prices are given).
    func writeUsage(_ byNeuron: [NeuronID: UsageLedger.Entry], configuration: LLMConfiguration) throws {
        var rows: [[CSV.Cell]] = [["layer", "neuron", "calls", "cached_calls", "failed_calls", "prompt_tokens", "completion_tokens", "cost_dollars"]]
        for (id, entry) in byNeuron.sorted(by: { $0.key < $1.key }) {
            let cost = configuration.cost(promptTokens: entry.usage.promptTokens, completionTokens: entry.usage.completionTokens)
            rows.append([.integer(id.layer), .integer(id.neuron), .integer(entry.calls), .integer(entry.cachedCalls), .integer(entry.failedCalls),
                         .integer(entry.usage.promptTokens), .integer(entry.usage.completionTokens), .number(cost ?? .nan)])
        }
        try rows.map(CSV.row).joined().write(toFile: out + "/llm-usage.csv", atomically: true, encoding: .utf8)
    }

    /// Calls and estimated tokens of the LLM plug-ins for this selection, without calling. Prompt tokens are
    /// estimated as characters / 4 of the prompts the run would send (simulator prompts with a 12-word explanation).
    func printDryRun(reader: NeuronRecordReader, neurons: [NeuronID]) throws {
        let settings = try options.settings()
        var calls = 0, promptCharacters = 0, completionTokens = 0
        let llmExplainers = options.explainers.filter { $0 == "llm" || $0 == "shuffled:llm" }.count
        let llmSimulators = options.simulators.filter { $0 == "llm" || $0.hasPrefix("llm:") }
        let explanation = "words and phrases about government spending and the national budget in general"
        for id in neurons {
            let splits = RecordSplits(try reader.record(id), sizes: settings.splits)
            if llmExplainers > 0 {
                let characters = Prompts.explainer(records: splits.explain).reduce(0) { $0 + ($1["content"]?.count ?? 0) }
                calls += llmExplainers; promptCharacters += llmExplainers * characters; completionTokens += llmExplainers * 20
            }
            let records = (settings.calibration == .none ? [] : splits.calibration) + splits.scoreTop + splits.scoreRandom
            for simulator in llmSimulators {
                for record in records {
                    calls += options.explainers.count
                    if simulator == "llm:all-at-once" {
                        promptCharacters += options.explainers.count * Prompts.allAtOnce(explanation: explanation, tokens: record.tokens).count
                    } else {
                        promptCharacters += options.explainers.count * Prompts.json(explanation: explanation, tokens: record.tokens).reduce(0) { $0 + ($1["content"]?.count ?? 0) }
                        completionTokens += options.explainers.count * record.tokens.count * 12
                    }
                }
            }
        }
        let promptTokens = promptCharacters / 4
        var line = "dry run: \(neurons.count) neurons, \(calls) LLM calls, about \(promptTokens) prompt and \(completionTokens) completion tokens"
        if let cost = try? options.llm.configuration().cost(promptTokens: promptTokens, completionTokens: completionTokens) {
            line += String(format: ", about $%.2f", cost)
        }
        print(line + " (estimates: 4 characters per token; cached replies would not be sent again)")
    }
}

func warn(_ message: String) { FileHandle.standardError.write(Data("neuronbench: warning: \(message)\n".utf8)) }

func printEvaluationSummary(_ report: EvaluationReport, seconds: Double) {
    var lines = ["wrote \(report.directory.path)/{scores.csv, summary.csv, explanations.jsonl, simulations.jsonl.gz, run.json} in \(String(format: "%.1f", seconds)) s"]
    for c in report.statusCounts {
        let s = c.summary
        lines.append(String(format: "  %@ / %@: %d scored (%d undefined), %d failed, %d missing; mean correlation %.3f [95%% CI %.3f, %.3f], median %.3f, ≥0.5: %.1f%%",
                            c.explainer, c.simulator, s.count, c.ok - s.count, c.failed, c.missing, s.mean, s.confidenceLow,
                            s.confidenceHigh, s.median, 100 * s.fractionAtLeastHalf))
    }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
}
