import ActivationStore
import Foundation
import Support

/// The scores of an evaluation run directory, read back from its scores.csv (columns: `ScoreColumn`).
public struct RunScores: Sendable {
    public struct Row: Sendable {
        public var neuron: NeuronID
        public var explainer, scorer, calibration: String
        public var status: EvaluationStatus
        public var explanation: String
        /// Every metric column of the row's scorer kind, by name (NaN when undefined or failed).
        public var metrics: [String: Double]
        /// Why a score is NaN, or for failed and missing rows what went wrong.
        public var notes: String

        public var pair: EvaluationPair { EvaluationPair(explainer: explainer, scorer: scorer) }
        public var correlation: Double { metric("correlation") }
        public var topCorrelation: Double { metric("top_correlation") }
        public var randomCorrelation: Double { metric("random_correlation") }
        public var rSquared: Double { metric("r_squared") }

        public func metric(_ name: String) -> Double { metrics[name] ?? .nan }
        /// `metric` when the row was scored and it is defined.
        public func defined(_ name: String) -> Double? {
            status == .ok && metric(name).isFinite ? metric(name) : nil
        }
        /// The headline metric of the row's scorer when defined (correlation for simulation).
        public var definedHeadline: Double? { defined(pair.kind?.headline ?? "correlation") }
        /// The headline correlation when the row was scored and it is defined.
        public var definedCorrelation: Double? { defined("correlation") }
    }
    public let path: String
    public let rows: [Row]

    public init(directory: String) throws {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(RunFile.scores.rawValue)
        path = directory
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw EvaluationError.invalidRun(
                path: url.path, reason: "not found or not UTF-8 (is this a finished evaluation run?)")
        }
        let table: [(line: Int, fields: [String])]
        do { table = try CSV.parse(text) } catch let error as CSV.CSVError {
            throw EvaluationError.invalidRun(path: url.path, reason: "line \(error.line): \(error.reason)")
        }
        guard let header = table.first?.fields else {
            throw EvaluationError.invalidRun(path: url.path, reason: "empty file")
        }
        func column(_ name: ScoreColumn) throws -> Int {
            guard let index = header.firstIndex(of: name.rawValue) else {
                throw EvaluationError.invalidRun(path: url.path, reason: "no column \(name.rawValue)")
            }
            return index
        }
        let (layer, neuron, explainer, status) =
            (try column(.layer), try column(.neuron), try column(.explainer), try column(.status))
        // Runs written before scorers existed have no scorer column: every row is simulation:SIMULATOR.
        let scorer = header.firstIndex(of: ScoreColumn.scorer.rawValue)
        let simulator = header.firstIndex(of: ScoreColumn.simulator.rawValue)
        guard scorer != nil || simulator != nil else {
            throw EvaluationError.invalidRun(path: url.path, reason: "no column scorer (or simulator)")
        }
        let metricNames = ScorerKind.allCases.flatMap(\.metrics)
        let metricColumns = metricNames.compactMap { name in header.firstIndex(of: name).map { (name, $0) } }
        let optional: [ScoreColumn: Int] = Dictionary(
            uniqueKeysWithValues: [ScoreColumn.calibration, .explanation, .scoreNotes, .error].compactMap { name in
                header.firstIndex(of: name.rawValue).map { (name, $0) }
            })
        rows = try table.dropFirst().map { row in
            guard row.fields.count == header.count, let l = Int(row.fields[layer]), let n = Int(row.fields[neuron]),
                let state = EvaluationStatus(rawValue: row.fields[status])
            else {
                throw EvaluationError.invalidRun(path: url.path, reason: "line \(row.line) is malformed")
            }
            let name = scorer.map { row.fields[$0] } ?? "simulation:\(row.fields[simulator!])"
            guard let kind = ScorerKind(scorer: name) else {
                throw EvaluationError.invalidRun(
                    path: url.path, reason: "line \(row.line): unknown scorer \"\(name)\"")
            }
            guard kind.metrics.allSatisfy({ metric in metricColumns.contains { $0.0 == metric } }) else {
                throw EvaluationError.invalidRun(
                    path: url.path, reason: "line \(row.line): the columns of \(kind.rawValue) metrics are missing")
            }
            func text(_ name: ScoreColumn) -> String { optional[name].map { row.fields[$0] } ?? "" }
            var metrics: [String: Double] = [:]
            for (metric, index) in metricColumns where kind.metrics.contains(metric) {
                metrics[metric] = Double(row.fields[index]) ?? .nan
            }
            return Row(
                neuron: NeuronID(layer: l, neuron: n), explainer: row.fields[explainer], scorer: name,
                calibration: text(.calibration), status: state, explanation: CSV.unneutralised(text(.explanation)),
                metrics: metrics,
                notes: [text(.scoreNotes), CSV.unneutralised(text(.error))].filter { !$0.isEmpty }.joined(
                    separator: "; "))
        }
    }

    /// The explainer × scorer pairs in this run, in order of appearance.
    public var pairs: [EvaluationPair] { rows.distinctPairs(\.pair) }
}

