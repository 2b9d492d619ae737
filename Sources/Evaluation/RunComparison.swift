import ActivationStore
import Foundation

/// The scores of an evaluation run directory, read back from its scores.csv.
public struct RunScores: Sendable {
    public struct Row: Sendable { public var neuron: NeuronID; public var explainer, simulator, status: String; public var correlation: Double }
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
        rows = try table.dropFirst().map { row in
            guard row.fields.count == header.count, let l = Int(row.fields[layer]), let n = Int(row.fields[neuron]) else {
                throw EvaluationError.invalidRun(path: url.path, reason: "line \(row.line) is malformed")
            }
            return Row(neuron: NeuronID(layer: l, neuron: n), explainer: row.fields[explainer], simulator: row.fields[simulator],
                       status: row.fields[status], correlation: Double(row.fields[correlation]) ?? .nan)
        }
    }

    /// The (explainer, simulator) pairs in this run, in order of appearance.
    public var pairs: [String] {
        var seen: [String] = []
        for row in rows where !seen.contains("\(row.explainer) / \(row.simulator)") { seen.append("\(row.explainer) / \(row.simulator)") }
        return seen
    }
}

/// A paired comparison of two explainer × simulator results on the neurons both scored.
public struct PairedComparison: Sendable {
    public var a: String, b: String
    public var neurons: Int
    public var meanA, meanB, meanDifference, confidenceLow, confidenceHigh: Double
    public var winsA, winsB, ties: Int
    public var winRateA: Double

    public static let columns = ["a", "b", "neurons", "mean_a", "mean_b", "mean_difference", "ci95_low", "ci95_high",
                                 "a_wins", "b_wins", "ties", "a_win_rate"]

    public var cells: [CSV.Cell] {
        [.text(a), .text(b), .integer(neurons), .number(meanA), .number(meanB), .number(meanDifference), .number(confidenceLow),
         .number(confidenceHigh), .integer(winsA), .integer(winsB), .integer(ties), .number(winRateA)]
    }

    /// Every pair of run A against every pair of run B, on neurons where both have a defined correlation.
    public static func compare(_ runA: RunScores, _ runB: RunScores, seed: UInt64 = 0) -> [PairedComparison] {
        func scores(_ run: RunScores, _ pair: String) -> [NeuronID: Double] {
            Dictionary(run.rows.filter { "\($0.explainer) / \($0.simulator)" == pair && $0.status == "ok" && !$0.correlation.isNaN }
                .map { ($0.neuron, $0.correlation) }, uniquingKeysWith: { first, _ in first })
        }
        return runA.pairs.flatMap { pairA in
            runB.pairs.map { pairB -> PairedComparison in
                let x = scores(runA, pairA), y = scores(runB, pairB)
                let shared = x.keys.filter { y[$0] != nil }.sorted()
                let differences = shared.map { x[$0]! - y[$0]! }
                let n = Double(shared.count)
                let (low, high) = differences.isEmpty ? (Double.nan, Double.nan) : ScoreSummary.bootstrap(differences, seed: seed)
                let wins = differences.filter { $0 > 0 }.count, losses = differences.filter { $0 < 0 }.count
                return PairedComparison(
                    a: "\(runA.path): \(pairA)", b: "\(runB.path): \(pairB)", neurons: shared.count,
                    meanA: shared.isEmpty ? .nan : shared.map { x[$0]! }.reduce(0, +) / n,
                    meanB: shared.isEmpty ? .nan : shared.map { y[$0]! }.reduce(0, +) / n,
                    meanDifference: shared.isEmpty ? .nan : differences.reduce(0, +) / n, confidenceLow: low, confidenceHigh: high,
                    winsA: wins, winsB: losses, ties: shared.count - wins - losses,
                    winRateA: shared.isEmpty ? .nan : Double(wins) / n)
            }
        }
    }
}
