import ActivationStore
import ArgumentParser
import Evaluation
import Foundation

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

    func run() async throws {
        try await reportingErrors {
            let reader = try NeuronRecordReader(path: db)
            let selected = try NeuronSelection.select(neurons, from: try reader.neuronIDs(), seed: options.seed)
            let (explainers, simulators) = try options.plugins()
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
            try report.finish(run: [
                "database": db, "neurons": neurons ?? "all", "explainers": explainers.map(\.name), "simulators": simulators.map(\.name),
                "calibration": settings.calibration.rawValue, "explain_records": settings.splits.explainRecords,
                "score_top_records": settings.splits.scoreTop, "score_random_records": settings.splits.scoreRandom,
                "seed": options.seed, "tool": "neuronbench 0.1.0",
            ])
            printEvaluationSummary(report, seconds: Date().timeIntervalSince(started))
            let counts = report.statusCounts
            if !counts.isEmpty && counts.allSatisfy({ $0.ok == 0 }) {
                throw EvaluationError.invalidSpecification("no neuron could be scored (every explanation or simulation failed or was missing); see \(out)/scores.csv")
            }
        }
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
