import ActivationStore
import CZlib
import Foundation

/// Writes an evaluation run directory (columns documented in Schemas/scores.md):
/// `scores.csv`, `summary.csv`, `explanations.jsonl`, `simulations.jsonl.gz` and `run.json`.
///
/// Files are written under `.partial` names and renamed when the run ends, `run.json` last: a directory whose run
/// died has no `scores.csv` that could pass for a finished one.
public final class EvaluationReport {
    public let directory: URL
    private var scores: FileHandle
    private var explanations: FileHandle
    private var simulations: GzipWriter
    private var rows: [(evaluation: NeuronEvaluation, correlation: Double)] = []
    private let names = ["scores.csv", "explanations.jsonl", "simulations.jsonl.gz"]

    public static let scoreColumns = [
        "layer", "neuron", "explainer", "simulator", "calibration", "status", "explanation", "correlation",
        "top_correlation", "random_correlation", "r_squared", "absolute_dev_explained", "score_notes",
        "explain_records", "score_top_records", "score_random_records", "scored_tokens", "error",
    ]
    public static let summaryColumns = [
        "explainer", "simulator", "calibration", "layer", "neurons", "scored", "undefined", "failed", "missing", "mean",
        "median", "std", "ci95_low", "ci95_high", "fraction_ge_0.5", "fraction_ge_0.8",
    ]

    public init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in names + ["summary.csv", "run.json"] {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        func open(_ name: String) throws -> FileHandle {
            let url = directory.appendingPathComponent(name + ".partial")
            guard FileManager.default.createFile(atPath: url.path, contents: nil), let handle = FileHandle(forWritingAtPath: url.path) else {
                throw EvaluationError.invalidRun(path: url.path, reason: "cannot create the file")
            }
            return handle
        }
        scores = try open("scores.csv")
        explanations = try open("explanations.jsonl")
        simulations = try GzipWriter(path: directory.appendingPathComponent("simulations.jsonl.gz.partial").path)
        scores.write(Data(CSV.row(Self.scoreColumns.map { .text($0) }).utf8))
    }

