/// One explainer × simulator: the group a score row belongs to, and the unit of every summary.
public struct EvaluationPair: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var explainer: String
    public var simulator: String

    public init(explainer: String, simulator: String) {
        self.explainer = explainer
        self.simulator = simulator
    }

    /// "explainer / simulator", as tables and reports show it.
    public var description: String { "\(explainer) / \(simulator)" }

    /// Controls are named by their plug-ins: `shuffled(…)` and `constant…` explainers.
    public var isControl: Bool { explainer.hasPrefix("shuffled(") || explainer.hasPrefix("constant") }

    public static func < (a: EvaluationPair, b: EvaluationPair) -> Bool {
        (a.explainer, a.simulator) < (b.explainer, b.simulator)
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
