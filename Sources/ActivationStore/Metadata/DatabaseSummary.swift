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

    public init() {}
}
