import ActivationStore
import Evaluation
import Foundation
import TestSupport
import XCTest

@testable import Interop

/// OpenAI's files read the way OpenAI's own loader reads them (tagged or plain, `layer` / `idx` aliases, string
/// layer indices, `null` scores) and refused the way it refuses them (an unknown key, another class's tag), each
/// problem naming the file and the field; `#best` picks the best-scored explanation.
final class OpenAIFormatTests: XCTestCase {
    var tree: URL!

    override func setUpWithError() throws {
        tree = try TestSupport.temporaryDirectory(self).appendingPathComponent("explanations")
        try FileManager.default.createDirectory(
            at: tree.appendingPathComponent("3"), withIntermediateDirectories: true)
    }

    func write(_ text: String, neuron: Int) throws -> String {
        let path = tree.appendingPathComponent("3/\(neuron).jsonl").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func explanation(_ text: String, score: String, tagged: Bool = true) -> String {
        let tag = { (name: String) in tagged ? ",\"dataclass_name\":\"\(name)\"" : "" }
        return
            "{\"explanation\":\"\(text)\",\"scored_simulation\":{\"scored_sequence_simulations\":[],\"ev_correlation_score\":\(score),\"rsquared_score\":null,\"absolute_dev_explained_score\":null\(tag("ScoredSimulation"))}\(tag("ScoredExplanation"))}"
    }

    func testTaggedPlainAliasesNullsAndBest() async throws {
        // As OpenAI publishes them: tagged, the first explanation the one shown.
        _ = try write(
            "{\"neuron_id\":{\"layer_index\":3,\"neuron_index\":7,\"dataclass_name\":\"NeuronId\"},\"scored_explanations\":[\(explanation("first", score: "0.25")),\(explanation("second", score: "0.5")),\(explanation("undefined", score: "null"))],\"dataclass_name\":\"NeuronSimulationResults\"}\n",
            neuron: 7)
        // Plain objects, later OpenAI code's aliases and a string layer index.
        _ = try write(
            "{\"neuron_id\":{\"layer\":\"3\",\"idx\":8},\"scored_explanations\":[\(explanation("plain", score: "null", tagged: false))]}",
            neuron: 8)
        let first = try OpenAIExplainer(argument: tree.deletingLastPathComponent().path)
        XCTAssertEqual(first.tree, tree.path, "the parent of explanations/ is accepted")
        XCTAssertEqual(try first.explanation(NeuronID(layer: 3, neuron: 7)), "first")
        XCTAssertEqual(try first.explanation(NeuronID(layer: 3, neuron: 8)), "plain")
        XCTAssertNil(try first.explanation(NeuronID(layer: 3, neuron: 9)), "no file: missing")
        let best = try OpenAIExplainer(argument: tree.path + "#best")
        XCTAssertEqual(best.name, "openai:explanations#best")
        XCTAssertEqual(try best.explanation(NeuronID(layer: 3, neuron: 7)), "second")
        XCTAssertEqual(try best.explanation(NeuronID(layer: 3, neuron: 8)), "plain", "no numeric score: the first")
        let results = try OpenAIFormat.NeuronSimulationResults(file: tree.appendingPathComponent("3/7.jsonl").path)
        XCTAssertEqual(results.scoredExplanations.map(\.correlation), [0.25, 0.5, nil])
        // What it writes reads back the same.
        let again = try write(results.fileText, neuron: 10)
        XCTAssertEqual(
            try OpenAIFormat.NeuronSimulationResults(file: again).scoredExplanations, results.scoredExplanations)
        let requests = [7, 9].map {
            ExplainRequest(neuron: NeuronID(layer: 3, neuron: $0), records: [])
        }
        let answers = await first.explain(requests)
        XCTAssertEqual(try answers[0].get(), "first")
        XCTAssertEqual(answers[1].failureValue, .missingExplanation)
    }

    func testBadFilesNameTheFileAndTheField() throws {
        let cases: [(String, String)] = [
            (
                "{\"neuron_id\":{\"layer_index\":3,\"neuron_index\":1},\"scored_expla",
                "not valid JSON (truncated or damaged?)"
            ),
            ("{}\n{}\n", "expected exactly one line (a NeuronSimulationResults), found 2"),
            ("", "expected exactly one line (a NeuronSimulationResults), found 0"),
            (
                "{\"neuron_id\":{\"layer_index\":3,\"neuron_index\":1},\"scored_explanations\":[{\"explanation\":5,\"scored_simulation\":{\"scored_sequence_simulations\":[]}}]}",
                "scored_explanations[0].explanation: expected a string"
            ),
            (
                "{\"neuron_id\":{\"layer_index\":3,\"neuron_index\":1},\"scored_explanations\":[],\"dataclass_name\":\"NeuronRecord\"}",
                "dataclass_name \"NeuronRecord\" where a NeuronSimulationResults belongs"
            ),
            (
                "{\"neuron_id\":{\"layer_index\":3,\"neuron_index\":1,\"extra\":1},\"scored_explanations\":[]}",
                "neuron_id: NeuronId has no field \"extra\""
            ),
            (
                "{\"neuron_id\":{\"layer_index\":true,\"neuron_index\":1},\"scored_explanations\":[]}",
                "neuron_id.layer_index: expected an integer"
            ),
            (
                "{\"neuron_id\":{\"layer_index\":3,\"neuron_index\":1},\"scored_explanations\":[\(explanation("x", score: "\"high\""))]}",
                "scored_explanations[0].scored_simulation.ev_correlation_score: expected a number or null"
            ),
            (
                "{\"neuron_id\":{\"layer_index\":3,\"neuron_index\":2},\"scored_explanations\":[\(explanation("x", score: "1"))]}",
                "holds neuron 3:2, not 3:1"
            ),
        ]
        let explainer = try OpenAIExplainer(argument: tree.path)
        for (text, reason) in cases {
            let path = try write(text, neuron: 1)
            XCTAssertThrowsError(try explainer.explanation(NeuronID(layer: 3, neuron: 1)), reason) { error in
                XCTAssertEqual(error.localizedDescription, "\(path): \(reason)")
            }
        }
        XCTAssertThrowsError(try OpenAIExplainer(argument: "/nonexistent/tree")) { error in
            XCTAssertTrue(error.localizedDescription.hasPrefix("/nonexistent/tree: not found"), "\(error)")
        }
    }

    /// Without a sidecar, identical token sequences are one excerpt, so that the splits still keep an excerpt
    /// shown to the explainer out of scoring; with one, the ids are the database's.
    func testRecordsWithoutASidecarShareIDsByTokens() throws {
        let records = tree.deletingLastPathComponent().appendingPathComponent("collated-activations/0")
        try FileManager.default.createDirectory(at: records, withIntermediateDirectories: true)
        func record(_ tokens: [String], _ values: [Float]) -> OpenAIFormat.ActivationRecord {
            .init(tokens: tokens, activations: values)
        }
        let shared = record([" a", " b"], [1, 0])
        let neuron = OpenAIFormat.NeuronRecord(
            id: .init(layer: 0, neuron: 5), randomSample: [record([" c"], [0]), shared],
            randomSampleByQuantile: [[], [], [], [shared]], quantileBoundaries: [0, 0.5, 0.9, .nan], mean: 0.1,
            variance: nil, skewness: nil, kurtosis: nil, mostPositive: [shared, record([" d", " e"], [0.5, 0.25])])
        try neuron.fileText.write(
            to: records.appendingPathComponent("5.json"), atomically: true, encoding: .utf8)
        // What it writes reads back the same (NaN boundaries, as null, too).
        XCTAssertEqual(
            try OpenAIFormat.NeuronRecord(file: records.appendingPathComponent("5.json").path).fileText, neuron.fileText
        )
        XCTAssertTrue(neuron.fileText.contains("\"quantile_boundaries\":[0.0,0.5,0.9,null]"), neuron.fileText)
        let source = try OpenAIRecordSource(
            directory: records.deletingLastPathComponent().deletingLastPathComponent().path)
        XCTAssertEqual(try source.neuronIDs(), [NeuronID(layer: 0, neuron: 5)])
        let read = try source.record(NeuronID(layer: 0, neuron: 5))
        XCTAssertEqual(read.mostPositive[0].excerptID, read.random[1].excerptID)
        XCTAssertEqual(read.mostPositive[0].excerptID, read.randomByQuantile[3][0].excerptID)
        XCTAssertNotEqual(read.mostPositive[0].excerptID, read.mostPositive[1].excerptID)
        XCTAssertTrue(read.variance.isNaN, "null is NaN")
        XCTAssertEqual(read.quantileBoundaries.count, 4)
        XCTAssertTrue(read.quantileBoundaries[3].isNaN)
        XCTAssertThrowsError(try source.record(NeuronID(layer: 0, neuron: 6))) { error in
            XCTAssertTrue(error.localizedDescription.contains("0/6.json: not found"), "\(error)")
        }
    }
}

extension Result {
    var failureValue: Failure? { if case let .failure(error) = self { return error } else { return nil } }
}
