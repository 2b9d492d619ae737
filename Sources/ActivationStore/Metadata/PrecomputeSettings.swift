/// Everything that determines a precompute's records. Two runs with equal settings, model, tokenizer and corpus
/// produce identical records; a database made with other settings is never resumed. Batch size and checkpoint
/// interval are not settings: they change speed, not results.
public struct PrecomputeSettings: Codable, Equatable, Sendable {
    public var excerpter = Excerpter()
    public var samples = SampleSizes()
    /// About this many excerpts (whole contexts chosen by seeded hash) estimate the quantile boundaries; never
    /// more than 1/16 of the contexts, so that the pilot's extra forward passes cost at most ~6%.
    public var pilotExcerpts = 2_000

    /// How many contexts the pilot pass runs for a corpus of `contexts` contexts: `pilotExcerpts` excerpts' worth,
    /// at most 1/16 of them. With one excerpt per context (the default) that is min(pilotExcerpts, ⌈contexts/16⌉).
    public func pilotContextCount(contexts: Int) -> Int {
        let excerptsPerContext = excerpter.context / excerpter.tokens
        return min((pilotExcerpts + excerptsPerContext - 1) / excerptsPerContext, (contexts + 15) / 16)
    }
    public var histogramBins = 32
    public var seed: UInt64 = 0
    /// Layers to record; nil means all.
    public var layers: [Int]?
    /// Stop cutting excerpts once this many tokens are in excerpts (a prefix of the corpus).
    public var maxTokens: Int?
    /// This run processes excerpts whose id % shardCount == shardIndex.
    public var shardIndex = 0
    public var shardCount = 1
    /// The forward pass's matrix precision, by name (GPT2's `MatrixPrecision` raw value: "fp32", "bf16").
    /// Stored (as "precision") only when not "fp32", so that databases made before the setting existed keep their
    /// identity.
    public var precisionName: String {
        get { reducedPrecision ?? Self.fullPrecisionName }
        set { reducedPrecision = newValue == Self.fullPrecisionName ? nil : newValue }
    }
    public static let fullPrecisionName = "fp32"
    private var reducedPrecision: String?
    /// The library of the float32 matrix products, by name (GPT2's `BLASLibrary` raw value: "openblas", "mkl"):
    /// it changes records in their last bits. Stored (as "blas") only when not "openblas", so that databases made
    /// before the setting existed keep their identity.
    public var blasName: String {
        get { otherBLAS ?? Self.defaultBLASName }
        set { otherBLAS = newValue == Self.defaultBLASName ? nil : newValue }
    }
    public static let defaultBLASName = "openblas"
    private var otherBLAS: String?

    private enum CodingKeys: String, CodingKey {
        case excerpter, samples, pilotExcerpts, histogramBins, seed, layers, maxTokens, shardIndex, shardCount
        case reducedPrecision = "precision"
        case otherBLAS = "blas"
    }

    public init() {}

    /// Equal except for the shard: what merging requires.
    public func sameExceptShard(_ other: PrecomputeSettings) -> Bool {
        var a = self, b = other
        a.shardIndex = 0; a.shardCount = 1; b.shardIndex = 0; b.shardCount = 1
        return a == b
    }
}

/// How many records of each kind a neuron keeps.
public struct SampleSizes: Codable, Equatable, Sendable {
    public var top: Int
    public var random: Int
    public var perQuantileBucket: Int
    public var bottom: Int

    public init(top: Int = 50, random: Int = 50, perQuantileBucket: Int = 10, bottom: Int = 50) {
        self.top = top
        self.random = random
        self.perQuantileBucket = perQuantileBucket
        self.bottom = bottom
    }

    /// Records each unit keeps in all.
    public var recordsPerUnit: Int { top + random + QuantileBuckets.count * perQuantileBucket + bottom }
}

/// How documents are cut into excerpts, and how much of its document the model reads before each one.
///
/// Rule: each document's tokens are cut from its first token into consecutive, non-overlapping windows of
/// `tokens`; an excerpt never spans two documents. The remainder at a document's end becomes a shorter excerpt if
/// it has at least `minimumTokens`, otherwise it is dropped (and counted).
///
/// Context: the model reads each document in consecutive, non-overlapping blocks of `contextTokens` tokens (a
/// multiple of `tokens`; default `tokens`), each block from position 0 with no beginning-of-text token. An
/// excerpt's activations are those of its block's forward pass, so its first token has seen
/// `startToken % contextTokens` earlier tokens of the document. With the default every excerpt is its own
/// context; with e.g. 1,024 the model sees long contexts while records stay 64-token excerpts.
public struct Excerpter: Codable, Equatable, Sendable {
    public var tokens: Int
    public var minimumTokens: Int
    /// nil means `tokens` (and is left out of the stored settings, so older databases still match).
    public var contextTokens: Int?

    public init(tokens: Int = 64, minimumTokens: Int? = nil, contextTokens: Int? = nil) {
        self.tokens = tokens
        self.minimumTokens = minimumTokens ?? tokens
        self.contextTokens = contextTokens == tokens ? nil : contextTokens
    }

    /// Tokens per model context.
    public var context: Int { contextTokens ?? tokens }

    /// (start, count) of each excerpt of a document with `tokenCount` tokens.
    public func windows(tokenCount: Int) -> [(start: Int, count: Int)] {
        stride(from: 0, to: tokenCount, by: tokens).compactMap { start in
            let count = Swift.min(tokens, tokenCount - start)
            return count >= minimumTokens ? (start, count) : nil
        }
    }

    /// The document token at which the context of an excerpt starting at `startToken` begins.
    public func contextStart(ofExcerptAt startToken: Int) -> Int {
        startToken - startToken % context
    }
}
