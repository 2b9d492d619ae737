import ActivationStore
import Foundation
import TestSupport
import XCTest

@testable import Evaluation

/// The evaluator end to end on neurons built in memory, including failures that must never score as 0.
final class EvaluatorTests: XCTestCase {
    /// Neuron i fires (value 2) on token "w\(i)" and is 0 elsewhere; 24 top and 15 random records of 8 tokens.
    func neurons(_ count: Int) -> [NeuronRecord] {
        (0..<count).map { i in
            func excerpt(_ id: Int) -> ActivationRecord {
                let tokens = (0..<8).map { " w\(($0 + id) % (count + 3))" }
                return ActivationRecord(
                    excerptID: id, tokens: tokens, activations: tokens.map { $0 == " w\(i)" ? 2 : 0 })
            }
            let all = (0..<60).map(excerpt)
            let top = all.sorted { ($0.maxActivation, -$0.excerptID) > ($1.maxActivation, -$1.excerptID) }.prefix(24)
            return NeuronRecord(
                id: NeuronID(layer: i % 2, neuron: i), mostPositive: Array(top), random: Array(all.suffix(15)))
        }
    }

    func evaluate(
        _ records: [NeuronRecord], _ explainers: [any Explainer], _ simulators: [any Simulator],
        calibration: CalibrationMethod = .linear
    ) async throws -> (RunWriter, [NeuronEvaluation], URL) {
        var settings = EvaluationSettings()
        settings.calibration = calibration
        settings.chunkSize = 3
        let directory = try TestSupport.temporaryDirectory(self)
        let report = try RunWriter(directory: directory)
        var results: [NeuronEvaluation] = []
        try await Evaluator(source: InMemoryRecords(records), settings: settings).run(
            neurons: records.map(\.id), explainers: explainers, simulators: simulators, explained: report.explained
        ) {
            results.append($0)
            try report.add($0)
        }
        try report.finish(
            manifest: RunManifest(
                database: "memory", neurons: "all", explainers: explainers.map(\.name),
                scorers: simulators.map { "simulation:\($0.name)" }, settings: settings, seed: 0, tool: "test"))
        return (report, results, directory)
    }

