import ArgumentParser
import Evaluation
import Foundation

/// `neuronbench compare`: a paired comparison of two evaluation runs.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Compare two evaluation runs on the neurons both scored (paired).")

    @Argument(help: "Run directory A.") var runA: String
    @Argument(help: "Run directory B.") var runB: String
    @Option(
        help:
            "The metric compared (a scores.csv column, e.g. correlation, balanced_accuracy, f1); default each scorer's headline, pairs of the same scorer kind."
    )
    var metric: String?
    @Option(help: "Also write the comparison as CSV to this file.") var out: String?

    func validate() throws {
        let known = ScorerKind.allCases.flatMap(\.metrics)
        if let metric, !known.contains(metric) {
            throw ValidationError("--metric must be one of \(known.joined(separator: ", ")).")
        }
    }

    func run() throws {
        try reportingErrors {
            // Only finished runs: a directory without a complete run.json may hold a half-written scores.csv.
            let (a, b) = (try RunContents.manifest(directory: runA), try RunContents.manifest(directory: runB))
            // Pairing needs the same units: neuron 2:5 and latent 2:5 share an id and nothing else.
            if let unitsA = a.units, let unitsB = b.units, unitsA != unitsB {
                throw EvaluationError.invalidSpecification(
                    "\(runA) scored \(unitsA) and \(runB) scored \(unitsB): a paired comparison needs the same units (for side by side: neuronbench table \(runA) \(runB))"
                )
            }
            let comparisons = PairedComparison.compare(
                try RunScores(directory: runA), try RunScores(directory: runB), metric: metric)
            guard !comparisons.isEmpty else {
                throw EvaluationError.invalidSpecification(
                    "\(runA) and \(runB) have no explainer × scorer pairs to compare\(metric.map { " on \($0)" } ?? " (no scorer kind in common)")"
                )
            }
            if let out {
                let csv = ([PairedComparison.columns.map { CSV.Cell.text($0) }] + comparisons.map(\.cells)).map(CSV.row)
                    .joined()
                try csv.write(toFile: out, atomically: true, encoding: .utf8)
            }
            for c in comparisons {
                print("A: \(c.a)\nB: \(c.b)")
                print(
                    String(
                        format:
                            "  %@, %d neurons scored by both: mean A %.3f, mean B %.3f, A − B %+.3f [95%% CI %+.3f, %+.3f]; A wins %d, B wins %d, ties %d (A win rate %.1f%%)",
                        c.metric, c.neurons, c.meanA, c.meanB, c.meanDifference, c.confidenceLow, c.confidenceHigh,
                        c.winsA,
                        c.winsB, c.ties, 100 * c.winRateA))
            }
        }
    }
}
