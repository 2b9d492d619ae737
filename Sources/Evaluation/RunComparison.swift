import ActivationStore
import Foundation

/// A paired comparison of two explainer × scorer results on the neurons both scored.
public struct PairedComparison: Sendable {
    public var a: String, b: String
    public var metric: String
    public var neurons: Int
    public var meanA, meanB, meanDifference, confidenceLow, confidenceHigh: Double
    public var winsA, winsB, ties: Int
    public var winRateA: Double

    public static let columns = [
        "a", "b", "metric", "neurons", "mean_a", "mean_b", "mean_difference", "ci95_low", "ci95_high",
        "a_wins", "b_wins", "ties", "a_win_rate",
    ]

    public var cells: [CSV.Cell] {
        [
            .text(a), .text(b), .text(metric), .integer(neurons), .number(meanA), .number(meanB),
            .number(meanDifference),
            .number(confidenceLow),
            .number(confidenceHigh), .integer(winsA), .integer(winsB), .integer(ties), .number(winRateA),
        ]
    }

    /// Every pair of run A against every pair of run B of the same scorer kind (simulation, detection, fuzzing),
    /// on `metric` (default: the kind's headline, correlation or balanced accuracy) over the neurons where both
    /// have it defined. With a metric named, every pair of A and B whose kind reports it.
    public static func compare(
        _ runA: RunScores, _ runB: RunScores, metric: String? = nil, seed: UInt64 = 0
    )
        -> [PairedComparison]
    {
        func scores(_ run: RunScores, _ pair: EvaluationPair, _ metric: String) -> [NeuronID: Double] {
            Dictionary(
                run.rows.filter { $0.pair == pair }.compactMap { row in row.defined(metric).map { (row.neuron, $0) } },
                uniquingKeysWith: { first, _ in first })
        }
        return runA.pairs.flatMap { pairA in
            runB.pairs.compactMap { pairB -> PairedComparison? in
                guard let kindA = pairA.kind, let kindB = pairB.kind else { return nil }
                let name: String
                if let metric {
                    guard kindA.metrics.contains(metric), kindB.metrics.contains(metric) else { return nil }
                    name = metric
                } else {
                    guard kindA == kindB else { return nil }
                    name = kindA.headline
                }
                let x = scores(runA, pairA, name), y = scores(runB, pairB, name)
                let shared = x.keys.filter { y[$0] != nil }.sorted()
                let differences = shared.map { x[$0]! - y[$0]! }
                let n = Double(shared.count)
                let (low, high) =
                    differences.isEmpty ? (Double.nan, Double.nan) : ScoreSummary.bootstrap(differences, seed: seed)
                let wins = differences.filter { $0 > 0 }.count, losses = differences.filter { $0 < 0 }.count
                return PairedComparison(
                    a: "\(runA.path): \(pairA)", b: "\(runB.path): \(pairB)", metric: name, neurons: shared.count,
                    meanA: shared.isEmpty ? .nan : shared.map { x[$0]! }.reduce(0, +) / n,
                    meanB: shared.isEmpty ? .nan : shared.map { y[$0]! }.reduce(0, +) / n,
                    meanDifference: shared.isEmpty ? .nan : differences.reduce(0, +) / n, confidenceLow: low,
                    confidenceHigh: high,
                    winsA: wins, winsB: losses, ties: shared.count - wins - losses,
                    winRateA: shared.isEmpty ? .nan : Double(wins) / n)
            }
        }
    }
}
