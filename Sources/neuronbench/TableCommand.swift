import ArgumentParser
import Evaluation
import Foundation

/// `neuronbench table`: finished runs' headline results side by side.
struct TableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract:
            "Print evaluation runs' headline results side by side (unpaired: the runs may score different units).",
        discussion: """
            Per explainer × scorer: each run's scored units, mean headline score with its bootstrap 95% interval, and \
            the share ≥ 0.5 (correlation) or ≥ 0.8 (accuracies); with two runs, the difference of the means with an \
            unpaired bootstrap interval. For two runs over the same units, `compare` pairs them instead.
            """)

    @Argument(help: "Run directories (finished evaluation runs).") var runs: [String]
    @Option(help: "A column's name, once per run in order (default: each run directory's name).")
    var label: [String] = []
    @Option(help: "Also write the table as CSV to this file.") var out: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("Give at least one run directory.") }
        guard label.isEmpty || label.count == runs.count else {
            throw ValidationError("Give --label once per run (\(runs.count)), or not at all.")
        }
    }

    func run() throws {
        try reportingErrors {
            let labels =
                label.isEmpty ? runs.map { URL(fileURLWithPath: $0).standardizedFileURL.lastPathComponent } : label
            // Only finished runs: a directory without a complete run.json may hold a half-written scores.csv.
            var loaded: [(label: String, scores: RunScores)] = []
            for (run, name) in zip(runs, labels) {
                let manifest = try RunContents.manifest(directory: run)
                print("\(name): \(run) (\(manifest.units ?? "units not recorded"), \(manifest.database))")
                loaded.append((name, try RunScores(directory: run)))
            }
            let table = SideBySide(loaded)
            if let out {
                let csv = ([SideBySide.columns.map { CSV.Cell.text($0) }] + table.cells).map(CSV.row).joined()
                try csv.write(toFile: out, atomically: true, encoding: .utf8)
            }
            print(table.text, terminator: "")
        }
    }
}
