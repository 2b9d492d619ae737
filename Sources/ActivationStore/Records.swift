/// A neuron: MLP hidden unit `neuron` of block `layer`. Written "L:I".
public struct NeuronID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let layer: Int
    public let neuron: Int

    public init(layer: Int, neuron: Int) {
        self.layer = layer
        self.neuron = neuron
    }

    /// Parses "L:I".
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let layer = Int(parts[0]), let neuron = Int(parts[1]), layer >= 0, neuron >= 0 else {
            return nil
        }
        self.init(layer: layer, neuron: neuron)
    }

    public var description: String { "\(layer):\(neuron)" }
    public static func < (a: NeuronID, b: NeuronID) -> Bool { (a.layer, a.neuron) < (b.layer, b.neuron) }
}

/// Why an excerpt was selected for a neuron.
public enum RecordKind: String, CaseIterable, Sendable, Codable {
    /// Highest excerpt maxima (OpenAI's `most_positive_activation_records`).
    case top
    /// A uniform sample of all excerpts (`random_sample`).
    case random
    /// A uniform sample of the excerpts whose maximum lies in a quantile bucket (`random_sample_by_quantile`).
    case quantile
    /// Lowest excerpt minima: what most suppresses the neuron (not in OpenAI's data).
    case bottom
}

/// One selected excerpt of one neuron with the neuron's activation on each of its tokens.
public struct StoredRecord: Equatable, Sendable {
    public var kind: RecordKind
    public var bucket: Int
    public var rank: Int
    public var excerptID: Int
    public var maxActivation: Float
    public var minActivation: Float
    /// One value per excerpt token (float16 precision once stored).
    public var activations: [Float]

    public init(
        kind: RecordKind, bucket: Int, rank: Int, excerptID: Int, maxActivation: Float, minActivation: Float,
        activations: [Float]
    ) {
        self.kind = kind
        self.bucket = bucket
        self.rank = rank
        self.excerptID = excerptID
        self.maxActivation = maxActivation
        self.minActivation = minActivation
        self.activations = activations
    }
}

/// Statistics of one neuron over every token seen. The power sums, counts and histogram are what shards add up;
/// the moments are derived from them.
public struct NeuronStatistics: Equatable, Sendable {
    public var tokenCount: Int = 0
    public var excerptCount: Int = 0
    public var sum: Double = 0
    public var sumSquares: Double = 0
    public var sumCubes: Double = 0
    public var sumFourthPowers: Double = 0
    public var min: Float = .infinity
    public var max: Float = -.infinity
    public var positiveCount: Int = 0
    /// Excerpts whose maximum is > 0 (nil in schema-v1 databases, which did not count them).
    public var activeExcerptCount: Int? = 0
    /// Which excerpts the quantile buckets are taken over.
    public var quantilePopulation: QuantilePopulation = .all
    /// B + 1 edges of B equal-width bins (chosen per neuron from the pilot's range of activations).
    public var histogramEdges: [Float] = []
    /// B + 2 counts: below the first edge, each bin, at or above the last edge.
    public var histogram: [Int] = []
    /// Estimated quantiles `QuantileBuckets.upperEdges` (0.5, 0.9, 0.99, 0.999) of the maxima of the excerpts in
    /// `quantilePopulation`: the quantile buckets' edges.
    public var quantileBoundaries: [Float] = []
    /// Exact number of excerpts of the population whose maximum is below each boundary (so count / population
    /// size is the boundary's true quantile, the measure of the estimate's error).
    public var excerptsBelowBoundaries: [Int] = []

    public init() {}

