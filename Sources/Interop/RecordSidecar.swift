import ActivationStore
import Evaluation
import Foundation

/// `{neuron}.neuronbench.json` beside an exported `NeuronRecord`: what neuronbench knows beyond OpenAI's format
/// (which has no excerpt ids, documents, bottom records, min / max or firing frequency), so that a re-import
/// evaluates on the very same excerpts. OpenAI's tools never read it.
public struct RecordSidecar: Equatable, Sendable {
    public static let format = "neuronbench-openai-record-sidecar"

    public struct Bottom: Equatable, Sendable {
        public var excerptID: Int
        public var tokens: [String]
        public var activations: [Float]
    }

    /// Excerpt ids in the order of the NeuronRecord's lists.
    public var mostPositive: [Int]
    public var randomSample: [Int]
    public var randomSampleByQuantile: [[Int]]
    public var bottom: [Bottom]

    public init(mostPositive: [Int], randomSample: [Int], randomSampleByQuantile: [[Int]], bottom: [Bottom]) {
        self.mostPositive = mostPositive
        self.randomSample = randomSample
        self.randomSampleByQuantile = randomSampleByQuantile
        self.bottom = bottom
    }

    /// The path of the sidecar of `recordPath` (`…/17.json` → `…/17.neuronbench.json`).
    public static func path(besideRecord recordPath: String) -> String {
        (recordPath as NSString).deletingPathExtension + ".neuronbench.json"
    }

    /// The sidecar's text, with the database-wide context (`context`: source, settings, documents) merged in.
    func text(
        statistics s: NeuronStatistics, documents: [(excerpt: Int, document: String, startToken: Int)],
        context: [(String, JSONValue)]
    )
        -> String
    {
        func ids(_ list: [Int]) -> JSONValue { .array(list.map(JSONValue.int)) }
        let fields: [(String, JSONValue)] =
            [
                ("format", .string(Self.format)), ("version", .int(1)),
                (
                    "excerpt_ids",
                    .object([
                        ("most_positive_activation_records", ids(mostPositive)), ("random_sample", ids(randomSample)),
                        ("random_sample_by_quantile", .array(randomSampleByQuantile.map(ids))),
                    ])
                ),
                (
                    "most_negative_activation_records",
                    .array(
                        bottom.map {
                            .object([
                                ("excerpt_id", .int($0.excerptID)), ("tokens", .array($0.tokens.map(JSONValue.string))),
                                ("activations", .array($0.activations.map(JSONValue.float))),
                            ])
                        })
                ),
                (
                    "excerpt_documents",
                    .array(
                        documents.map {
                            .object([
                                ("excerpt_id", .int($0.excerpt)), ("document", .string($0.document)),
                                ("start_token", .int($0.startToken)),
                            ])
                        })
                ),
                (
                    "statistics",
                    .object([
                        ("token_count", .int(s.tokenCount)), ("excerpt_count", .int(s.excerptCount)),
                        ("min", .number(Double(s.min))), ("max", .number(Double(s.max))),
                        ("fraction_positive", .number(s.fractionPositive)),
                        ("active_excerpt_count", s.activeExcerptCount.map(JSONValue.int) ?? .null),
                        ("quantile_population", .string(s.quantilePopulation.rawValue)),
                    ])
                ),
                (
                    "conventions",
                    .object([
                        ("variance", .string("population (divided by n)")),
                        (
                            "skewness",
                            .string("population, as scipy.stats.skew (bias=True); null when the variance is 0")
                        ),
                        (
                            "kurtosis",
                            .string(
                                "excess kurtosis, as scipy.stats.kurtosis (fisher=True, bias=True); null when the variance is 0"
                            )
                        ),
                        (
                            "random_sample_by_quantile",
                            .string("buckets of excerpt maxima between the quantile boundaries, lowest first")
                        ),
                        ("activations", .string("float16 values as stored, written in their shortest float32 form")),
                    ])
                ),
            ] + context
        return JSONValue.object(fields).text + "\n"
    }

    /// Reads the parts a re-import needs: the excerpt ids and the bottom records.
    public init(file path: String) throws {
        let r = try JSONReader(
            try OpenAIFormat.NeuronRecord.parse(path), dataclass: "sidecar",
            fields: [
                "format", "version", "excerpt_ids", "most_negative_activation_records", "excerpt_documents",
                "statistics", "conventions", "database", "database_fingerprint", "units", "hook", "settings", "corpus",
            ], path: path)
        guard (try? r.string("format")) == Self.format else {
            throw InteropError.invalidFile(path: path, reason: "not a neuronbench record sidecar (format)")
        }
        let e = try JSONReader(
            r.raw("excerpt_ids"), dataclass: "excerpt_ids",
            fields: ["most_positive_activation_records", "random_sample", "random_sample_by_quantile"], path: path,
            location: "excerpt_ids")
        func integers(_ value: Any, _ location: String) throws -> [Int] {
            try JSONReader.numbers(value, path: path, location: location).enumerated().map { index, number in
                guard let id = Int(exactly: number), id >= 0 else {
                    throw JSONReader.fail(path, "\(location)[\(index)]", "expected an excerpt id")
                }
                return id
            }
        }
        mostPositive = try integers(
            e.raw("most_positive_activation_records") as Any, e.at("most_positive_activation_records"))
        randomSample = try integers(e.raw("random_sample") as Any, e.at("random_sample"))
        randomSampleByQuantile = try e.list("random_sample_by_quantile").enumerated().map {
            try integers($0.element, "\(e.at("random_sample_by_quantile"))[\($0.offset)]")
        }
        bottom = try r.list("most_negative_activation_records").enumerated().map { index, value in
            let b = try JSONReader(
                value, dataclass: "bottom record", fields: ["excerpt_id", "tokens", "activations"], path: path,
                location: "most_negative_activation_records[\(index)]")
            let tokens = try b.strings("tokens"), activations = try b.numbers("activations").map(Float.init)
            guard tokens.count == activations.count else {
                throw b.fail("activations", "\(activations.count) activations for \(tokens.count) tokens")
            }
            return Bottom(excerptID: try b.integer(["excerpt_id"]), tokens: tokens, activations: activations)
        }
    }
}
