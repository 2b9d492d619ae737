import ActivationStore
import Foundation
import TestSupport
import XCTest

@testable import Evaluation

/// The run directory's formats across versions: runs written before scorers existed still read, and
/// judgements.jsonl.gz reads back what was judged.
final class RunFormatTests: XCTestCase {
    /// scores.csv and run.json as neuronbench wrote them before the scorer column (2026-11).
    func testARunWrittenBeforeScorersReadsAsSimulationScores() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let header =
            "layer,neuron,explainer,simulator,calibration,status,explanation,correlation,top_correlation,"
            + "random_correlation,r_squared,absolute_dev_explained,score_notes,explain_records,score_top_records,"
            + "score_random_records,scored_tokens,error\r\n"
        try (header + "0,1,token-list,keyword,linear,ok,the token \"\"a\"\",0.5,0.25,NaN,0.1,0.2,,5,5,5,640,\r\n")
            .write(to: directory.appendingPathComponent("scores.csv"), atomically: true, encoding: .utf8)
        let scores = try RunScores(directory: directory.path)
        XCTAssertEqual(scores.pairs, [EvaluationPair(explainer: "token-list", scorer: "simulation:keyword")])
        let row = try XCTUnwrap(scores.rows.first)
        XCTAssertEqual(row.correlation, 0.5)
        XCTAssertEqual(row.topCorrelation, 0.25)
        XCTAssertTrue(row.randomCorrelation.isNaN)
        XCTAssertEqual(row.definedHeadline, 0.5)
        XCTAssertNil(row.defined("f1"), "simulation rows have no classification metrics")

        let manifest = """
            {"database": "/data/a.db", "neurons": "all", "explainers": ["token-list"], "simulators": ["keyword"],
             "calibration": "linear", "explain_records": 5, "score_top_records": 5, "score_random_records": 5,
             "seed": 0, "tool": "neuronbench 0.9", "complete": true, "neurons_evaluated": 1}
            """
        let decoded = try JSONDecoder().decode(RunManifest.self, from: Data(manifest.utf8))
        XCTAssertEqual(decoded.scorers, ["simulation:keyword"])
        XCTAssertNil(decoded.examples)
        XCTAssertEqual(try RunContents.judgements(directory: directory.path).count, 0, "no file: no judgements")
    }

    func testAnUnknownScorerOrAMissingMetricColumnIsRefusedWithItsLine() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let file = directory.appendingPathComponent("scores.csv")
        try "layer,neuron,explainer,scorer,status,correlation\r\n0,0,x,telepathy:keyword,ok,0.1\r\n".write(
            to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsMessage(
            try RunScores(directory: directory.path), contains: [file.path, "line 2", "unknown scorer \"telepathy"])
        try "layer,neuron,explainer,scorer,status,correlation\r\n0,0,x,detection:keyword,ok,0.1\r\n".write(
            to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsMessage(
            try RunScores(directory: directory.path), contains: ["line 2", "the columns of detection metrics"])
    }

    func testJudgementsReadBackExactlyAndTheTablesAgreeWithThem() async throws {
        let directory = try TestSupport.temporaryDirectory(self).appendingPathComponent("run")
        let writer = try RunWriter(directory: directory)
        let judgements = [
            Judgement(
                excerptID: 7, source: "top", label: true, highlighted: [2, 3], call: 0, position: 1,
                answer: JudgeAnswer(yes: true, confidence: 0.75)),
            Judgement(
                excerptID: 9, source: "random", label: false, highlighted: [2, 3], call: 0, position: 0,
                answer: JudgeAnswer(yes: true, confidence: nil)),
        ]
        let metrics = ClassificationMetrics(labels: [true, false], predictions: [true, true])
        try writer.add(
            NeuronEvaluation(
                neuron: NeuronID(layer: 2, neuron: 5), explainer: "token-list", scorer: "fuzzing:keyword",
                explanation: "the token \"a\"", status: .ok, error: nil, explainRecords: 5,
                score: .classification(
                    ClassificationScore(task: .fuzzing, metrics: metrics, threshold: 1.5, judgements: judgements))))
        var settings = EvaluationSettings()
        settings.examples.perCall = 2
        try writer.finish(
            manifest: RunManifest(
                database: "memory", neurons: "all", explainers: ["token-list"], scorers: ["fuzzing:keyword"],
                settings: settings, seed: 0, tool: "test"))
        let rows = try RunContents.judgements(directory: directory.path)
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0].pair, EvaluationPair(explainer: "token-list", scorer: "fuzzing:keyword"))
        XCTAssertEqual(rows[0].threshold, 1.5)
        XCTAssertEqual(rows[0].examples.map(\.excerptID), [7, 9])
        XCTAssertEqual(rows[0].examples.map(\.answer), [1, 1])
        XCTAssertEqual(rows[0].examples.map(\.confidence), [0.75, nil])
        XCTAssertEqual(rows[0].examples[0].highlighted, [2, 3])
        let scores = try RunScores(directory: directory.path)
        let row = try XCTUnwrap(scores.rows.first)
        XCTAssertEqual(row.metric("balanced_accuracy"), 0.5)
        XCTAssertEqual(row.metric("precision"), 0.5)
        XCTAssertTrue(row.metric("auroc").isNaN, "one answer had no confidence")
        XCTAssertTrue(row.notes.contains("auroc: the judge gave no confidences"), row.notes)
        XCTAssertTrue(row.correlation.isNaN)
        let manifest = try RunContents.manifest(directory: directory.path)
        XCTAssertEqual(manifest.examples?.perCall, 2)
        XCTAssertEqual(manifest.simulators, [])
    }

    /// Every column and file the writer writes is documented in Schemas/scores.md, in backquotes.
    func testEveryColumnAndFileIsDocumented() throws {
        let schema = try String(
            contentsOf: TestSupport.repositoryRoot.appendingPathComponent("Schemas/scores.md"), encoding: .utf8)
        let names =
            ScoreColumn.allCases.map(\.rawValue) + SummaryColumn.allCases.map(\.rawValue)
            + ScorerKind.allCases.flatMap(\.metrics)
        for name in names { XCTAssertTrue(schema.contains("`\(name)`"), "\(name) is not in Schemas/scores.md") }
        for file in RunFile.allCases { XCTAssertTrue(schema.contains(file.rawValue), file.rawValue) }
    }
}
