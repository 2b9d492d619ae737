import ActivationStore
import CZlib
import Foundation

/// The scores of an evaluation run directory, read back from its scores.csv (columns: Schemas/scores.md).
public struct RunScores: Sendable {
    public struct Row: Sendable {
        public var neuron: NeuronID
        public var explainer, simulator, calibration, status, explanation: String
        public var correlation, topCorrelation, randomCorrelation, rSquared: Double
        /// Why a score is NaN, or for failed and missing rows what went wrong.
        public var notes: String

        /// "explainer / simulator": the group a row belongs to.
        public var pair: String { "\(explainer) / \(simulator)" }
    }
    public let path: String
    public let rows: [Row]

    public init(directory: String) throws {
        let url = URL(fileURLWithPath: directory).appendingPathComponent("scores.csv")
        path = directory
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw EvaluationError.invalidRun(path: url.path, reason: "not found or not UTF-8 (is this a finished `neuronbench evaluate` run?)")
        }
        let table: [(line: Int, fields: [String])]
        do { table = try CSV.parse(text) } catch let error as CSV.CSVError {
            throw EvaluationError.invalidRun(path: url.path, reason: "line \(error.line): \(error.reason)")
        }
        guard let header = table.first?.fields else { throw EvaluationError.invalidRun(path: url.path, reason: "empty file") }
        func column(_ name: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else { throw EvaluationError.invalidRun(path: url.path, reason: "no column \(name)") }
            return index
        }
        let (layer, neuron, explainer, simulator, status, correlation) =
            (try column("layer"), try column("neuron"), try column("explainer"), try column("simulator"), try column("status"), try column("correlation"))
        let optional = ["calibration", "explanation", "top_correlation", "random_correlation", "r_squared", "score_notes", "error"]
            .map { header.firstIndex(of: $0) }
        rows = try table.dropFirst().map { row in
            guard row.fields.count == header.count, let l = Int(row.fields[layer]), let n = Int(row.fields[neuron]) else {
                throw EvaluationError.invalidRun(path: url.path, reason: "line \(row.line) is malformed")
            }
            func text(_ i: Int) -> String { optional[i].map { row.fields[$0] } ?? "" }
            // CSV neutralises formula-like text with a leading "'"; undo it for display.
            func unneutralised(_ s: String) -> String {
                s.hasPrefix("'") && s.dropFirst().first.map { "=+-@\t\r".contains($0) } == true ? String(s.dropFirst()) : s
            }
            return Row(neuron: NeuronID(layer: l, neuron: n), explainer: row.fields[explainer], simulator: row.fields[simulator],
                       calibration: text(0), status: row.fields[status], explanation: unneutralised(text(1)),
                       correlation: Double(row.fields[correlation]) ?? .nan, topCorrelation: Double(text(2)) ?? .nan,
                       randomCorrelation: Double(text(3)) ?? .nan, rSquared: Double(text(4)) ?? .nan,
                       notes: [text(5), unneutralised(text(6))].filter { !$0.isEmpty }.joined(separator: "; "))
        }
    }

    /// The (explainer, simulator) pairs in this run, in order of appearance.
    public var pairs: [String] {
        var seen: [String] = []
        for row in rows where !seen.contains(row.pair) { seen.append(row.pair) }
        return seen
    }
}

/// One scored neuron × explainer × simulator from simulations.jsonl.gz: per record, the simulator's values and,
/// for scored records, the true activations.
public struct SimulationRow: Sendable, Decodable {
    public struct Record: Sendable, Decodable {
        public var role: String
        public var excerptID: Int
        public var simulated: [Float?]
        public var actual: [Float?]?
        public var calibrated: [Float?]?
        enum CodingKeys: String, CodingKey { case role, excerptID = "excerpt_id", simulated, actual, calibrated }
    }
    public var layer: Int
    public var neuron: Int
    public var explainer: String
    public var simulator: String
    public var records: [Record]

    public var id: NeuronID { NeuronID(layer: layer, neuron: neuron) }

    /// Every line of `directory`/simulations.jsonl.gz.
    public static func readAll(directory: String) throws -> [SimulationRow] {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("simulations.jsonl.gz").path
        let bytes = try gunzip(path: path)
        let decoder = JSONDecoder()
        var rows: [SimulationRow] = []
        var lineNumber = 0
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            lineNumber += 1
            do { rows.append(try decoder.decode(SimulationRow.self, from: Data(line))) } catch {
                throw EvaluationError.invalidRun(path: path, reason: "line \(lineNumber) is not a simulation row (\(error.localizedDescription))")
            }
        }
        return rows
    }
}

/// The whole decompressed content of a gzip file, with truncation reported.
func gunzip(path: String) throws -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path), let file = gzopen(path, "rb") else {
        throw EvaluationError.invalidRun(path: path, reason: "not found (is this a finished `neuronbench evaluate` run?)")
    }
    defer { gzclose(file) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let count = gzread(file, &chunk, UInt32(chunk.count))
        var code: Int32 = 0
        if count < 0 {
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "gzip error"
            throw EvaluationError.invalidRun(path: path, reason: "\(message) (truncated or not gzip?)")
        }
        if count == 0 {
            _ = gzerror(file, &code)
            if code == Z_BUF_ERROR { throw EvaluationError.invalidRun(path: path, reason: "the gzip stream ends early (truncated file)") }
            return out
        }
        out += chunk.prefix(Int(count))
    }
}
