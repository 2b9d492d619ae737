/// A place in the forward pass whose vectors can be tapped, named as TransformerLens names it
/// (`blocks.3.hook_resid_pre`), which is how SAEs say what they read.
public struct HookPoint: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The sites of one block, in the order the forward pass reaches them.
    public enum Site: String, CaseIterable, Sendable {
        /// The residual stream entering the block (the embeddings for block 0).
        case residPre = "hook_resid_pre"
        /// After the block's attention output has been added.
        case residMid = "hook_resid_mid"
        /// The post-GELU MLP activations: the neurons.
        case mlpPost = "mlp.hook_post"
        /// The MLP's output (c_proj), before it is added.
        case mlpOut = "hook_mlp_out"
        /// After the MLP output has been added (= `hook_resid_pre` of the next block).
        case residPost = "hook_resid_post"
    }

    public let layer: Int
    public let site: Site

    public init(layer: Int, site: Site) {
        self.layer = layer
        self.site = site
    }

    /// Parses `blocks.L.SITE`; nil for any other name.
    public init?(name: String) {
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "blocks", let layer = Int(parts[1]), layer >= 0,
            let site = Site(rawValue: parts[2])
        else { return nil }
        self.init(layer: layer, site: site)
    }

    public var description: String { "blocks.\(layer).\(site.rawValue)" }

    /// Every name `init(name:)` accepts, for messages.
    public static let namePatterns = Site.allCases.map { "blocks.L.\($0.rawValue)" }

    public static func < (a: HookPoint, b: HookPoint) -> Bool {
        (a.layer, Site.allCases.firstIndex(of: a.site)!) < (b.layer, Site.allCases.firstIndex(of: b.site)!)
    }
}

/// The vectors of one hook point for a whole batch, lent to a tap for the duration of the call.
public struct HookActivations {
    public let hook: HookPoint
    public let batchSize: Int
    public let tokenCount: Int
    /// n_embd for the residual and MLP-output sites, n_inner for `mlp.hook_post`.
    public let width: Int
    /// [B, T, width], valid only inside the tap; copy what you keep.
    public let values: UnsafeBufferPointer<Float>
}
