import ActivationStore
import ArgumentParser
import Evaluation
import Foundation

/// `neuronbench puzzles`: planted neurons with known rules, to see which rules an explainer/simulator recovers.
struct PuzzlesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "puzzles",
        abstract: "Score explainers and simulators on planted neurons with known rules over real excerpts.")

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
            let (explainers, simulators, _) = try options.plugins()
            var results: [NeuronEvaluation] = []
            try await Evaluator(source: InMemoryRecords(records), settings: try options.settings())
                .run(neurons: records.map(\.id), explainers: explainers, simulators: simulators) { results.append($0) }
            let columns = ["puzzle", "rule", "explainer", "simulator", "status", "correlation", "explanation"]
            var table: [[CSV.Cell]] = [columns.map { .text($0) }]
            print("puzzle         explainer / simulator              correlation  explanation")
            for result in results {
                let puzzle = puzzles[result.neuron.neuron]
                let correlation = result.scores?.correlation.number ?? .nan
                table.append([
                    .text(puzzle.name), .text(puzzle.rule), .text(result.explainer), .text(result.simulator),
                    .text(result.status.rawValue), .number(correlation),
                    .text(result.explanation ?? result.error ?? ""),
                ])
                let pair = result.pair.description
                print(
                    puzzle.name.padding(toLength: 15, withPad: " ", startingAt: 0)
                        + pair.padding(toLength: 35, withPad: " ", startingAt: 0)
                        + String(format: "%11.3f", correlation) + "  "
                        + TerminalText.escaped(result.explanation ?? result.error ?? ""))
            }
            print("\nrules: " + puzzles.map { "\($0.name) = \($0.rule)" }.joined(separator: "; "))
            if let out {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try table.map(CSV.row).joined().write(toFile: out + "/puzzles.csv", atomically: true, encoding: .utf8)
            }
        }
    }
}
