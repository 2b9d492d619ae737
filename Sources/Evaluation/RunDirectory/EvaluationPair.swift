/// One explainer × scorer: the group a score row belongs to, and the unit of every summary.
public struct EvaluationPair: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var explainer: String
    /// `simulation:SIMULATOR`, `detection:JUDGE` or `fuzzing:JUDGE`.
    public var scorer: String

    public init(explainer: String, scorer: String) {
        self.explainer = explainer
        self.scorer = scorer
    }

    /// "explainer / scorer", as tables and reports show it.
    public var description: String { "\(explainer) / \(scorer)" }

    /// Controls are named by their plug-ins: `shuffled(…)` and `constant…` explainers.
    public var isControl: Bool { explainer.hasPrefix("shuffled(") || explainer.hasPrefix("constant") }

    public var kind: ScorerKind? { ScorerKind(scorer: scorer) }

    /// The simulator of a simulation scorer (`simulation:keyword` → `keyword`).
    public var simulator: String? {
        kind == .simulation ? String(scorer.drop { $0 != ":" }.dropFirst()) : nil
    }

    public static func < (a: EvaluationPair, b: EvaluationPair) -> Bool {
        (a.explainer, a.scorer) < (b.explainer, b.scorer)
    }
}

extension Sequence {
    /// The distinct pairs of `elements` in order of first appearance.
    func distinctPairs(_ pair: (Element) -> EvaluationPair) -> [EvaluationPair] {
        var seen = Set<EvaluationPair>(), order: [EvaluationPair] = []
        for element in self where seen.insert(pair(element)).inserted { order.append(pair(element)) }
        return order
    }
}
