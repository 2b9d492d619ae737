import ActivationStore
import ArgumentParser
import Evaluation
import Foundation

/// `neuronbench puzzles`: planted neurons with known rules, to see which rules an explainer/simulator recovers.
struct PuzzlesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "puzzles",
        abstract: "Score explainers with every scorer on planted neurons with known rules over real excerpts.")

    @Option(help: "An activation database whose excerpts the puzzles are planted in.")
    var db: String
    @Option(help: "Excerpts to use (the first N).")
    var excerpts = 5_000
    @OptionGroup var options: EvaluationOptions
    @Option(help: "Also write puzzles.csv into this directory.")
    var out: String?

    func run() async throws {
        try await reportingErrors {
            let database = try ActivationDatabase.openForReading(path: db)
            let vocabulary = try database.tokenStrings()
            let rows = try database.excerpts(from: 0, to: excerpts).map { excerpt in
                (id: excerpt.id, tokens: excerpt.tokenIDs.map { vocabulary[$0] })
            }
            let puzzles = Puzzle.standard(excerpts: rows, seed: options.seed)
            let records = puzzles.enumerated().map { $1.record(index: $0, excerpts: rows, seed: options.seed) }
            let (explainers, scorers, _) = try options.plugins()
            var results: [NeuronEvaluation] = []
            try await Evaluator(source: InMemoryRecords(records), settings: try options.settings())
                .run(neurons: records.map(\.id), explainers: explainers, scorers: scorers) { results.append($0) }
            let columns = ["puzzle", "rule", "explainer", "scorer", "status", "metric", "score", "explanation"]
            var table: [[CSV.Cell]] = [columns.map { .text($0) }]
            print("puzzle         explainer / scorer                         metric              score  explanation")
            for result in results {
                let puzzle = puzzles[result.neuron.neuron]
                let metric = result.pair.kind?.headline ?? "score"
                let score = result.score?.headline.number ?? .nan
                table.append([
                    .text(puzzle.name), .text(puzzle.rule), .text(result.explainer), .text(result.scorer),
                    .text(result.status.rawValue), .text(metric), .number(score),
                    .text(result.explanation ?? result.error ?? ""),
                ])
                print(
                    puzzle.name.padding(toLength: 15, withPad: " ", startingAt: 0)
                        + result.pair.description.padding(toLength: 43, withPad: " ", startingAt: 0)
                        + metric.padding(toLength: 17, withPad: " ", startingAt: 0)
                        + String(format: "%8.3f", score) + "  "
                        + TerminalText.escaped(
                            (result.explanation ?? result.error ?? "")
                                + (result.score?.headline.reason.map { " (NaN: \($0))" } ?? "")))
            }
            print("\nrules: " + puzzles.map { "\($0.name) = \($0.rule)" }.joined(separator: "; "))
            if let out {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try table.map(CSV.row).joined().write(toFile: out + "/puzzles.csv", atomically: true, encoding: .utf8)
            }
        }
    }
}
