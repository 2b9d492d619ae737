/// What a database's units are (metadata "source"): the MLP neurons of the recorded layers, or the latents of one
/// sparse autoencoder per recorded layer. One database holds one source; it is part of the database's identity,
/// so resume and merge never mix two. Units are addressed "L:I" either way: neuron I of layer L, or latent I of
/// layer L's SAE. A schema-version-1 database (written before sources existed) is `neurons`.
public struct UnitSource: Codable, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        /// Post-GELU MLP activations (`blocks.L.mlp.hook_post`).
        case neurons
        /// Latents of SAELens-format SAEs (`saes`, one per layer).
        case saeLatents = "sae_latents"
    }

    public var kind: Kind
    /// Each context was read with GPT-2's `<|endoftext|>` before its first token (never a record token, never
    /// counted in statistics).
    public var prependBOS: Bool
    /// The SAE of each recorded layer, in layer order (empty for neurons).
    public var saes: [StoredSAE]

    private enum CodingKeys: String, CodingKey {
        case kind, prependBOS = "prepend_bos", saes
    }

    public init(kind: Kind, prependBOS: Bool, saes: [StoredSAE]) {
        self.kind = kind
        self.prependBOS = prependBOS
        self.saes = saes
    }

    /// Today's and every schema-v1 database's source.
    public static let neurons = UnitSource(kind: .neurons, prependBOS: false, saes: [])

    /// What resume and merge compare: everything but where the SAE files were read from.
    public var identity: UnitSource {
        var copy = self
        for i in copy.saes.indices { copy.saes[i].directory = "" }
        return copy
    }

    /// The SAE of `layer`, if this is an SAE source that records it.
    public func sae(layer: Int) -> StoredSAE? { saes.first { $0.layer == layer } }

    /// "MLP neurons" or "SAE latents of blocks.6.hook_resid_pre (standard, 24,576 latents), …", with BOS.
    public var description: String {
        let bos = prependBOS ? ", BOS prepended" : ""
        switch kind {
        case .neurons: return "MLP neurons (blocks.L.mlp.hook_post)\(bos)"
        case .saeLatents: return "SAE latents of " + saes.map(\.description).joined(separator: "; ") + bos
        }
    }
}

/// One SAE as a database records it: what it reads, how it encodes, and the SHA-256 of its two files, so that a
/// resume or merge with another SAE (even one with the same name) is refused.
public struct StoredSAE: Codable, Equatable, Sendable, CustomStringConvertible {
    public var layer: Int
    /// TransformerLens hook name, e.g. `blocks.6.hook_resid_pre`.
    public var hook: String
    /// "standard", "topk" or "jumprelu".
    public var architecture: String
    public var inputWidth: Int
    public var latentCount: Int
    public var k: Int?
    /// Inputs centred per token before encoding (`center_writing_weights`, or `--sae-center`).
    public var centred: Bool
    /// `cfg.json` as it was read.
    public var config: String
    public var configSHA256: String
    public var weightsSHA256: String
    /// Where it was read from (informative; not part of the identity).
    public var directory: String

    private enum CodingKeys: String, CodingKey {
        case layer, hook, architecture, inputWidth = "d_in", latentCount = "d_sae", k, centred, config
        case configSHA256 = "cfg_sha256", weightsSHA256 = "weights_sha256", directory
    }

    public init(
        layer: Int, hook: String, architecture: String, inputWidth: Int, latentCount: Int, k: Int?, centred: Bool,
        config: String, configSHA256: String, weightsSHA256: String, directory: String
    ) {
        self.layer = layer
        self.hook = hook
        self.architecture = architecture
        self.inputWidth = inputWidth
        self.latentCount = latentCount
        self.k = k
        self.centred = centred
        self.config = config
        self.configSHA256 = configSHA256
        self.weightsSHA256 = weightsSHA256
        self.directory = directory
    }

    public var description: String {
        "\(hook) (\(architecture)\(k.map { " k=\($0)" } ?? ""), \(latentCount.formatted()) latents"
            + (centred ? ", centred" : "") + ")"
    }
}