    public var mean: Double { tokenCount > 0 ? sum / Double(tokenCount) : .nan }
    /// Population variance.
    public var variance: Double {
        guard tokenCount > 0 else { return .nan }
        return Swift.max(0, sumSquares / Double(tokenCount) - mean * mean)
    }
    /// Population skewness (scipy.stats.skew with bias=True); NaN when the variance is 0.
    public var skewness: Double {
        let n = Double(tokenCount), m = mean, v = variance
        guard v > 0 else { return .nan }
        let m3 = sumCubes / n - 3 * m * sumSquares / n + 2 * m * m * m
        return m3 / (v * v.squareRoot())
    }
    /// Excess kurtosis (scipy.stats.kurtosis, fisher=True, bias=True); NaN when the variance is 0.
    public var kurtosis: Double {
        let n = Double(tokenCount), m = mean, v = variance
        guard v > 0 else { return .nan }
        let m4 = sumFourthPowers / n - 4 * m * sumCubes / n + 6 * m * m * sumSquares / n - 3 * m * m * m * m
        return m4 / (v * v) - 3
    }
    /// The firing frequency: the fraction of tokens on which the unit is > 0.
    public var fractionPositive: Double { tokenCount > 0 ? Double(positiveCount) / Double(tokenCount) : .nan }

    /// How many excerpts the quantile buckets are drawn from (nil if a v1 database did not count them).
    public var quantilePopulationSize: Int? {
        quantilePopulation == .all ? excerptCount : activeExcerptCount
    }

    /// Adds another shard's statistics over disjoint excerpts (the boundaries must be the same).
    public mutating func merge(_ other: NeuronStatistics) {
        tokenCount += other.tokenCount
        excerptCount += other.excerptCount
        sum += other.sum
        sumSquares += other.sumSquares
        sumCubes += other.sumCubes
        sumFourthPowers += other.sumFourthPowers
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        positiveCount += other.positiveCount
        activeExcerptCount = activeExcerptCount.flatMap { mine in other.activeExcerptCount.map { mine + $0 } }
        histogram = histogram.isEmpty ? other.histogram : zip(histogram, other.histogram).map(+)
        excerptsBelowBoundaries =
            excerptsBelowBoundaries.isEmpty
            ? other.excerptsBelowBoundaries
            : zip(excerptsBelowBoundaries, other.excerptsBelowBoundaries).map(+)
        if quantileBoundaries.isEmpty { quantileBoundaries = other.quantileBoundaries }
        if histogramEdges.isEmpty { histogramEdges = other.histogramEdges }
    }
}

/// Which of a unit's excerpts its quantile buckets are taken over. `all` is OpenAI's rule; `activating` (excerpt
/// maximum > 0) is delphi's, for sparse units whose excerpts are mostly zero (where the quantiles of all excerpts
/// collapse to 0).
public enum QuantilePopulation: String, Codable, Sendable, CaseIterable {
    case all, activating
}

/// Everything stored about one neuron.
public struct NeuronData: Equatable, Sendable {
    public var id: NeuronID
    public var statistics: NeuronStatistics
    /// Ordered by kind (top, random, quantile, bottom), bucket, rank.
    public var records: [StoredRecord]

    public init(id: NeuronID, statistics: NeuronStatistics, records: [StoredRecord]) {
        self.id = id
        self.statistics = statistics
        self.records = records
    }

    public func records(_ kind: RecordKind, bucket: Int? = nil) -> [StoredRecord] {
        records.filter { $0.kind == kind && (bucket == nil || $0.bucket == bucket) }
    }
}

/// A corpus document as stored.
public struct DocumentRow: Equatable, Sendable {
    public var id: Int
    public var source: String
    public var line: Int?
    public var byteCount: Int
    public var tokenCount: Int
    public var invalidUTF8Replaced: Int
    public var nulRemoved: Int

    public init(
        id: Int, source: String, line: Int?, byteCount: Int, tokenCount: Int, invalidUTF8Replaced: Int, nulRemoved: Int
    ) {
        self.id = id
        self.source = source
        self.line = line
        self.byteCount = byteCount
        self.tokenCount = tokenCount
        self.invalidUTF8Replaced = invalidUTF8Replaced
        self.nulRemoved = nulRemoved
    }
}

/// An excerpt as stored: which document it comes from and its token ids.
public struct ExcerptRow: Equatable, Sendable {
    public var id: Int
    public var documentID: Int
    public var startToken: Int
    public var tokenIDs: [Int]

    public init(id: Int, documentID: Int, startToken: Int, tokenIDs: [Int]) {
        self.id = id
        self.documentID = documentID
        self.startToken = startToken
        self.tokenIDs = tokenIDs
    }
}
