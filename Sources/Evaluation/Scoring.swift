/// A score, or the reason it is undefined. Undefined scores are written as NaN with the reason beside them and
/// are never averaged as 0.
public enum Score: Equatable, Sendable {
    case value(Double)
    case undefined(String)

    public var value: Double? { if case let .value(v) = self { return v } else { return nil } }
    /// The value, or NaN.
    public var number: Double { value ?? .nan }
    public var reason: String? { if case let .undefined(r) = self { return r } else { return nil } }
}

/// OpenAI's scores for one explanation (method.md §5). The headline is `correlation`: over the scored top and
/// random records' tokens pooled together.
public struct ScoreSet: Equatable, Sendable {
    public var correlation: Score
    public var topCorrelation: Score
    public var randomCorrelation: Score
    public var rSquared: Score
    public var absoluteDeviationExplained: Score

    /// The scores by column name, in column order.
    public var named: [(name: String, score: Score)] {
        [
            ("correlation", correlation), ("top_correlation", topCorrelation),
            ("random_correlation", randomCorrelation), ("r_squared", rSquared),
            ("absolute_dev_explained", absoluteDeviationExplained),
        ]
    }

    public static let metricNames = [
        "correlation", "top_correlation", "random_correlation", "r_squared", "absolute_dev_explained",
    ]

    /// The reasons of the undefined scores, "name: reason; …".
    public var notes: String {
        named.compactMap { metric in metric.score.reason.map { "\(metric.name): \($0)" } }.joined(separator: "; ")
    }
}

/// The scoring functions, over true activations `a` and simulated (calibrated) activations `s`, token by token.
public enum Scoring {
    /// Pearson correlation; undefined when fewer than 2 tokens or when either side is constant.
    public static func correlation(_ a: [Double], _ s: [Double]) -> Score {
        guard a.count == s.count else { return .undefined("\(a.count) true values but \(s.count) simulated") }
        guard a.count >= 2 else { return .undefined("fewer than 2 tokens") }
        let n = Double(a.count)
        let meanA = a.reduce(0, +) / n, meanS = s.reduce(0, +) / n
        var covariance = 0.0, varianceA = 0.0, varianceS = 0.0
        for (x, y) in zip(a, s) {
            covariance += (x - meanA) * (y - meanS)
            varianceA += (x - meanA) * (x - meanA)
            varianceS += (y - meanS) * (y - meanS)
        }
        if varianceA == 0 { return .undefined("true activations are constant") }
        if varianceS == 0 { return .undefined("simulated activations are constant") }
        return .value(covariance / (varianceA * varianceS).squareRoot())
    }

    /// 1 − mean((a − s)²) / mean(a²): OpenAI's uncentred R².
    public static func rSquared(_ a: [Double], _ s: [Double]) -> Score {
        guard a.count == s.count, !a.isEmpty else { return .undefined("no tokens") }
        let meanSquare = a.map { $0 * $0 }.reduce(0, +)
        guard meanSquare > 0 else { return .undefined("true activations are all 0") }
        return .value(1 - zip(a, s).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / meanSquare)
    }

    /// 1 − mean|a − s| / mean|a|.
    public static func absoluteDeviationExplained(_ a: [Double], _ s: [Double]) -> Score {
        guard a.count == s.count, !a.isEmpty else { return .undefined("no tokens") }
        let meanAbsolute = a.map { abs($0) }.reduce(0, +)
        guard meanAbsolute > 0 else { return .undefined("true activations are all 0") }
        return .value(1 - zip(a, s).map { abs($0 - $1) }.reduce(0, +) / meanAbsolute)
    }

    /// All scores of one explanation from its scored records: (true, simulated) per record.
    public static func scores(top: [([Double], [Double])], random: [([Double], [Double])]) -> ScoreSet {
        func pool(_ pairs: [([Double], [Double])]) -> ([Double], [Double]) { (pairs.flatMap(\.0), pairs.flatMap(\.1)) }
        let (a, s) = pool(top + random)
        let (topA, topS) = pool(top), (randomA, randomS) = pool(random)
        return ScoreSet(
            correlation: correlation(a, s), topCorrelation: correlation(topA, topS),
            randomCorrelation: correlation(randomA, randomS), rSquared: rSquared(a, s),
            absoluteDeviationExplained: absoluteDeviationExplained(a, s))
    }
}
