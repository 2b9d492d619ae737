import Support

/// Summary statistics of a set of scores (neurons whose headline correlation is defined).
public struct ScoreSummary: Sendable, Equatable {
    public var count: Int
    public var mean: Double
    public var median: Double
    /// Sample standard deviation (n − 1); NaN for fewer than 2 scores.
    public var standardDeviation: Double
    /// Percentile bootstrap 95% interval of the mean (2,000 resamples, seeded).
    public var confidenceLow: Double
    public var confidenceHigh: Double
    public var fractionAtLeastHalf: Double
    public var fractionAtLeast08: Double

    public init(_ scores: [Double], seed: UInt64 = 0) {
        count = scores.count
        guard !scores.isEmpty else {
            mean = .nan; median = .nan; standardDeviation = .nan; confidenceLow = .nan; confidenceHigh = .nan
            fractionAtLeastHalf = .nan; fractionAtLeast08 = .nan
            return
        }
        let n = Double(scores.count)
        mean = scores.reduce(0, +) / n
        let sorted = scores.sorted()
        median =
            sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let m = mean
        standardDeviation =
            scores.count > 1 ? (scores.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot() : .nan
        (confidenceLow, confidenceHigh) = Self.bootstrap(scores, seed: seed)
        fractionAtLeastHalf = Double(scores.filter { $0 >= 0.5 }.count) / n
        fractionAtLeast08 = Double(scores.filter { $0 >= 0.8 }.count) / n
    }

    /// The share of scores at or above `threshold`: 0.5 or 0.8, the two that summaries keep (NaN for any other).
    public func fraction(atLeast threshold: Double) -> Double {
        threshold == 0.5 ? fractionAtLeastHalf : threshold == 0.8 ? fractionAtLeast08 : .nan
    }

    /// The percentile bootstrap 95% interval of mean(b) − mean(a) for two independent samples (each resampled
    /// on its own): the unpaired comparison of two runs over different units.
    public static func differenceInterval(
        _ a: [Double], _ b: [Double], seed: UInt64 = 0, resamples: Int = 2_000
    )
        -> (Double, Double)
    {
        guard !a.isEmpty, !b.isEmpty else { return (.nan, .nan) }
        var generator = SplitMix64(seed: seed ^ 0xD1FF_B007)
        func resampledMean(_ values: [Double]) -> Double {
            var sum = 0.0
            for _ in values.indices { sum += values[Int(generator.next() % UInt64(values.count))] }
            return sum / Double(values.count)
        }
        var differences = (0..<resamples).map { _ in
            let x = resampledMean(a)
            return resampledMean(b) - x
        }
        differences.sort()
        return (
            differences[Int(0.025 * Double(resamples - 1))],
            differences[Int((0.975 * Double(resamples - 1)).rounded(.up))]
        )
    }

    /// The 2.5th and 97.5th percentiles of the means of 2,000 resamples with replacement.
    static func bootstrap(_ values: [Double], seed: UInt64, resamples: Int = 2_000) -> (Double, Double) {
        var generator = SplitMix64(seed: seed ^ 0xB007_57A9)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in values.indices {
                sum += values[Int(generator.next() % UInt64(values.count))]
            }
            means.append(sum / Double(values.count))
        }
        means.sort()
        return (means[Int(0.025 * Double(resamples - 1))], means[Int((0.975 * Double(resamples - 1)).rounded(.up))])
    }
}
