import ActivationStore
import Support

/// Control: every neuron gets another neuron's explanation from `base` (a seeded derangement), which shows what a
/// score looks like when the explanation is about some neuron, just not this one.
public struct ShuffledExplainer: Explainer {
    public let base: any Explainer
    public let seed: UInt64
    public var name: String { "shuffled(\(base.name))" }

    public init(base: any Explainer, seed: UInt64) {
        self.base = base
        self.seed = seed
    }

    public func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>] {
        var results = await base.explain(requests)
        let explained = results.indices.filter { if case .success = results[$0] { return true } else { return false } }
        guard explained.count >= 2 else {
            return results.map { _ in .failure(.explainerFailed("shuffling needs at least two explained neurons")) }
        }
        let order = Self.derangement(explained.count, seed: seed)
        let original = results
        for (position, index) in explained.enumerated() { results[index] = original[explained[order[position]]] }
        return results
    }

    /// A seeded permutation of 0..<n with no fixed point (Sattolo's algorithm: a single n-cycle).
    static func derangement(_ n: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<n)
        // Started one step in: the sequence every earlier run of the control used.
        var generator = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15)
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i))
            order.swapAt(i, j)
        }
        return order
    }
}

/// Control: one explanation for every neuron. With no text, the token-list explanation of all neurons' training
/// records pooled (each neuron's activations scaled by its own maximum): what "generically active tokens" score.
public struct ConstantExplainer: Explainer {
    public let text: String?
    public var name: String { text.map { "constant:\($0)" } ?? "constant" }

    public init(text: String? = nil) { self.text = text }

    public func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>] {
        if let text { return requests.map { _ in .success(text) } }
        let pooled = requests.flatMap { request -> [ActivationRecord] in
            let peak = request.records.map(\.maxActivation).max() ?? 0
            guard peak > 0 else { return [] }
            return request.records.map {
                ActivationRecord(
                    excerptID: $0.excerptID, tokens: $0.tokens, activations: $0.activations.map { $0 / peak })
            }
        }
        guard let explanation = TokenListExplainer().explanation(for: pooled) else {
            return requests.map { _ in
                .failure(.explainerFailed("no token has a positive mean activation across neurons"))
            }
        }
        return requests.map { _ in .success(explanation) }
    }
}
