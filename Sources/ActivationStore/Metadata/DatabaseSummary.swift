/// The deterministic counts of a finished precompute or merge (metadata "summary"): equal inputs give an equal
/// summary, so it carries no timings.
public struct DatabaseSummary: Codable, Equatable, Sendable {
    public var documents = 0
    public var corpusIssues = CorpusIssues()
    public var excerpts = 0
    /// Excerpts and tokens of this shard (all of them for a single run or a merge).
    public var shardExcerpts = 0
    public var tokensInExcerpts = 0
    public var tokensDropped = 0
    public var pilotExcerpts = 0
    public var layers: [Int] = []
    public var neurons = 0
    public var records = 0
    public var activationBytes = 0
    public var bytesPerRecord = 0.0
    /// Per quantile boundary (`QuantileBuckets.upperEdges`): median and maximum over neurons of |true quantile of
    /// the estimated boundary − its target|, measured exactly over this run's excerpts.
    public var boundaryErrorMedian: [Double] = []
    public var boundaryErrorMax: [Double] = []
    /// Units that never fired (activation > 0 on no token), and units that fired on more than half of the tokens
    /// (`UnitCensus.denseFraction`), each with the first few ids. Absent in databases made before schema version 2.
    public var dead: UnitCensus?
    public var dense: UnitCensus?
    /// Per SAE layer: how well its latents reconstruct what it reads, over every token of this run (none for
    /// neurons).
    public var reconstruction: [ReconstructionTotals]?

    public init() {}
}

/// How many units share a property, and the first of them ("L:I") to look at.
public struct UnitCensus: Codable, Equatable, Sendable {
    /// A unit is dense when it is positive on more than this fraction of tokens.
    public static let denseFraction = 0.5
    /// How many ids `examples` keeps.
    public static let exampleCount = 10

    public var count: Int
    public var examples: [String]

    public init(count: Int, examples: [String]) {
        self.count = count
        self.examples = examples
    }
}

/// An SAE's reconstruction of its input over a run's tokens, as sums that shards add up: L0 (mean number of
/// non-zero latents per token) and the fraction of variance explained, 1 − Σ‖x − x̂‖² / Σ‖x − mean(x)‖² (the
/// mean over tokens per input dimension; x as the SAE reads it, i.e. centred when the SAE is).
public struct ReconstructionTotals: Codable, Equatable, Sendable {
    public var layer: Int
    public var tokens = 0
    public var nonZeroLatents = 0
    public var squaredError = 0.0
    public var sumSquares = 0.0
    /// Σ x per input dimension.
    public var sums: [Double]

    public init(layer: Int, inputWidth: Int) {
        self.layer = layer
        sums = [Double](repeating: 0, count: inputWidth)
    }

    public var l0: Double { tokens > 0 ? Double(nonZeroLatents) / Double(tokens) : .nan }

    public var varianceExplained: Double {
        guard tokens > 0 else { return .nan }
        let total = sumSquares - sums.reduce(0) { $0 + $1 * $1 } / Double(tokens)
        return total > 0 ? 1 - squaredError / total : .nan
    }

    /// Adds another shard's totals over disjoint tokens.
    public mutating func merge(_ other: ReconstructionTotals) {
        tokens += other.tokens
        nonZeroLatents += other.nonZeroLatents
        squaredError += other.squaredError
        sumSquares += other.sumSquares
        sums = zip(sums, other.sums).map(+)
    }
}
