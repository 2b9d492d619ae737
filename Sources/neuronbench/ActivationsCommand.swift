import ArgumentParser
import Foundation
import GPT2

/// `neuronbench activations`: every MLP neuron's post-GELU value on every token of one text, like
/// TransformerLens' `run_with_cache` on `blocks.*.mlp.hook_post`.
struct ActivationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activations",
        abstract: "Print the MLP neuron activations of one text.",
        discussion: "Without --json, prints each token's most active neurons; with --json, every value.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var precision: PrecisionOption
    @Option(help: "Layers to record, e.g. 0,3-5 (default: all).")
    var layers: String?
    @Option(name: .customLong("layer"), help: .hidden)
    var singleLayers: [Int] = []
    @Option(help: "Comma-separated token ids to run instead of a text (no tokenizer needed).")
    var ids: String?
    @Flag(help: "Print {\"ids\", \"tokens\", \"layers\": {\"L\": [[token 0's neurons], ...]}}.")
    var json = false
    @Option(help: "Without --json: how many top neurons to show per token.")
    var top = 5
    @Argument(help: "The text to run (omit when --ids is given).")
    var text: String?

    func validate() throws {
        guard (ids == nil) != (text == nil) else { throw ValidationError("Give either a TEXT or --ids, not both.") }
        guard top > 0 else { throw ValidationError("--top must be positive.") }
        if let layers { _ = try parseLayers(layers) }
        guard singleLayers.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--layer must not be negative.") }
    }

    /// The layers asked for with --layers or the older, repeatable --layer; nil for all.
    func requestedLayers() throws -> [Int]? {
        let all = try (layers.map(parseLayers) ?? []) + singleLayers
        return all.isEmpty ? nil : Array(Set(all)).sorted()
    }

    struct Output: Encodable { let ids: [Int]; let tokens: [String]?; let layers: [String: [[Float]]] }

    func run() throws {
        try reportingErrors {
            let tokenIDs: [Int]
            var tokens: [String]?
            if let ids {
                tokenIDs = try ids.split(separator: ",").map { piece in
                    guard let id = Int(piece.trimmingCharacters(in: .whitespaces)) else {
                        throw ValidationError("--ids: \"\(piece)\" is not an integer")
                    }
                    return id
                }
                // Token strings are shown when a tokenizer is at hand; ids alone need none.
                if let tokenizer = try? options.loadTokenizer() { tokens = try? tokenizer.tokenStrings(tokenIDs) }
            } else {
                let tokenizer = try options.loadTokenizer()
                tokenIDs = tokenizer.encode(text ?? "")
                tokens = try tokenizer.tokenStrings(tokenIDs)
            }
            let requested = try requestedLayers()
            let model = try GPT2Model(
                directory: options.modelURL, layerCount: requested.map { ($0.max() ?? 0) + 1 },
                precision: precision.precision)
            var byLayer: [Int: [[Float]]] = [:]
            try model.forward([tokenIDs], layers: requested) { activations in
                let n = activations.neuronCount
                byLayer[activations.layer] = (0..<activations.tokenCount).map {
                    Array(activations.values[($0 * n)..<(($0 + 1) * n)])
                }
            }
            if json {
                try printJSON(
                    Output(
                        ids: tokenIDs, tokens: tokens,
                        layers: Dictionary(uniqueKeysWithValues: byLayer.map { (String($0.key), $0.value) })))
            } else {
                printTopNeurons(ids: tokenIDs, tokens: tokens, byLayer: byLayer)
            }
        }
    }

    private func printTopNeurons(ids: [Int], tokens: [String]?, byLayer: [Int: [[Float]]]) {
        for position in ids.indices {
            let label = tokens?[position].debugDescription ?? "#\(ids[position])"
            let candidates = byLayer.flatMap { layer, rows in
                rows[position].enumerated().map { (layer, $0.offset, $0.element) }
            }
            let best = candidates.sorted { ($0.2, -$0.0, -$0.1) > ($1.2, -$1.0, -$1.1) }.prefix(top)
            print(
                "\(position)\t\(label)\t"
                    + best.map { "L\($0.0)/N\($0.1)=\(String(format: "%.3f", $0.2))" }.joined(separator: "  "))
        }
    }
}
