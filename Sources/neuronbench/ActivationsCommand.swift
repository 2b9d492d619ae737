import ArgumentParser
import Foundation
import GPT2
import SAE

/// `neuronbench activations`: every MLP neuron's post-GELU value on every token of one text, like
/// TransformerLens' `run_with_cache` on `blocks.*.mlp.hook_post`.
struct ActivationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activations",
        abstract: "Print the MLP neuron activations (or an SAE's latents) of one text.",
        discussion:
            "Without --json, prints each token's most active neurons or latents; with --json, every value. With --sae, the SAEs' latents at their hook points instead of the neurons, with L0 and variance explained."
    )

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
    @OptionGroup var saeOptions: SAEOptions
    @Argument(help: "The text to run (omit when --ids is given).")
    var text: String?

    func validate() throws {
        guard (ids == nil) != (text == nil) else { throw ValidationError("Give either a TEXT or --ids, not both.") }
        guard top > 0 else { throw ValidationError("--top must be positive.") }
        if let layers { _ = try parseLayers(layers) }
        guard singleLayers.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--layer must not be negative.") }
        guard saeOptions.sae.isEmpty || (layers == nil && singleLayers.isEmpty) else {
            throw ValidationError("--sae reads each SAE's own hook point; leave out --layers.")
        }
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
            if !saeOptions.sae.isEmpty {
                try runSAEs(tokenIDs, tokens)
                return
            }
            let requested = try requestedLayers()
            let model = try GPT2Model(
                directory: options.modelURL, layerCount: requested.map { ($0.max() ?? 0) + 1 },
                precision: precision.precision, blas: precision.blas)
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

    struct SAEOutput: Encodable {
        struct Reconstruction: Encodable {
            let directory: String
            let centred: Bool
            let l0: Double
            let varianceExplained: Double?
            enum CodingKeys: String, CodingKey {
                case directory, centred, l0, varianceExplained = "variance_explained"
            }
        }
        let ids: [Int]
        let tokens: [String]?
        /// hook name → [[token 0's latents], …], as `layers` holds neurons.
        let latents: [String: [[Float]]]
        let reconstruction: [String: Reconstruction]
    }

    /// Each SAE's latents at its hook point, with L0 and the variance of its input that decode(encode(x)) explains.
    private func runSAEs(_ tokenIDs: [Int], _ tokens: [String]?) throws {
        let saes = try saeOptions.sae.map {
            try SparseAutoencoder(directory: $0, centering: saeOptions.centering, blas: precision.blas)
        }
        for hook in Dictionary(grouping: saes, by: \.config.hook) where hook.value.count > 1 {
            throw ValidationError("two --sae read \(hook.key); give each hook one SAE.")
        }
        // GPT-2's BOS is <|endoftext|>; the text runs as given, so say when an SAE expects it first.
        for sae in saes where sae.config.prependBOS == true && tokenIDs.first != 50256 {
            warn(
                "\(sae.directory) was trained on contexts that start with <|endoftext|> (metadata.prepend_bos); this input does not (give --ids 50256,… to add it)"
            )
        }
        let model = try GPT2Model(
            directory: options.modelURL, layerCount: (saes.map(\.config.hook.layer).max() ?? 0) + 1,
            precision: precision.precision, blas: precision.blas)
        for sae in saes where sae.config.hook.layer >= model.config.layerCount {
            throw SAEError.wrongHook(
                path: sae.directory,
                reason:
                    "it reads \(sae.config.hook), but the model has \(model.config.layerCount) layers (0–\(model.config.layerCount - 1))"
            )
        }
        var latents: [String: [[Float]]] = [:], reconstruction: [String: SAEOutput.Reconstruction] = [:]
        var top: [(name: String, rows: [[Float]])] = []
        try model.forward([tokenIDs], hooks: Set(saes.map(\.config.hook))) { hooked in
            let sae = saes.first { $0.config.hook == hooked.hook }!
            try sae.check(width: hooked.width)
            let x = Array(hooked.values), rows = hooked.tokenCount, n = sae.config.latentCount
            let f = sae.encode(x, rows: rows)
            let stats = sae.reconstruction(x, latents: f, rows: rows)
            let name = hooked.hook.description
            latents[name] = (0..<rows).map { Array(f[($0 * n)..<(($0 + 1) * n)]) }
            top.append((name, latents[name]!))
            reconstruction[name] = .init(
                directory: sae.directory, centred: sae.centering, l0: stats.l0,
                varianceExplained: stats.varianceExplained.isFinite ? stats.varianceExplained : nil)
        }
        if json {
            try printJSON(SAEOutput(ids: tokenIDs, tokens: tokens, latents: latents, reconstruction: reconstruction))
            return
        }
        for position in tokenIDs.indices {
            let label = tokens?[position].debugDescription ?? "#\(tokenIDs[position])"
            let candidates = top.flatMap { sae in
                sae.rows[position].enumerated().filter { $0.element != 0 }.map { (sae.name, $0.offset, $0.element) }
            }
            let best = candidates.sorted { ($0.2, $1.0, -$0.1) > ($1.2, $0.0, -$1.1) }.prefix(self.top)
            print(
                "\(position)\t\(label)\t"
                    + best.map { "\($0.0)/F\($0.1)=\(String(format: "%.3f", $0.2))" }.joined(separator: "  "))
        }
        for (name, stats) in reconstruction.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(
                Data(
                    (String(
                        format: "%@ (%@%@): L0 %.1f latents per token, variance explained %.3f\n", name,
                        stats.directory,
                        stats.centred ? ", centred" : "", stats.l0, stats.varianceExplained ?? .nan)).utf8))
        }
    }
}
