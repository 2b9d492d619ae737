import ActivationStore

/// One excerpt with one neuron's activation on each of its tokens (OpenAI's `ActivationRecord`), plus the
/// excerpt id that lets us prove splits are disjoint.
public struct ActivationRecord: Equatable, Sendable, Codable {
    public var excerptID: Int
    public var tokens: [String]
    public var activations: [Float]

    public init(excerptID: Int, tokens: [String], activations: [Float]) {
        self.excerptID = excerptID
        self.tokens = tokens
        self.activations = activations
    }

    public var maxActivation: Float { activations.max() ?? 0 }
}

/// Everything the evaluator knows about a neuron (OpenAI's `NeuronRecord`): records ordered as stored (top by
/// decreasing maximum, random and quantile samples by hash) and summary statistics.
public struct NeuronRecord: Equatable, Sendable {
    public var id: NeuronID
    public var mostPositive: [ActivationRecord]
    public var random: [ActivationRecord]
    public var randomByQuantile: [[ActivationRecord]]
    /// The bottom records: lowest excerpt minimum first (non-activating examples for detection and fuzzing).
    public var mostNegative: [ActivationRecord]
    public var quantileBoundaries: [Float]
    public var mean: Double
    public var variance: Double
    public var skewness: Double
    public var kurtosis: Double

    public init(
        id: NeuronID, mostPositive: [ActivationRecord], random: [ActivationRecord],
        randomByQuantile: [[ActivationRecord]] = [], mostNegative: [ActivationRecord] = [],
        quantileBoundaries: [Float] = [],
        mean: Double = .nan, variance: Double = .nan, skewness: Double = .nan, kurtosis: Double = .nan
    ) {
        self.id = id
        self.mostPositive = mostPositive
        self.random = random
        self.randomByQuantile = randomByQuantile
        self.mostNegative = mostNegative
        self.quantileBoundaries = quantileBoundaries
        self.mean = mean
        self.variance = variance
        self.skewness = skewness
        self.kurtosis = kurtosis
    }
}

extension NeuronRecord {
    /// Never above 0 on the recorded corpus: the top records are the excerpts with the largest maxima, so the first
    /// one's maximum is the unit's. A unit without records is dead too.
    public var isDead: Bool { (mostPositive.map(\.maxActivation).max() ?? 0) <= 0 }
}

/// Reads `NeuronRecord`s from an activation database (read-only), decoding tokens with the database's own
/// vocabulary.
public final class NeuronRecordReader {
    public let database: ActivationDatabase
    private let vocabulary: [String]
    private var excerptCache: [Int: [Int]] = [:]

    public init(path: String) throws {
        database = try ActivationDatabase.openForReading(path: path)
        vocabulary = try database.tokenStrings()
    }

    public func neuronIDs() throws -> [NeuronID] { try database.neuronIDs() }

    /// The token strings of excerpt `id` (the store has checked every id against the vocabulary).
    public func tokens(ofExcerpt id: Int) throws -> [String] {
        try tokenIDs(ofExcerpt: id).map { vocabulary[$0] }
    }

    private func tokenIDs(ofExcerpt id: Int) throws -> [Int] {
        if let ids = excerptCache[id] { return ids }
        guard let excerpt = try database.excerpt(id) else {
            throw ActivationStoreError.corrupt(path: database.path, reason: "a record names missing excerpt \(id)")
        }
        if excerptCache.count > 100_000 { excerptCache.removeAll(keepingCapacity: true) }
        excerptCache[id] = excerpt.tokenIDs
        return excerpt.tokenIDs
    }

    public func record(_ id: NeuronID) throws -> NeuronRecord {
        let data = try database.neuron(id)
        func records(_ stored: [StoredRecord]) throws -> [ActivationRecord] {
            try stored.map {
                ActivationRecord(
                    excerptID: $0.excerptID, tokens: try tokens(ofExcerpt: $0.excerptID), activations: $0.activations)
            }
        }
        let s = data.statistics
        return NeuronRecord(
            id: id, mostPositive: try records(data.records(.top)), random: try records(data.records(.random)),
            randomByQuantile: try (0..<4).map { try records(data.records(.quantile, bucket: $0)) },
            mostNegative: try records(data.records(.bottom)),
            quantileBoundaries: s.quantileBoundaries, mean: s.mean, variance: s.variance,
            skewness: s.skewness, kurtosis: s.kurtosis)
    }
}