    func testBaselineRecoversPlantedTokensAndWritesEveryFile() async throws {
        let (_, results, directory) = try await evaluate(
            neurons(6), [TokenListExplainer(), ShuffledExplainer(base: TokenListExplainer(), seed: 1)],
            [KeywordSimulator()])
        XCTAssertEqual(results.count, 12)
        for result in results where result.explainer == "token-list" {
            XCTAssertEqual(result.status, .ok)
            XCTAssertEqual(result.explanation, "the token \"w\(result.neuron.neuron)\"")
            XCTAssertEqual(result.scores?.correlation.value ?? 0, 1, accuracy: 1e-9)
            XCTAssertEqual(result.scores?.rSquared.value ?? 0, 1, accuracy: 1e-9, "linear calibration maps 10 to 2")
            XCTAssertEqual(result.simulation?.scoredTokens, 80)
        }
        for result in results where result.explainer.hasPrefix("shuffled") {
            XCTAssertNotEqual(result.explanation, "the token \"w\(result.neuron.neuron)\"")
            XCTAssertLessThan(result.scores?.correlation.value ?? 0, 0.5)
        }
        for name in ["scores.csv", "summary.csv", "explanations.jsonl", "simulations.jsonl.gz", "run.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), name)
        }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: directory.appendingPathComponent("scores.csv.partial").path))
        let scores = try CSV.parse(String(contentsOf: directory.appendingPathComponent("scores.csv"), encoding: .utf8))
        XCTAssertEqual(scores[0].fields, ScoreColumn.allCases.map(\.rawValue))
        XCTAssertEqual(scores.count, 13)
        let summary = try CSV.parse(
            String(contentsOf: directory.appendingPathComponent("summary.csv"), encoding: .utf8))
        XCTAssertEqual(summary[0].fields, SummaryColumn.allCases.map(\.rawValue))
        // explainer, scorer, simulator, calibration, metric, layer, neurons, scored, …, mean (11)
        let correlationRows = summary.filter { $0.fields[0] == "token-list" && $0.fields[4] == "correlation" }
        let tokenListAll = try XCTUnwrap(correlationRows.first { $0.fields[5] == "all" })
        XCTAssertEqual(Array(tokenListAll.fields[1...3]), ["simulation:keyword", "keyword", "linear"])
        XCTAssertEqual(tokenListAll.fields[6], "6")  // neurons
        XCTAssertEqual(tokenListAll.fields[7], "6")  // scored
        XCTAssertEqual(tokenListAll.fields[SummaryColumn.allCases.firstIndex(of: .dead)!], "0")
        XCTAssertEqual(Double(tokenListAll.fields[SummaryColumn.allCases.firstIndex(of: .mean)!])!, 1, accuracy: 1e-9)
        XCTAssertEqual(correlationRows.map { $0.fields[5] }, ["all", "0", "1"])
        XCTAssertEqual(
            Set(summary.filter { $0.fields[0] == "token-list" }.map { $0.fields[4] }), Set(ScoreSet.metricNames),
            "one summary per simulation metric")
        // The explanations name the excerpts they were made from, all outside the scored ones.
        let explanations = try String(
            contentsOf: directory.appendingPathComponent("explanations.jsonl"), encoding: .utf8)
        XCTAssertTrue(explanations.contains("\"explain_excerpt_ids\""))
    }

    func testFailuresAreRecordedNeverScored() async throws {
        let records = neurons(4)
        let imported = try ImportedExplainer(
            path: try {
                let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("e.csv").path
                try "layer,neuron,explanation\n0,0,\"the token \"\"w0\"\"\"\n1,1,w1\n0,2,w2\n".write(
                    toFile: path, atomically: true, encoding: .utf8)
                return path
            }())
        let (report, results, directory) = try await evaluate(records, [imported], [FlakySimulator()])
        let byNeuron = Dictionary(uniqueKeysWithValues: results.map { ($0.neuron.neuron, $0) })
        XCTAssertEqual(byNeuron[0]?.status, .ok)
        XCTAssertEqual(byNeuron[1]?.status, .failed)  // the simulator returns a wrong number of values
        XCTAssertTrue(byNeuron[1]?.error?.contains("values for 8 tokens") ?? false)
        XCTAssertEqual(byNeuron[2]?.status, .failed)  // the simulator reports a failure
        XCTAssertTrue(byNeuron[2]?.error?.contains("rate limited") ?? false)
        XCTAssertEqual(byNeuron[3]?.status, .missing)  // the file has no explanation for 0:3
        XCTAssertNil(byNeuron[1]?.scores)
        let counts = try XCTUnwrap(report.statusCounts.first)
        XCTAssertEqual([counts.ok, counts.failed, counts.missing], [1, 2, 1])
        let scores = try CSV.parse(String(contentsOf: directory.appendingPathComponent("scores.csv"), encoding: .utf8))
        let failedRow = try XCTUnwrap(scores.first { $0.fields[1] == "1" })
        XCTAssertEqual(failedRow.fields[6], "failed")
        XCTAssertEqual(failedRow.fields[8], "NaN", "a failed neuron's score is NaN, never 0")
        let summary = try CSV.parse(
            String(contentsOf: directory.appendingPathComponent("summary.csv"), encoding: .utf8))
        let all = try XCTUnwrap(summary.first { $0.fields[5] == "all" && $0.fields[4] == "correlation" })
        // neurons, scored, undefined, failed, missing
        XCTAssertEqual(Array(all.fields[6...10]), ["4", "1", "0", "2", "1"])
    }

    /// A unit never above 0 (a dead latent; here one all 0 and one all negative) reaches no explainer or scorer:
    /// its rows are `dead` for every explainer × scorer, the intruder included, counted in summary.csv's own
    /// column, neither failed nor scored; the live units keep their own explanations (none is shifted onto a
    /// neighbour by the dead one's absence).
    func testDeadUnitsAreNeverExplainedNorScoredAndCountedApart() async throws {
        var records = neurons(5)
        for (index, value) in [(1, Float(0)), (3, Float(-0.5))] {
            func silent(_ r: ActivationRecord) -> ActivationRecord {
                ActivationRecord(
                    excerptID: r.excerptID, tokens: r.tokens, activations: r.activations.map { _ in value })
            }
            records[index].mostPositive = records[index].mostPositive.map(silent)
            records[index].random = records[index].random.map(silent)
        }
        let recorder = RequestRecorder()
        var settings = EvaluationSettings()
        settings.chunkSize = 2
        let directory = try TestSupport.temporaryDirectory(self)
        let writer = try RunWriter(directory: directory)
        var results: [NeuronEvaluation] = []
        let scorers: [any Scorer] = [
            SimulationScorer(simulator: KeywordSimulator(), splits: settings.splits, calibration: .linear),
            IntruderScorer(judge: KeywordJudge(), settings: settings.examples, seed: 0),
        ]
        try await Evaluator(source: InMemoryRecords(records), settings: settings).run(
            neurons: records.map(\.id),
            explainers: [recorder, ShuffledExplainer(base: TokenListExplainer(), seed: 3)], scorers: scorers,
            explained: writer.explained
        ) {
            results.append($0)
            try writer.add($0)
        }
        XCTAssertEqual(recorder.requested, [0, 2, 4], "only the live units are sent to the explainer")
        XCTAssertEqual(results.count, 5 * (2 * 1 + 1))
        for result in results {
            let dead = [1, 3].contains(result.neuron.neuron)
            XCTAssertEqual(result.status, dead ? .dead : .ok, "\(result.neuron) \(result.pair)")
            XCTAssertNil(dead ? result.score : nil)
            if !dead && result.explainer == recorder.name {
                XCTAssertEqual(result.explanation, "unit \(result.neuron.neuron)")
            }
        }
        for counts in writer.statusCounts {
            XCTAssertEqual([counts.ok, counts.failed, counts.missing, counts.dead], [3, 0, 0, 2], "\(counts.pair)")
        }
        try writer.finish(
            manifest: RunManifest(
                database: "memory", neurons: "all", explainers: [recorder.name], scorers: scorers.map(\.name),
                settings: settings, seed: 0, tool: "test"))
        let summary = try CSV.parse(
            String(contentsOf: directory.appendingPathComponent("summary.csv"), encoding: .utf8))
        let column = { (name: SummaryColumn) in SummaryColumn.allCases.firstIndex(of: name)! }
        let rows = summary.dropFirst().filter { $0.fields[column(.layer)] == "all" }
        XCTAssertFalse(rows.isEmpty)
        for row in rows {
            XCTAssertEqual(
                [row.fields[column(.neurons)], row.fields[column(.failed)], row.fields[column(.dead)]], ["5", "0", "2"])
        }
        let readBack = try RunScores(directory: directory.path)
        XCTAssertEqual(readBack.rows.filter { $0.status == .dead }.count, 2 * 3)
        let explanations = try String(
            contentsOf: directory.appendingPathComponent("explanations.jsonl"), encoding: .utf8)
        XCTAssertEqual(explanations.split(separator: "\n").count, 2 * 3, "explanations of the live units only")
    }

    func testCalibrationDoesNotChangeCorrelationButChangesRSquared() async throws {
        let records = neurons(3)
        var correlations: [CalibrationMethod: [Double]] = [:], rSquared: [CalibrationMethod: [Double]] = [:]
        for method in CalibrationMethod.allCases {
            let (_, results, _) = try await evaluate(
                records, [TokenListExplainer()], [KeywordSimulator()], calibration: method)
            correlations[method] = results.map { $0.scores!.correlation.number }
            rSquared[method] = results.map { $0.scores!.rSquared.number }
        }
        XCTAssertEqual(correlations[.none], correlations[.linear])
        XCTAssertEqual(correlations[.none], correlations[.percentile])
        XCTAssertLessThan(rSquared[.none]!.max()!, 0, "predicting 10 for a true 2 is worse than predicting 0")
        XCTAssertEqual(rSquared[.linear]!.min()!, 1, accuracy: 1e-9)
    }
}

/// Explains unit i as "unit i" and remembers which units it was asked about.
final class RequestRecorder: Explainer, @unchecked Sendable {
    let name = "recorder"
    private let lock = NSLock()
    private var asked: [Int] = []
    var requested: [Int] { lock.withLock { asked } }
    func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>] {
        lock.withLock { asked.append(contentsOf: requests.map(\.neuron.neuron)) }
        return requests.map { .success("unit \($0.neuron.neuron)") }
    }
}

/// Fails in two ways: neuron w1's explanation gets one value too few; w2's an error.
struct FlakySimulator: Simulator {
    var name: String { "flaky" }
    func simulate(_ requests: [SimulationRequest]) async -> [Result<[Double], EvaluationError>] {
        requests.map { request in
            if request.explanation == "w1" { return .success(Array(repeating: 0, count: request.tokens.count - 1)) }
            if request.explanation == "w2" { return .failure(.simulatorFailed("rate limited")) }
            return .success(KeywordSimulator.predict(KeywordSimulator.terms(of: request.explanation), request.tokens))
        }
    }
}
