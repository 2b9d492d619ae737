import Foundation

/// OpenAI neuron-explainer's dataclasses (`activations.py`, `explanations.py`) as typed values: the one place that
/// writes and reads them. Written with each class's fields in their order, tagged with `dataclass_name`, NaN as
/// `null`, and nothing else (their loader rejects an unknown key); read tagged or plain, with `layer` / `idx`
/// aliases and string layer indices. Schemas/interop.md maps every field.
public enum OpenAIFormat {
    public struct ActivationRecord: Equatable, Sendable {
        /// One string per model token, leading spaces kept.
        public var tokens: [String]
        /// Raw activations (float16 precision when they come from a neuronbench database).
        public var activations: [Float]

        public init(tokens: [String], activations: [Float]) {
            self.tokens = tokens
            self.activations = activations
        }

        var json: JSONValue {
            .object([
                ("tokens", .array(tokens.map(JSONValue.string))),
                ("activations", .array(activations.map(JSONValue.float))),
                ("dataclass_name", .string("ActivationRecord")),
            ])
        }

        init(_ value: Any?, path: String, location: String) throws {
            let r = try JSONReader(
                value, dataclass: "ActivationRecord", fields: ["tokens", "activations"], path: path,
                location: location)
            tokens = try r.strings("tokens")
            activations = try r.numbers("activations").map(Float.init)
            guard tokens.count == activations.count else {
                throw r.fail("activations", "\(activations.count) activations for \(tokens.count) tokens")
            }
        }
    }

    public struct NeuronID: Equatable, Hashable, Sendable {
        public var layer: Int
        public var neuron: Int

        public init(layer: Int, neuron: Int) {
            self.layer = layer
            self.neuron = neuron
        }

        var json: JSONValue {
            .object([
                ("layer_index", .int(layer)), ("neuron_index", .int(neuron)), ("dataclass_name", .string("NeuronId")),
            ])
        }

        init(_ value: Any?, path: String, location: String) throws {
            let r = try JSONReader(
                value, dataclass: "NeuronId", fields: ["layer_index", "neuron_index", "layer", "idx"], path: path,
                location: location)
            layer = try r.integer(["layer_index", "layer"], allowString: true)
            neuron = try r.integer(["neuron_index", "idx"], allowString: true)
            guard layer >= 0, neuron >= 0 else {
                throw JSONReader.fail(path, location, "layer and neuron indices must not be negative")
            }
        }
    }

    /// `NeuronRecord`: one neuron's records and statistics (`collated-activations/{layer}/{neuron}.json`).
    public struct NeuronRecord: Equatable, Sendable {
        public var id: NeuronID
        public var randomSample: [ActivationRecord]
        /// The quantile buckets in order, lowest first.
        public var randomSampleByQuantile: [[ActivationRecord]]
        public var quantileBoundaries: [Double]
        public var mean, variance, skewness, kurtosis: Double?
        /// Highest maximum first.
        public var mostPositive: [ActivationRecord]

        public init(
            id: NeuronID, randomSample: [ActivationRecord], randomSampleByQuantile: [[ActivationRecord]],
            quantileBoundaries: [Double], mean: Double?, variance: Double?, skewness: Double?, kurtosis: Double?,
            mostPositive: [ActivationRecord]
        ) {
            self.id = id
            self.randomSample = randomSample
            self.randomSampleByQuantile = randomSampleByQuantile
            self.quantileBoundaries = quantileBoundaries
            (self.mean, self.variance, self.skewness, self.kurtosis) = (mean, variance, skewness, kurtosis)
            self.mostPositive = mostPositive
        }

        static let fields = [
            "neuron_id", "random_sample", "random_sample_by_quantile", "quantile_boundaries", "mean", "variance",
            "skewness", "kurtosis", "most_positive_activation_records",
        ]

        var json: JSONValue {
            .object([
                ("neuron_id", id.json), ("random_sample", .array(randomSample.map(\.json))),
                ("random_sample_by_quantile", .array(randomSampleByQuantile.map { .array($0.map(\.json)) })),
                ("quantile_boundaries", .array(quantileBoundaries.map { JSONValue.number($0) })),
                ("mean", .number(mean)), ("variance", .number(variance)), ("skewness", .number(skewness)),
                ("kurtosis", .number(kurtosis)), ("most_positive_activation_records", .array(mostPositive.map(\.json))),
                ("dataclass_name", .string("NeuronRecord")),
            ])
        }

        /// One file's text, as OpenAI's `collated-activations` hold it.
        public var fileText: String { json.text }

