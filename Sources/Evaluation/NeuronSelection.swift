import ActivationStore

/// Parses `--neurons`: comma-separated items, each `all`, a layer `3`, a layer range `2-4`, a neuron `3:17`, a
/// neuron range `3:100-199`, or `random:N` (N neurons drawn with the seed from what the other items select, or
/// from all neurons if there is no other item). The result is sorted and free of duplicates.
public enum NeuronSelection {
    public static func select(_ specification: String?, from available: [NeuronID], seed: UInt64) throws -> [NeuronID] {
        guard let specification else { return available.sorted() }
        // An empty selection is a mistake (an unset shell variable), not "all": "all" is spelt out.
        guard !specification.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw EvaluationError.invalidSpecification("neuron selection is empty; write all for every neuron")
        }
        var chosen = Set<NeuronID>()
        var randomCount: Int?
        var hasItems = false
        func range(_ text: Substring) throws -> ClosedRange<Int> {
            let bounds = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(bounds.count), let low = bounds[0], let high = bounds[bounds.count - 1], low <= high
            else {
                throw EvaluationError.invalidSpecification(
                    "neuron selection: \"\(text)\" is not a number or a range like 2-4")
            }
            return low...high
        }
        for item in specification.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if item == "all" {
                hasItems = true; chosen.formUnion(available)
            } else if item.hasPrefix("random:") {
                guard let n = Int(item.dropFirst("random:".count)), n > 0 else {
                    throw EvaluationError.invalidSpecification(
                        "neuron selection: \"\(item)\" needs a positive whole number of neurons (digits only), e.g. random:100"
                    )
                }
                randomCount = n
            } else if let colon = item.firstIndex(of: ":") {
                hasItems = true
                guard let layer = Int(item[..<colon]) else {
                    throw EvaluationError.invalidSpecification("neuron selection: \"\(item)\" is not LAYER:NEURON")
                }
                let neurons = try range(item[item.index(after: colon)...])
                chosen.formUnion(available.filter { $0.layer == layer && neurons.contains($0.neuron) })
            } else {
                hasItems = true
                let layers = try range(Substring(item))
                chosen.formUnion(available.filter { layers.contains($0.layer) })
            }
        }
        var result = (hasItems ? Array(chosen) : available).sorted()
        if let randomCount {
            // The `randomCount` neurons with the smallest seeded hash: a sample that is stable as N grows.
            result = result.sorted {
                (SampleHash.key(seed: seed, stream: .neurons, layer: $0.layer, neuron: $0.neuron, excerpt: 0), $0)
                    < (SampleHash.key(seed: seed, stream: .neurons, layer: $1.layer, neuron: $1.neuron, excerpt: 0), $1)
            }.prefix(randomCount).sorted()
        }
        guard !result.isEmpty else {
            throw EvaluationError.invalidSpecification(
                "neuron selection \(specification) selects no neuron in this database")
        }
        return result
    }
}
