import ArgumentParser
import Evaluation
import Foundation

/// `neuronbench compare`: a paired comparison of two evaluation runs.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Compare two evaluation runs on the neurons both scored (paired).")

    @Argument(help: "Run directory A.") var runA: String
    @Argument(help: "Run directory B.") var runB: String
    @Option(help: "Also write the comparison as CSV to this file.") var out: String?

    func run() throws {
        try reportingErrors {
            // Only finished runs: a directory without a complete run.json may hold a half-written scores.csv.
            for run in [runA, runB] { _ = try RunContents.manifest(directory: run) }
            let comparisons = PairedComparison.compare(try RunScores(directory: runA), try RunScores(directory: runB))
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
                            "  %d neurons scored by both: mean A %.3f, mean B %.3f, A − B %+.3f [95%% CI %+.3f, %+.3f]; A wins %d, B wins %d, ties %d (A win rate %.1f%%)",
                        c.neurons, c.meanA, c.meanB, c.meanDifference, c.confidenceLow, c.confidenceHigh, c.winsA,
                        c.winsB, c.ties, 100 * c.winRateA))
            }
        }
    }
}