    /// Records one explainer's explanations (and which excerpts they were made from).
    public func explained(_ explainer: String, _ neurons: [NeuronID], _ results: [Result<String, EvaluationError>], _ excerpts: [[Int]]) throws {
        var text = ""
        for ((id, result), shown) in zip(zip(neurons, results), excerpts) {
            var object: [String: Any] = ["layer": id.layer, "neuron": id.neuron, "explainer": explainer, "explain_excerpt_ids": shown]
            switch result {
            case let .success(explanation): object["explanation"] = explanation
            case let .failure(error): object["error"] = error.localizedDescription
            }
            text += String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self) + "\n"
        }
        explanations.write(Data(text.utf8))
    }

    public func add(_ e: NeuronEvaluation) throws {
        let s = e.scores
        func score(_ value: Score?) -> CSV.Cell { .number(value?.number ?? .nan) }
        scores.write(Data(CSV.row([
            .integer(e.neuron.layer), .integer(e.neuron.neuron), .text(e.explainer), .text(e.simulator), .text(e.calibration.rawValue),
            .text(e.status.rawValue), .text(e.explanation ?? ""), score(s?.correlation), score(s?.topCorrelation),
            score(s?.randomCorrelation), score(s?.rSquared), score(s?.absoluteDeviationExplained), .text(s?.notes ?? ""),
            .integer(e.explainRecords), .integer(e.scoreTopRecords), .integer(e.scoreRandomRecords), .integer(e.scoredTokens),
            .text(e.error ?? ""),
        ]).utf8))
        if !e.records.isEmpty { try simulations.write(Self.simulationLine(e)) }
        var light = e
        light.records = []
        rows.append((light, s?.correlation.value ?? .nan))
    }

    /// The rows of each explainer × simulator, in order of first appearance.
    private var groups: [[(evaluation: NeuronEvaluation, correlation: Double)]] {
        var keys: [String] = []
        var groups: [String: [(evaluation: NeuronEvaluation, correlation: Double)]] = [:]
        for row in rows {
            let key = "\(row.evaluation.explainer)\u{0}\(row.evaluation.simulator)"
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(row)
        }
        return keys.map { groups[$0]! }
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
                out.append([.text(first.explainer), .text(first.simulator), .text(first.calibration.rawValue),
                            .text(layer.map(String.init) ?? "all"), .integer(members.count), .integer(defined.count),
                            .integer(ok.count - defined.count), .integer(members.filter { $0.evaluation.status == .failed }.count),
                            .integer(members.filter { $0.evaluation.status == .missing }.count), .number(summary.mean),
                            .number(summary.median), .number(summary.standardDeviation), .number(summary.confidenceLow),
                            .number(summary.confidenceHigh), .number(summary.fractionAtLeastHalf), .number(summary.fractionAtLeast08)])
            }
        }
        return out
    }

    /// Writes summary.csv and run.json and gives every file its final name.
    public func finish(run: [String: Any]) throws {
        for handle in [scores, explanations] { try handle.close() }
        try simulations.close()
        let summary = ([Self.summaryColumns.map { CSV.Cell.text($0) }] + summaryRows()).map(CSV.row).joined()
        try summary.write(to: directory.appendingPathComponent("summary.csv"), atomically: true, encoding: .utf8)
        for name in names {
            try FileManager.default.moveItem(at: directory.appendingPathComponent(name + ".partial"), to: directory.appendingPathComponent(name))
        }
        var run = run
        run["complete"] = true
        run["neurons_evaluated"] = Set(rows.map { $0.evaluation.neuron }).count
        let data = try JSONSerialization.data(withJSONObject: run, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        try data.write(to: directory.appendingPathComponent("run.json"), options: .atomic)
    }

    /// One line of simulations.jsonl.gz: the scored records with true, simulated and calibrated values, and the
    /// calibration records' simulated values (their true values are in the database, by excerpt id). Numbers are
    /// written at float32 precision, which is what they were computed from.
    static func simulationLine(_ e: NeuronEvaluation) -> [UInt8] {
        func numbers<T: BinaryFloatingPoint>(_ values: [T]) -> String {
            "[" + values.map { v -> String in
                let f = Float(v)
                return f.isFinite ? "\(f)" : "null"
            }.joined(separator: ",") + "]"
        }
        func string(_ text: String) -> String {
            String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
        }
        let records = e.records.map { r -> String in
            var fields = "{\"role\":\"\(r.role.rawValue)\",\"excerpt_id\":\(r.excerptID),\"simulated\":\(numbers(r.simulated))"
            if r.role != .calibration { fields += ",\"actual\":\(numbers(r.actual)),\"calibrated\":\(numbers(r.calibrated))" }
            return fields + "}"
        }
        let line = "{\"layer\":\(e.neuron.layer),\"neuron\":\(e.neuron.neuron),\"explainer\":\(string(e.explainer)),"
            + "\"simulator\":\(string(e.simulator)),\"calibration\":\"\(e.calibration.rawValue)\",\"records\":[\(records.joined(separator: ","))]}\n"
        return Array(line.utf8)
    }

    /// (explainer, simulator) → counts, for a terminal summary.
    public var statusCounts: [(explainer: String, simulator: String, ok: Int, failed: Int, missing: Int, summary: ScoreSummary)] {
        groups.map { group in
            let ok = group.filter { $0.evaluation.status == .ok }
            return (group[0].evaluation.explainer, group[0].evaluation.simulator, ok.count,
                    group.filter { $0.evaluation.status == .failed }.count, group.filter { $0.evaluation.status == .missing }.count,
                    ScoreSummary(ok.map(\.correlation).filter { !$0.isNaN }))
        }
    }
}

/// Appends to a gzip file (what `gzip -d`, Python's `gzip.open` and pandas read).
final class GzipWriter {
    private var file: gzFile?
    let path: String

    init(path: String) throws {
        self.path = path
        guard let file = gzopen(path, "wb6") else { throw EvaluationError.invalidRun(path: path, reason: "cannot create the file") }
        self.file = file
    }

    func write(_ bytes: [UInt8]) throws {
        guard let file, !bytes.isEmpty else { return }
        let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        guard written == Int32(bytes.count) else { throw EvaluationError.invalidRun(path: path, reason: "write failed (disk full?)") }
    }

    func close() throws {
        guard let file else { return }
        self.file = nil
        guard gzclose(file) == Z_OK else { throw EvaluationError.invalidRun(path: path, reason: "could not finish the gzip file") }
    }

    deinit { if let file { gzclose(file) } }
}