        public init(file path: String) throws {
            let r = try JSONReader(Self.parse(path), dataclass: "NeuronRecord", fields: Self.fields, path: path)
            id = try NeuronID(r.raw("neuron_id"), path: path, location: "neuron_id")
            func records(_ key: String) throws -> [ActivationRecord] {
                try r.list(key).enumerated().map {
                    try ActivationRecord($0.element, path: path, location: "\(key)[\($0.offset)]")
                }
            }
            randomSample = try records("random_sample")
            mostPositive = try records("most_positive_activation_records")
            randomSampleByQuantile = try r.list("random_sample_by_quantile").enumerated().map { bucket, value in
                guard let list = value as? [Any] else {
                    throw r.fail("random_sample_by_quantile[\(bucket)]", "expected a list of ActivationRecords")
                }
                return try list.enumerated().map {
                    try ActivationRecord(
                        $0.element, path: path, location: "random_sample_by_quantile[\(bucket)][\($0.offset)]")
                }
            }
            quantileBoundaries = try r.numbers("quantile_boundaries")
            func optional(_ key: String) throws -> Double? { r.has(key) ? try r.optionalNumber(key) : nil }
            (mean, variance, skewness, kurtosis) = (
                try optional("mean"), try optional("variance"), try optional("skewness"), try optional("kurtosis")
            )
        }