/// Everything a finished run directory holds: its manifest, scores, exact explanation texts, simulations and
/// judgements.
public struct RunContents: Sendable {
    public let directory: String
    public let manifest: RunManifest
    public let scores: RunScores
    /// neuron → explainer → its explanation line.
    public let explanations: [NeuronID: [String: ExplanationLine]]
    /// neuron → its simulation rows.
    public let simulations: [NeuronID: [SimulationRow]]
    /// neuron → its judgement rows (detection, fuzzing, intruder).
    public let judgements: [NeuronID: [JudgementRow]]

    public init(directory: String) throws {
        self.directory = directory
        manifest = try Self.manifest(directory: directory)
        scores = try RunScores(directory: directory)
        var explanations: [NeuronID: [String: ExplanationLine]] = [:]
        for line in try Self.lines(
            ExplanationLine.self, of: Self.path(.explanations, directory), what: "an explanation row")
        {
            explanations[line.id, default: [:]][line.explainer] = line
        }
        self.explanations = explanations
        simulations = Dictionary(grouping: try Self.simulations(directory: directory), by: \.id)
        judgements = Dictionary(grouping: try Self.judgements(directory: directory), by: \.id)
    }

    static func path(_ file: RunFile, _ directory: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(file.rawValue).path
    }

    /// The run's manifest; throws unless the run finished.
    public static func manifest(directory: String) throws -> RunManifest {
        let path = path(.manifest, directory)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError.invalidRun(path: path, reason: "not found (is this an evaluation run directory?)")
        }
        // "complete" first: an unfinished run may have been written by another version, with other fields.
        struct Completion: Decodable { var complete: Bool? }
        guard (try? JSONDecoder().decode(Completion.self, from: data))?.complete == true else {
            throw EvaluationError.invalidRun(path: path, reason: "the run did not finish (no \"complete\": true)")
        }
        do { return try JSONDecoder().decode(RunManifest.self, from: data) } catch {
            throw EvaluationError.invalidRun(
                path: path, reason: "not a run manifest (\(DecodingFailure.describe(error)))")
        }
    }

    /// Every line of simulations.jsonl.gz.
    public static func simulations(directory: String) throws -> [SimulationRow] {
        try lines(SimulationRow.self, of: path(.simulations, directory), what: "a simulation row")
    }

    /// Every line of judgements.jsonl.gz (none for runs written before classification scorers existed).
    public static func judgements(directory: String) throws -> [JudgementRow] {
        let file = path(.judgements, directory)
        guard FileManager.default.fileExists(atPath: file) else { return [] }
        return try lines(JudgementRow.self, of: file, what: "a judgement row")
    }

    /// The JSON lines of a file (gzip-compressed if its name ends in .gz), each decoded as `type`.
    private static func lines<T: Decodable>(_ type: T.Type, of path: String, what: String) throws -> [T] {
        let bytes: [UInt8]
        if path.hasSuffix(".gz") {
            do { bytes = try GzipReader.contents(ofFile: path) } catch let error as SupportError {
                throw EvaluationError.invalidRun(path: path, reason: error.reason)
            }
        } else {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw EvaluationError.invalidRun(path: path, reason: "not found")
            }
            bytes = Array(data)
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var values: [T] = []
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: true).enumerated() {
            do { values.append(try decoder.decode(type, from: Data(line))) } catch {
                throw EvaluationError.invalidRun(
                    path: path, reason: "line \(index + 1) is not \(what) (\(error.localizedDescription))")
            }
        }
        return values
    }
}
