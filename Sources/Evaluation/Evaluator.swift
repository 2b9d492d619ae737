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
    /// Neurons simulated per call to a simulator.
    public var chunkSize = 64

    public init() {}
}

public enum EvaluationStatus: String, Sendable, Codable {
    case ok
    /// The explainer or simulator failed for this neuron: counted, never scored as 0.
    case failed
    /// The explainer has no explanation for this neuron (e.g. not in an imported file).
    case missing
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

/// The evaluation of one neuron by one explainer × simulator.
public struct NeuronEvaluation: Sendable {
    public var neuron: NeuronID
    public var explainer: String
    public var simulator: String
    public var calibration: CalibrationMethod
    public var explanation: String?
    public var status: EvaluationStatus
    public var error: String?
    public var scores: ScoreSet?
    public var explainRecords: Int
    public var scoreTopRecords: Int
    public var scoreRandomRecords: Int
    public var scoredTokens: Int
    public var records: [SimulatedRecord]

    public var pair: EvaluationPair { EvaluationPair(explainer: explainer, simulator: simulator) }
}

/// Neuron records -> explanations -> simulations -> calibration -> scores.
///
/// Phase 1 asks every explainer for every neuron at once (explainers may batch, run concurrently, or relate
/// neurons, as the shuffled control does). Phase 2 simulates neurons in chunks, so memory stays bounded.
/// Correlations are computed on the simulator's own values (calibration cannot change them); R² and absolute
/// deviation explained on the calibrated values.
public final class Evaluator {
    public let source: NeuronRecordSource
    public let settings: EvaluationSettings

    public init(source: NeuronRecordSource, settings: EvaluationSettings = EvaluationSettings()) {
        self.source = source
        self.settings = settings
    }

    public func run(
        neurons: [NeuronID], explainers: [any Explainer], simulators: [any Simulator],
        progress: (ProgressReport) -> Void = { _ in },
        explained: (String, [NeuronID], [Result<String, EvaluationError>], [[Int]]) throws -> Void = { _, _, _, _ in },
        emit: (NeuronEvaluation) throws -> Void
    ) async throws {
        let started = Date()
        // Phase 1: explanations.
        var requests: [ExplainRequest] = []
        for (index, id) in neurons.enumerated() {
            requests.append(
                ExplainRequest(neuron: id, records: RecordSplits(try source.record(id), sizes: settings.splits).explain)
            )
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
            let results = await explainer.explain(requests)
            guard results.count == requests.count else {
                throw EvaluationError.explainerFailed(
                    "\(explainer.name) returned \(results.count) results for \(requests.count) neurons")
            }
            explanations.append(results)
            try explained(explainer.name, neurons, results, requests.map { $0.records.map(\.excerptID) })
        }
        requests = []

        // Phase 2: simulate and score, a chunk of neurons at a time.
        let total = neurons.count * explainers.count * simulators.count
        var done = 0
        for chunkStart in stride(from: 0, to: neurons.count, by: max(1, settings.chunkSize)) {
            let chunk = Array(chunkStart..<min(chunkStart + max(1, settings.chunkSize), neurons.count))
            let splits = try chunk.map { RecordSplits(try source.record(neurons[$0]), sizes: settings.splits) }
            for (e, explainer) in explainers.enumerated() {
                for simulator in simulators {
                    try await evaluate(
                        chunk: chunk, splits: splits, neurons: neurons, explanations: explanations[e],
                        explainer: explainer.name, simulator: simulator, emit: emit)
                    done += chunk.count
                    progress(
                        ProgressReport(
                            phase: "simulate and score", done: done, total: total, unit: "neuron evaluations",
                            elapsed: Date().timeIntervalSince(started)))
                }
            }
        }
    }

