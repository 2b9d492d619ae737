import ArgumentParser
import Evaluation
import Foundation
import Interop
import Reports

/// `neuronbench report`: one self-contained HTML page for an evaluation run.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (histograms, neuron table, token heatmaps) of an evaluation run.",
        discussion: "The page needs no network: CSS, JavaScript and SVG are inline. Open it in any browser.")

    @Argument(help: "The run directory (from `neuronbench evaluate`).") var runDirectory: String
    @Option(help: "The activation database; by default the one named in the run's run.json.") var db: String?
    @Option(
        help:
            "Instead of --db: the OpenAI collated-activations tree the run was scored on (the default when run.json names a folder)."
    )
    var recordsFrom: String?
    @Option(help: "The HTML file to write.") var out: String
    @Option(
        help:
            "Neuron sections for at most this many neurons (the best-scoring when there are more; the table lists all)."
    )
    var maxSections = HTMLReport.Options().maxNeuronSections
    @Option(help: "Top-activating records shown per neuron.") var topRecords = HTMLReport.Options().topRecords

    func validate() throws {
        guard maxSections >= 0, topRecords >= 0 else {
            throw ValidationError("--max-sections and --top-records cannot be negative.")
        }
        if db != nil && recordsFrom != nil { throw ValidationError("Give at most one of --db and --records-from.") }
    }

    func run() throws {
        try reportingErrors {
            var options = HTMLReport.Options()
            options.maxNeuronSections = maxSections
            options.topRecords = topRecords
            let report: HTMLReport
            let named = try RunContents.manifest(directory: runDirectory).database
            var isFolder: ObjCBool = false
            if let tree = recordsFrom
                ?? (db == nil && FileManager.default.fileExists(atPath: named, isDirectory: &isFolder)
                    && isFolder.boolValue ? named : nil)
            {
                let records = try OpenAIRecordSource(directory: tree)
                report = try HTMLReport(
                    runDirectory: runDirectory, records: records, recordsPath: tree,
                    label: "OpenAI NeuronRecords (\(records.tree))", options: options)
            } else {
                report = try HTMLReport(runDirectory: runDirectory, databasePath: db, options: options)
            }
            try report.write(to: out)
            print(
                "report: \(out) (\(report.neuronCount) units, \(report.sectionCount) with a section, \(report.html.utf8.count / 1024) KB)"
            )
            for h in report.headlines {
                let s = h.summary
                let threshold = h.pair.kind?.shareThreshold ?? 0.5
                print(
                    String(
                        format:
                            "  %@%@: mean %@ %.3f [95%% CI %.3f, %.3f], median %.3f, %.1f%% ≥ %.1f (%d scored, %d undefined, %d failed, %d dead)",
                        h.pair.description, h.isControl ? " (control)" : "", h.pair.kind?.headline ?? "score", s.mean,
                        s.confidenceLow, s.confidenceHigh, s.median,
                        100 * s.fraction(atLeast: threshold), threshold,
                        s.count, h.undefined, h.failed, h.dead))
            }
        }
    }
}
