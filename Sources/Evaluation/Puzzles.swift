import ActivationStore

/// Synthetic neurons with known rules, planted over real corpus excerpts: a check of which rules an explainer and
/// scorer can recover. A planted neuron is 1 on the tokens its rule selects and 0 elsewhere (the noise neuron is
/// seeded sparse noise), and gets records the way the precompute chooses them: the top excerpts by maximum (ties to
/// the lower excerpt id), a random sample by seeded hash and the bottom excerpts by minimum, as many of each as the
/// precompute keeps by default.
public struct Puzzle: Sendable {
    public var name: String
    /// The rule in words: what a perfect explanation would say.
    public var rule: String
    let activate: @Sendable (_ tokens: [String], _ excerptID: Int) -> [Float]

    /// The standard set, with words chosen from the excerpts by frequency among lower-case word tokens of 3+
    /// letters (so that no capitalised form of the same word confuses a case-insensitive reader): the 11th most
    /// frequent word; the 4th, 6th and 8th; the word after the most frequent one; numbers; capitalised words; noise.
    public static func standard(excerpts: [(id: Int, tokens: [String])], seed: UInt64) -> [Puzzle] {
        var frequency: [String: Int] = [:]
        for excerpt in excerpts {
            for token in excerpt.tokens
            where token.hasPrefix(" ") && token.count >= 4 && token.dropFirst().allSatisfy(\.isLowercase) {
                frequency[token, default: 0] += 1
            }
        }
        let ranked = frequency.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key)
        func word(_ rank: Int) -> String { ranked.isEmpty ? " the" : ranked[min(rank, ranked.count - 1)] }
        let single = word(10), set = [word(3), word(5), word(7)], previous = word(0)
        func rule(_ matches: @escaping @Sendable ([String], Int) -> Bool) -> @Sendable ([String], Int) -> [Float] {
            { tokens, _ in tokens.indices.map { matches(tokens, $0) ? 1 : 0 } }
        }
        return [
            Puzzle(
                name: "single-token", rule: "the token \(TokenText.quote(TokenText.display(single)))",
                activate: rule { tokens, i in tokens[i] == single }),
            Puzzle(
                name: "token-set",
                rule: "the tokens " + set.map { TokenText.quote(TokenText.display($0)) }.joined(separator: ", "),
                activate: rule { tokens, i in set.contains(tokens[i]) }),
            Puzzle(
                name: "after-token", rule: "the token after \(TokenText.quote(TokenText.display(previous)))",
                activate: rule { tokens, i in i > 0 && tokens[i - 1] == previous }),
            Puzzle(
                name: "numbers", rule: "numbers (tokens made of digits)",
                activate: rule { tokens, i in
                    let t = tokens[i].trimmingCharacters(in: .whitespaces)
                    return !t.isEmpty && t.allSatisfy(\.isNumber)
                }),
            Puzzle(
                name: "capitalised", rule: "capitalised words",
                activate: rule { tokens, i in tokens[i].trimmingCharacters(in: .whitespaces).first?.isUppercase ?? false
                }),
            // Sparse, so that some excerpts are silent and detection and fuzzing have negatives: a score near
            // chance (0 for correlation, 0.5 for balanced accuracy) is the right answer.
            Puzzle(
                name: "noise", rule: "nothing: a random 1 in 64 tokens, with a uniform random value",
                activate: { tokens, excerpt in
                    tokens.indices.map {
                        let u =
                            SampleHash.key(seed: seed, stream: .random, layer: 99, neuron: $0, excerpt: excerpt)
                            / 9007199254740992
                        return u < 1.0 / 64 ? Float(u * 64) : 0
                    }
                }),
        ]
    }

    /// The planted neuron's record over `excerpts`, as neuron `index` of layer 0.
    public func record(
        index: Int, excerpts: [(id: Int, tokens: [String])], top: Int = 50, random: Int = 50, bottom: Int = 50,
        seed: UInt64
    ) -> NeuronRecord {
        let all = excerpts.map {
            ActivationRecord(excerptID: $0.id, tokens: $0.tokens, activations: activate($0.tokens, $0.id))
        }
        let maxima = all.map(\.maxActivation)
        let topRecords = all.indices.sorted { (-maxima[$0], all[$0].excerptID) < (-maxima[$1], all[$1].excerptID) }
            .prefix(top).map { all[$0] }
        func key(_ r: ActivationRecord) -> Double {
            SampleHash.key(seed: seed, stream: .random, layer: 0, neuron: index, excerpt: r.excerptID)
        }
        let randomRecords = all.sorted { (key($0), $0.excerptID) < (key($1), $1.excerptID) }.prefix(random)
        let minima = all.map { $0.activations.min() ?? 0 }
        let bottomRecords = all.indices.sorted { (minima[$0], all[$0].excerptID) < (minima[$1], all[$1].excerptID) }
            .prefix(bottom).map { all[$0] }
        return NeuronRecord(
            id: NeuronID(layer: 0, neuron: index), mostPositive: Array(topRecords), random: Array(randomRecords),
            mostNegative: Array(bottomRecords))
    }
}
