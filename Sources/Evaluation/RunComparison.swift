import ActivationStore
import Foundation

/// A paired comparison of two explainer × simulator results on the neurons both scored.
public struct PairedComparison: Sendable {
    public var a: String, b: String
    public var neurons: Int
    public var meanA, meanB, meanDifference, confidenceLow, confidenceHigh: Double
    public var winsA, winsB, ties: Int
    public var winRateA: Double

    public static let columns = [
        "a", "b", "neurons", "mean_a", "mean_b", "mean_difference", "ci95_low", "ci95_high",
        "a_wins", "b_wins", "ties", "a_win_rate",
    ]

    public var cells: [CSV.Cell] {
        [
            .text(a), .text(b), .integer(neurons), .number(meanA), .number(meanB), .number(meanDifference),
            .number(confidenceLow),
            .number(confidenceHigh), .integer(winsA), .integer(winsB), .integer(ties), .number(winRateA),
        ]
    }

    /// Every pair of run A against every pair of run B, on neurons where both have a defined correlation.
    public static func compare(_ runA: RunScores, _ runB: RunScores, seed: UInt64 = 0) -> [PairedComparison] {
        func scores(_ run: RunScores, _ pair: EvaluationPair) -> [NeuronID: Double] {
            Dictionary(
                run.rows.filter { $0.pair == pair }.compactMap { row in row.definedCorrelation.map { (row.neuron, $0) }
                },
                uniquingKeysWith: { first, _ in first })
        }
        return runA.pairs.flatMap { pairA in
            runB.pairs.map { pairB -> PairedComparison in
                let x = scores(runA, pairA), y = scores(runB, pairB)
                let shared = x.keys.filter { y[$0] != nil }.sorted()
                let differences = shared.map { x[$0]! - y[$0]! }
                let n = Double(shared.count)
                let (low, high) =
                    differences.isEmpty ? (Double.nan, Double.nan) : ScoreSummary.bootstrap(differences, seed: seed)
                let wins = differences.filter { $0 > 0 }.count, losses = differences.filter { $0 < 0 }.count
                return PairedComparison(
                    a: "\(runA.path): \(pairA)", b: "\(runB.path): \(pairB)", neurons: shared.count,
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
