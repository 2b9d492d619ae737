import ActivationStore
import Foundation
import Support

/// Where neuron records come from: an activation database, or neurons built in memory (puzzles, tests).
public protocol NeuronRecordSource {
    func neuronIDs() throws -> [NeuronID]
    func record(_ id: NeuronID) throws -> NeuronRecord
}

extension NeuronRecordReader: NeuronRecordSource {}

/// Neurons held in memory.
public struct InMemoryRecords: NeuronRecordSource {
    public let records: [NeuronID: NeuronRecord]
    public init(_ records: [NeuronRecord]) {
        self.records = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
    }
    public func neuronIDs() throws -> [NeuronID] { records.keys.sorted() }
    public func record(_ id: NeuronID) throws -> NeuronRecord {
        guard let record = records[id] else { throw EvaluationError.invalidSpecification("no neuron \(id)") }
        return record
    }
}

public struct EvaluationSettings: Sendable, Equatable {
    public var splits = RecordSplits.Sizes()
    public var calibration = CalibrationMethod.linear
    /// How detection and fuzzing choose and show examples.
    public var examples = ExampleSettings()
    /// Neurons scored per call to a scorer.
    public var chunkSize = 64

    public init() {}
}

public enum EvaluationStatus: String, Sendable, Codable {
    case ok
    /// The explainer or scorer failed for this neuron: counted, never scored as 0.
    case failed
    /// The explainer has no explanation for this neuron (e.g. not in an imported file).
    case missing
    /// The unit is never above 0 on the recorded corpus (its top record's maximum is at most 0): no explainer or
    /// scorer sees it, and it is counted apart from failures (dead SAE latents are common; delphi skips them too).
    case dead
}

/// One scored (or calibration) record with everything needed to recompute its scores.
public struct SimulatedRecord: Sendable, Codable, Equatable {
    public enum Role: String, Sendable, Codable { case calibration, top, random }
    public var role: Role
    public var excerptID: Int
    public var tokens: [String]
    public var actual: [Float]
    /// The simulator's values (0–10 scale).
    public var simulated: [Double]
    /// After calibration: what R² and absolute deviation are computed on.
    public var calibrated: [Double]
}

/// The evaluation of one neuron by one explainer × scorer.
public struct NeuronEvaluation: Sendable {
    public var neuron: NeuronID
    public var explainer: String
    public var scorer: String
    public var explanation: String?
    public var status: EvaluationStatus
    public var error: String?
    /// Records shown to the explainer.
    public var explainRecords: Int
    /// The scorer's result when `status` is ok.
    public var score: UnitScore?

    public var pair: EvaluationPair { EvaluationPair(explainer: explainer, scorer: scorer) }

    public var simulation: SimulationScore? { if case let .simulation(s) = score { return s } else { return nil } }
    public var classification: ClassificationScore? {
        if case let .classification(c) = score { return c } else { return nil }
    }
    /// A simulation scorer's scores.
    public var scores: ScoreSet? { simulation?.scores }
}

/// Neuron records -> explanations -> scores.
///
/// Phase 1 asks every explainer for every neuron at once (explainers may batch, run concurrently, or relate
/// neurons, as the shuffled control does). Phase 2 scores neurons in chunks, every explainer × scorer, so memory
/// stays bounded. Every scorer gets the same held-out records; none ever sees an excerpt the explainer was shown.
public final class Evaluator {
    public let source: NeuronRecordSource
    public let settings: EvaluationSettings

    public init(source: NeuronRecordSource, settings: EvaluationSettings = EvaluationSettings()) {
        self.source = source
        self.settings = settings
    }

    /// The explainer column of rows from scorers that need no explanation.
    public static let noExplainer = "-"

    /// The shorthand of `--simulator X`: every simulator as the scorer `simulation:X`.
    public func run(
        neurons: [NeuronID], explainers: [any Explainer], simulators: [any Simulator],
        progress: (ProgressReport) -> Void = { _ in },
        explained: (String, [NeuronID], [Result<String, EvaluationError>], [[Int]]) throws -> Void = { _, _, _, _ in },
        emit: (NeuronEvaluation) throws -> Void
    ) async throws {
        try await run(
            neurons: neurons, explainers: explainers,
            scorers: simulators.map {
                SimulationScorer(simulator: $0, splits: settings.splits, calibration: settings.calibration)
            }, progress: progress, explained: explained, emit: emit)
    }

