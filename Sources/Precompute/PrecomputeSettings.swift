import GPT2

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
    /// The forward pass's matrix precision. Stored (as "precision") only when not float32, so that databases made
    /// before the setting existed keep their identity.
    public var precision: MatrixPrecision {
        get { reducedPrecision ?? .float32 }
        set { reducedPrecision = newValue == .float32 ? nil : newValue }
    }
    private var reducedPrecision: MatrixPrecision?

    private enum CodingKeys: String, CodingKey {
        case excerpter, samples, pilotExcerpts, histogramBins, seed, layers, maxTokens, shardIndex, shardCount
        case reducedPrecision = "precision"
    }

    public init() {}

    public func validate() throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition { throw PrecomputeError.invalidSettings(message) }
        }
        try check(excerpter.tokens > 0, "--excerpt-tokens must be positive")
        try check(excerpter.minimumTokens > 0 && excerpter.minimumTokens <= excerpter.tokens,
                  "--min-excerpt-tokens must be between 1 and --excerpt-tokens")
        try check(excerpter.context > 0 && excerpter.context % excerpter.tokens == 0,
                  "--context-tokens must be a positive multiple of --excerpt-tokens")
        try check([samples.top, samples.random, samples.perQuantileBucket, samples.bottom].allSatisfy { $0 >= 0 },
                  "sample sizes cannot be negative")
        try check(pilotExcerpts > 0, "--pilot-excerpts must be positive")
        try check(histogramBins > 0, "--histogram-bins must be positive")
        try check(shardCount > 0 && (0..<shardCount).contains(shardIndex), "--shard must be i/N with 0 <= i < N")
        try check(maxTokens.map { $0 > 0 } ?? true, "--max-tokens must be positive")
    }

    /// Equal except for the shard: what merging requires.
    public func sameExceptShard(_ other: PrecomputeSettings) -> Bool {
        var a = self, b = other
        a.shardIndex = 0; a.shardCount = 1; b.shardIndex = 0; b.shardCount = 1
        return a == b
    }
}