    private func evaluate(
        chunk: [Int], splits: [RecordSplits], neurons: [NeuronID],
        explanations: [Result<String, EvaluationError>], explainer: String, simulator: any Simulator,
        emit: (NeuronEvaluation) throws -> Void
    ) async throws {
        // Every record to simulate, per neuron: calibration (if used), then scored top and random.
        var requests: [SimulationRequest] = []
        var plan:
            [(position: Int, explanation: String, records: [(SimulatedRecord.Role, ActivationRecord)], first: Int)] = []
        var failures: [(Int, EvaluationStatus, String)] = []
        for (position, index) in chunk.enumerated() {
            switch explanations[index] {
            case let .failure(error):
                failures.append(
                    (position, error == .missingExplanation ? .missing : .failed, error.localizedDescription))
            case let .success(explanation):
                let s = splits[position]
                let records =
                    (settings.calibration == .none ? [] : s.calibration.map { (SimulatedRecord.Role.calibration, $0) })
                    + s.scoreTop.map { (.top, $0) } + s.scoreRandom.map { (.random, $0) }
                plan.append((position, explanation, records, requests.count))
                requests += records.map {
                    SimulationRequest(explanation: explanation, tokens: $0.1.tokens, neuron: neurons[index])
                }
            }
        }
        let results = requests.isEmpty ? [] : await simulator.simulate(requests)
        guard results.count == requests.count else {
            throw EvaluationError.simulatorFailed(
                "\(simulator.name) returned \(results.count) results for \(requests.count) requests")
        }
        var evaluations: [Int: NeuronEvaluation] = [:]
        for (position, status, error) in failures {
            evaluations[position] = base(
                neurons[chunk[position]], explainer, simulator.name, nil, splits[position], status: status, error: error
            )
        }
        for item in plan {
            var evaluation = base(
                neurons[chunk[item.position]], explainer, simulator.name, item.explanation, splits[item.position],
                status: .ok, error: nil)
            var simulated: [SimulatedRecord] = []
            for (offset, (role, record)) in item.records.enumerated() {
                switch results[item.first + offset] {
                case let .failure(error):
                    evaluation.status = .failed
                    evaluation.error = error.localizedDescription
                case let .success(values) where values.count != record.tokens.count:
                    evaluation.status = .failed
                    evaluation.error = "simulator returned \(values.count) values for \(record.tokens.count) tokens"
                case let .success(values):
                    simulated.append(
                        SimulatedRecord(
                            role: role, excerptID: record.excerptID, tokens: record.tokens,
                            actual: record.activations, simulated: values, calibrated: values))
                }
                if evaluation.status == .failed { break }
            }
            if evaluation.status == .ok {
                let calibrationRecords = simulated.filter { $0.role == .calibration }
                let calibration = Calibration.fit(
                    settings.calibration, simulated: calibrationRecords.flatMap(\.simulated),
                    actual: calibrationRecords.flatMap { $0.actual.map(Double.init) })
                for i in simulated.indices where simulated[i].role != .calibration {
                    simulated[i].calibrated = calibration.apply(simulated[i].simulated)
                }
                let top = simulated.filter { $0.role == .top }, random = simulated.filter { $0.role == .random }
                func pairs(_ records: [SimulatedRecord], calibrated: Bool) -> [([Double], [Double])] {
                    records.map { ($0.actual.map(Double.init), calibrated ? $0.calibrated : $0.simulated) }
                }
                var scores = Scoring.scores(
                    top: pairs(top, calibrated: false), random: pairs(random, calibrated: false))
                let calibrated = Scoring.scores(
                    top: pairs(top, calibrated: true), random: pairs(random, calibrated: true))
                scores.rSquared = calibrated.rSquared
                scores.absoluteDeviationExplained = calibrated.absoluteDeviationExplained
                evaluation.scores = scores
                evaluation.records = simulated
            }
            evaluations[item.position] = evaluation
        }
        for position in chunk.indices { try emit(evaluations[position]!) }
    }

    private func base(
        _ id: NeuronID, _ explainer: String, _ simulator: String, _ explanation: String?, _ splits: RecordSplits,
        status: EvaluationStatus, error: String?
    ) -> NeuronEvaluation {
        NeuronEvaluation(
            neuron: id, explainer: explainer, simulator: simulator, calibration: settings.calibration,
            explanation: explanation, status: status, error: error, scores: nil,
            explainRecords: splits.explain.count, scoreTopRecords: splits.scoreTop.count,
            scoreRandomRecords: splits.scoreRandom.count,
            scoredTokens: (splits.scoreTop + splits.scoreRandom).reduce(0) { $0 + $1.tokens.count }, records: [])
    }
}
