import ArgumentParser
import Foundation
import Precompute

/// `neuronbench merge`: shard databases -> the single-run database.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Combine the databases of `precompute --shard i/N` into one.")

    @Argument(help: "The shard databases (all N of them).")
    var inputs: [String]
    @Option(help: "The merged database to create (must not exist).")
    var out: String

    func run() throws {
        try reportingErrors {
            let display = ProgressDisplay()
            printSummary(try ShardMerge.merge(inputs: inputs, output: out, progress: display.report), path: out)
        }
    }
}