    public func run(
        neurons: [NeuronID], explainers: [any Explainer], scorers: [any Scorer],
        progress: (ProgressReport) -> Void = { _ in },
        explained: (String, [NeuronID], [Result<String, EvaluationError>], [[Int]]) throws -> Void = { _, _, _, _ in },
        emit: (NeuronEvaluation) throws -> Void
    ) async throws {
        let started = Date()
        // Phase 1: explanations, of the units that are ever above 0 (the others are dead: no explainer sees them).
        var requests: [ExplainRequest] = []
        var live: [Int] = []
        for (index, id) in neurons.enumerated() {
            let record = try source.record(id)
            if !record.isDead {
                live.append(index)
                requests.append(
                    ExplainRequest(neuron: id, records: RecordSplits(record, sizes: settings.splits).explain))
            }
            if index % 256 == 255 {
                progress(
                    ProgressReport(
                        phase: "read records", done: index + 1, total: neurons.count, unit: "neurons",
                        elapsed: Date().timeIntervalSince(started)))
            }
        }
        var explanations: [[Result<String, EvaluationError>]] = []
        for (index, explainer) in explainers.enumerated() {
            progress(
                ProgressReport(
                    phase: "explain (\(explainer.name))", done: index, total: explainers.count, unit: "explainers",
                    elapsed: Date().timeIntervalSince(started)))
            let results = requests.isEmpty ? [] : await explainer.explain(requests)
            guard results.count == requests.count else {
                throw EvaluationError.explainerFailed(
                    "\(explainer.name) returned \(results.count) results for \(requests.count) neurons")
            }
            explanations.append(Self.spread(results, over: live, count: neurons.count))
            try explained(
                explainer.name, live.map { neurons[$0] }, results, requests.map { $0.records.map(\.excerptID) })
        }
        requests = []

        // Phase 2: score, a chunk of neurons at a time. Scorers that need no explanation (intruder) run once per
        // neuron, as the explainer "-".
        let explained = scorers.filter(\.needsExplanation), alone = scorers.filter { !$0.needsExplanation }
        let unexplained = Self.spread(
            [Result<String, EvaluationError>](repeating: .success(""), count: live.count), over: live,
            count: neurons.count)
        let total = neurons.count * (explainers.count * explained.count + alone.count)
        var done = 0
        for chunkStart in stride(from: 0, to: neurons.count, by: max(1, settings.chunkSize)) {
            let chunk = Array(chunkStart..<min(chunkStart + max(1, settings.chunkSize), neurons.count))
            let records = try chunk.map { try source.record(neurons[$0]) }
            let shown = records.map { Set(RecordSplits($0, sizes: settings.splits).explain.map(\.excerptID)) }
            let jobs =
                explainers.indices.flatMap { e in explained.map { (explanations[e], explainers[e].name, $0) } }
                + alone.map { (unexplained, Self.noExplainer, $0) }
            for (explanations, explainer, scorer) in jobs {
                try await evaluate(
                    chunk: chunk, records: records, shown: shown, neurons: neurons, explanations: explanations,
                    explainer: explainer, scorer: scorer, emit: emit)
                done += chunk.count
                progress(
                    ProgressReport(
                        phase: "score", done: done, total: total, unit: "neuron evaluations",
                        elapsed: Date().timeIntervalSince(started)))
            }
        }
    }

    /// `results` of the live units at their places among `count` units; the others dead.
    private static func spread(
        _ results: [Result<String, EvaluationError>], over live: [Int], count: Int
    )
        -> [Result<String, EvaluationError>]
    {
        var all = [Result<String, EvaluationError>](repeating: .failure(.deadUnit), count: count)
        for (result, index) in zip(results, live) { all[index] = result }
        return all
    }

    private func evaluate(
        chunk: [Int], records: [NeuronRecord], shown: [Set<Int>], neurons: [NeuronID],
        explanations: [Result<String, EvaluationError>], explainer: String, scorer: any Scorer,
        emit: (NeuronEvaluation) throws -> Void
    ) async throws {
        var requests: [ScoreRequest] = [], requested: [Int] = []
        for (position, index) in chunk.enumerated() {
            if case let .success(explanation) = explanations[index] {
                requests.append(
                    ScoreRequest(
                        neuron: neurons[index], explanation: explanation, record: records[position],
                        shown: shown[position]))
                requested.append(position)
            }
        }
        let results = requests.isEmpty ? [] : await scorer.score(requests)
        guard results.count == requests.count else {
            throw EvaluationError.invalidSpecification(
                "scorer \(scorer.name) returned \(results.count) results for \(requests.count) neurons")
        }
        let resultAt = Dictionary(uniqueKeysWithValues: zip(requested, results))
        for (position, index) in chunk.enumerated() {
            var evaluation = NeuronEvaluation(
                neuron: neurons[index], explainer: explainer, scorer: scorer.name, explanation: nil, status: .ok,
                error: nil, explainRecords: scorer.needsExplanation ? shown[position].count : 0, score: nil)
            switch explanations[index] {
            case let .failure(error):
                evaluation.status =
                    switch error {
                    case .missingExplanation: .missing
                    case .deadUnit: .dead
                    default: .failed
                    }
                evaluation.error = error.localizedDescription
            case let .success(explanation):
                evaluation.explanation = explanation
                switch resultAt[position]! {
                case let .success(score): evaluation.score = score
                case let .failure(error):
                    evaluation.status = .failed
                    evaluation.error = error.localizedDescription
                }
            }
            try emit(evaluation)
        }
    }
}
