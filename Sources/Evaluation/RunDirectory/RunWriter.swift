import ActivationStore
import Foundation
import Support

/// Writes an evaluation run directory (columns documented in Schemas/scores.md): scores.csv, summary.csv,
/// explanations.jsonl, simulations.jsonl.gz and run.json. `RunReader` reads it back; no other code touches these
/// files.
///
/// Files are written under `.partial` names and renamed when the run ends, run.json last: a directory whose run
/// died has no scores.csv that could pass for a finished one.
public final class RunWriter {
    public let directory: URL
    private var scores: FileHandle
    private var explanations: FileHandle
    private var simulations: GzipWriter
    private var rows: [(evaluation: NeuronEvaluation, correlation: Double)] = []
    /// The files renamed into place at the end, in order, before summary.csv and run.json.
    private static let streamed: [RunFile] = [.scores, .explanations, .simulations]

    public init(directory: URL) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw EvaluationError.invalidRun(
                path: directory.path, reason: "cannot create the directory (\(error.localizedDescription))")
        }
        for file in RunFile.allCases where file != .llmUsage {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(file.rawValue))
        }
        func open(_ file: RunFile) throws -> FileHandle {
            let url = Self.partial(file, in: directory)
            guard FileManager.default.createFile(atPath: url.path, contents: nil),
                let handle = FileHandle(forWritingAtPath: url.path)
            else {
                throw EvaluationError.invalidRun(path: url.path, reason: "cannot create the file")
            }
            return handle
        }
        scores = try open(.scores)
        explanations = try open(.explanations)
        do { simulations = try GzipWriter(path: Self.partial(.simulations, in: directory).path) } catch let error
            as SupportError
        {
            throw EvaluationError.invalidRun(path: Self.partial(.simulations, in: directory).path, reason: error.reason)
        }
        scores.write(Data(CSV.row(ScoreColumn.allCases.map { .text($0.rawValue) }).utf8))
    }

    private static func partial(_ file: RunFile, in directory: URL) -> URL {
        directory.appendingPathComponent(file.rawValue + ".partial")
    }

    /// Records one explainer's explanations (and which excerpts they were made from).
    public func explained(
        _ explainer: String, _ neurons: [NeuronID], _ results: [Result<String, EvaluationError>], _ excerpts: [[Int]]
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for ((id, result), shown) in zip(zip(neurons, results), excerpts) {
            data += try encoder.encode(
                ExplanationLine(neuron: id, explainer: explainer, result: result, excerptIDs: shown))
            data += Data("\n".utf8)
        }
        explanations.write(data)
    }

    public func add(_ e: NeuronEvaluation) throws {
        let s = e.scores
        func score(_ value: Score?) -> CSV.Cell { .number(value?.number ?? .nan) }
        let cells: [ScoreColumn: CSV.Cell] = [
            .layer: .integer(e.neuron.layer), .neuron: .integer(e.neuron.neuron), .explainer: .text(e.explainer),
            .simulator: .text(e.simulator), .calibration: .text(e.calibration.rawValue),
            .status: .text(e.status.rawValue),
            .explanation: .text(e.explanation ?? ""), .correlation: score(s?.correlation),
            .topCorrelation: score(s?.topCorrelation),
            .randomCorrelation: score(s?.randomCorrelation), .rSquared: score(s?.rSquared),
            .absoluteDeviationExplained: score(s?.absoluteDeviationExplained), .scoreNotes: .text(s?.notes ?? ""),
            .explainRecords: .integer(e.explainRecords), .scoreTopRecords: .integer(e.scoreTopRecords),
            .scoreRandomRecords: .integer(e.scoreRandomRecords), .scoredTokens: .integer(e.scoredTokens),
            .error: .text(e.error ?? ""),
        ]
        scores.write(Data(CSV.row(ScoreColumn.allCases.map { cells[$0]! }).utf8))
        if !e.records.isEmpty {
            do { try simulations.write(SimulationRow.line(for: e)) } catch let error as SupportError {
                throw EvaluationError.invalidRun(path: simulations.path, reason: error.reason)
            }
        }
        var light = e
        light.records = []
        rows.append((light, s?.correlation.value ?? .nan))
    }

    /// The rows of each explainer × simulator, in order of first appearance.
    private var groups: [[(evaluation: NeuronEvaluation, correlation: Double)]] {
        let order = rows.distinctPairs { $0.evaluation.pair }
        let grouped = Dictionary(grouping: rows, by: { $0.evaluation.pair })
        return order.map { grouped[$0]! }
    }

    /// Per explainer × simulator, overall ("all") and per layer.
    public func summaryRows() -> [[CSV.Cell]] {
        var out: [[CSV.Cell]] = []
        for group in groups {
            let first = group[0].evaluation
            let layers = Array(Set(group.map(\.evaluation.neuron.layer))).sorted()
            for layer in [nil] + layers.map(Optional.some) {
                let members = group.filter { layer == nil || $0.evaluation.neuron.layer == layer }
                let ok = members.filter { $0.evaluation.status == .ok }
                let defined = ok.map(\.correlation).filter { !$0.isNaN }
                let summary = ScoreSummary(defined)
                let cells: [SummaryColumn: CSV.Cell] = [
                    .explainer: .text(first.explainer), .simulator: .text(first.simulator),
                    .calibration: .text(first.calibration.rawValue),
                    .layer: .text(layer.map(String.init) ?? "all"), .neurons: .integer(members.count),
                    .scored: .integer(defined.count),
                    .undefined: .integer(ok.count - defined.count),
                    .failed: .integer(members.filter { $0.evaluation.status == .failed }.count),
                    .missing: .integer(members.filter { $0.evaluation.status == .missing }.count),
                    .mean: .number(summary.mean),
                    .median: .number(summary.median), .std: .number(summary.standardDeviation),
                    .ci95Low: .number(summary.confidenceLow),
                    .ci95High: .number(summary.confidenceHigh),
                    .fractionAtLeastHalf: .number(summary.fractionAtLeastHalf),
                    .fractionAtLeast08: .number(summary.fractionAtLeast08),
                ]
                out.append(SummaryColumn.allCases.map { cells[$0]! })
            }
        }
        return out
    }

    /// Writes summary.csv and run.json and gives every file its final name; each file put in place is a commit
    /// (`KillSwitch`).
    public func finish(manifest: RunManifest) throws {
        do {
            for handle in [scores, explanations] { try handle.close() }
            try simulations.close()
            for file in Self.streamed {
                try FileManager.default.moveItem(
                    at: Self.partial(file, in: directory), to: directory.appendingPathComponent(file.rawValue))
                KillSwitch.committed()
            }
            let summary = ([SummaryColumn.allCases.map { CSV.Cell.text($0.rawValue) }] + summaryRows()).map(CSV.row)
                .joined()
            try summary.write(
                to: directory.appendingPathComponent(RunFile.summary.rawValue), atomically: true, encoding: .utf8)
            KillSwitch.committed()
            var manifest = manifest
            manifest.complete = true
            manifest.neuronsEvaluated = Set(rows.map { $0.evaluation.neuron }).count
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try encoder.encode(manifest).write(
                to: directory.appendingPathComponent(RunFile.manifest.rawValue), options: .atomic)
            KillSwitch.committed()
        } catch let error as SupportError {
            throw EvaluationError.invalidRun(path: directory.path, reason: error.localizedDescription)
        } catch let error as EvaluationError {
            throw error
        } catch {
            throw EvaluationError.invalidRun(
                path: directory.path, reason: "could not finish the run (\(error.localizedDescription))")
        }
    }

    /// Per explainer × simulator: counts and the score summary, for a terminal summary.
    public var statusCounts: [(pair: EvaluationPair, ok: Int, failed: Int, missing: Int, summary: ScoreSummary)] {
        groups.map { group in
            let ok = group.filter { $0.evaluation.status == .ok }
            return (
                group[0].evaluation.pair, ok.count, group.filter { $0.evaluation.status == .failed }.count,
                group.filter { $0.evaluation.status == .missing }.count,
                ScoreSummary(ok.map(\.correlation).filter { !$0.isNaN })
            )
        }
    }
}