        static func parse(_ path: String) throws -> Any {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw InteropError.invalidFile(path: path, reason: "not found or unreadable")
            }
            guard String(data: data, encoding: .utf8) != nil else {
                throw InteropError.invalidFile(path: path, reason: "not valid UTF-8")
            }
            do { return try JSONSerialization.jsonObject(with: data) } catch {
                throw InteropError.invalidFile(path: path, reason: "not valid JSON (truncated or damaged?)")
            }
        }
    }

    /// `ActivationScale`: what `expected_activations` hold.
    public enum ActivationScale: String, Sendable {
        /// After calibration, in the neuron's own units.
        case neuronActivations = "neuron_activations"
        /// The simulator's 0–10 scale.
        case simulatedNormalized = "simulated_normalized_activations"
    }

    public final class SequenceSimulation: Equatable, Sendable {
        public let tokens: [String]
        public let expectedActivations: [Double]
        public let activationScale: ActivationScale
        /// Per token; empty for a simulator without a distribution (neuronbench's keyword simulator).
        public let distributionValues: [[Double]]
        public let distributionProbabilities: [[Double]]
        public let uncalibrated: SequenceSimulation?

        public init(
            tokens: [String], expectedActivations: [Double], activationScale: ActivationScale,
            distributionValues: [[Double]] = [], distributionProbabilities: [[Double]] = [],
            uncalibrated: SequenceSimulation? = nil
        ) {
            self.tokens = tokens
            self.expectedActivations = expectedActivations
            self.activationScale = activationScale
            self.distributionValues = distributionValues
            self.distributionProbabilities = distributionProbabilities
            self.uncalibrated = uncalibrated
        }

        public static func == (a: SequenceSimulation, b: SequenceSimulation) -> Bool { a.json == b.json }

        static let fields = [
            "tokens", "expected_activations", "activation_scale", "distribution_values", "distribution_probabilities",
            "uncalibrated_simulation",
        ]

        var json: JSONValue {
            .object([
                ("tokens", .array(tokens.map(JSONValue.string))),
                ("expected_activations", .array(expectedActivations.map { JSONValue.float(Float($0)) })),
                ("activation_scale", .string(activationScale.rawValue)),
                ("distribution_values", .array(distributionValues.map { .array($0.map { JSONValue.number($0) }) })),
                (
                    "distribution_probabilities",
                    .array(distributionProbabilities.map { .array($0.map { JSONValue.number($0) }) })
                ),
                ("uncalibrated_simulation", uncalibrated?.json ?? .null),
                ("dataclass_name", .string("SequenceSimulation")),
            ])
        }

        init(_ value: Any?, path: String, location: String) throws {
            let r = try JSONReader(
                value, dataclass: "SequenceSimulation", fields: Self.fields, path: path, location: location)
            tokens = try r.strings("tokens")
            expectedActivations = try r.numbers("expected_activations")
            guard let scale = ActivationScale(rawValue: try r.string("activation_scale")) else {
                throw r.fail("activation_scale", "not one of neuron_activations, simulated_normalized_activations")
            }
            activationScale = scale
            distributionValues = try r.numberLists("distribution_values")
            distributionProbabilities = try r.numberLists("distribution_probabilities")
            let nested = r.raw("uncalibrated_simulation")
            uncalibrated =
                nested == nil || nested is NSNull
                ? nil : try SequenceSimulation(nested, path: path, location: r.at("uncalibrated_simulation"))
        }
    }

    public struct ScoredSequenceSimulation: Equatable, Sendable {
        public var simulation: SequenceSimulation
        public var trueActivations: [Float]
        public var correlation, rSquared, absoluteDeviationExplained: Double?

        public init(
            simulation: SequenceSimulation, trueActivations: [Float], correlation: Double?, rSquared: Double?,
            absoluteDeviationExplained: Double?
        ) {
            self.simulation = simulation
            self.trueActivations = trueActivations
            self.correlation = correlation
            self.rSquared = rSquared
            self.absoluteDeviationExplained = absoluteDeviationExplained
        }

        static let fields = [
            "simulation", "true_activations", "ev_correlation_score", "rsquared_score", "absolute_dev_explained_score",
        ]

        var json: JSONValue {
            .object([
                ("simulation", simulation.json), ("true_activations", .array(trueActivations.map(JSONValue.float))),
                ("ev_correlation_score", .number(correlation)), ("rsquared_score", .number(rSquared)),
                ("absolute_dev_explained_score", .number(absoluteDeviationExplained)),
                ("dataclass_name", .string("ScoredSequenceSimulation")),
            ])
        }

        init(_ value: Any?, path: String, location: String) throws {
            let r = try JSONReader(
                value, dataclass: "ScoredSequenceSimulation", fields: Self.fields, path: path, location: location)
            simulation = try SequenceSimulation(r.raw("simulation"), path: path, location: r.at("simulation"))
            trueActivations = try r.numbers("true_activations").map(Float.init)
            correlation = try r.optionalNumber("ev_correlation_score")
            rSquared = try r.optionalNumber("rsquared_score")
            absoluteDeviationExplained = try r.optionalNumber("absolute_dev_explained_score")
        }
    }

    public struct ScoredExplanation: Equatable, Sendable {
        public var explanation: String
        public var sequences: [ScoredSequenceSimulation]
        /// The aggregates over every scored token pooled (`ScoredSimulation`'s scores).
        public var correlation, rSquared, absoluteDeviationExplained: Double?

        public init(
            explanation: String, sequences: [ScoredSequenceSimulation], correlation: Double?, rSquared: Double?,
            absoluteDeviationExplained: Double?
        ) {
            self.explanation = explanation
            self.sequences = sequences
            self.correlation = correlation
            self.rSquared = rSquared
            self.absoluteDeviationExplained = absoluteDeviationExplained
        }

        var json: JSONValue {
            .object([
                ("explanation", .string(explanation)),
                (
                    "scored_simulation",
                    .object([
                        ("scored_sequence_simulations", .array(sequences.map(\.json))),
                        ("ev_correlation_score", .number(correlation)), ("rsquared_score", .number(rSquared)),
                        ("absolute_dev_explained_score", .number(absoluteDeviationExplained)),
                        ("dataclass_name", .string("ScoredSimulation")),
                    ])
                ),
                ("dataclass_name", .string("ScoredExplanation")),
            ])
        }

        init(_ value: Any?, path: String, location: String) throws {
            let r = try JSONReader(
                value, dataclass: "ScoredExplanation", fields: ["explanation", "scored_simulation"], path: path,
                location: location)
            explanation = try r.string("explanation")
            let s = try JSONReader(
                r.raw("scored_simulation"), dataclass: "ScoredSimulation",
                fields: [
                    "scored_sequence_simulations", "ev_correlation_score", "rsquared_score",
                    "absolute_dev_explained_score",
                ], path: path, location: r.at("scored_simulation"))
            sequences = try s.list("scored_sequence_simulations").enumerated().map {
                try ScoredSequenceSimulation(
                    $0.element, path: path, location: "\(s.at("scored_sequence_simulations"))[\($0.offset)]")
            }
            correlation = try s.optionalNumber("ev_correlation_score")
            rSquared = try s.optionalNumber("rsquared_score")
            absoluteDeviationExplained = try s.optionalNumber("absolute_dev_explained_score")
        }
    }

    /// `NeuronSimulationResults`: one neuron's scored explanations (`explanations/{layer}/{neuron}.jsonl`, one line).
    public struct NeuronSimulationResults: Equatable, Sendable {
        public var id: NeuronID
        public var scoredExplanations: [ScoredExplanation]

        public init(id: NeuronID, scoredExplanations: [ScoredExplanation]) {
            self.id = id
            self.scoredExplanations = scoredExplanations
        }

        var json: JSONValue {
            .object([
                ("neuron_id", id.json), ("scored_explanations", .array(scoredExplanations.map(\.json))),
                ("dataclass_name", .string("NeuronSimulationResults")),
            ])
        }

        /// The file's text: exactly one line.
        public var fileText: String { json.text + "\n" }

        /// Reads a file that must hold exactly one non-empty line (OpenAI's reader asserts it).
        public init(file path: String) throws {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw InteropError.invalidFile(path: path, reason: "not found or unreadable")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw InteropError.invalidFile(path: path, reason: "not valid UTF-8")
            }
            let lines = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            guard lines.count == 1 else {
                throw InteropError.invalidFile(
                    path: path, reason: "expected exactly one line (a NeuronSimulationResults), found \(lines.count)")
            }
            let value: Any
            do { value = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) } catch {
                throw InteropError.invalidFile(path: path, reason: "not valid JSON (truncated or damaged?)")
            }
            let r = try JSONReader(
                value, dataclass: "NeuronSimulationResults", fields: ["neuron_id", "scored_explanations"], path: path)
            id = try NeuronID(r.raw("neuron_id"), path: path, location: "neuron_id")
            scoredExplanations = try r.list("scored_explanations").enumerated().map {
                try ScoredExplanation($0.element, path: path, location: "scored_explanations[\($0.offset)]")
            }
        }
    }
}
