import ActivationStore
import Foundation
import TestSupport
import XCTest

@testable import Evaluation

/// Detection and fuzzing: metrics against scikit-learn, the NaN rule by hand, example selection, the keyword judge
/// and failures that are never answers.
final class ClassificationTests: XCTestCase {
    /// scikit-learn's values on the cases of Scripts/make-classification-fixtures.py (both classes present).
    func testMetricsEqualScikitLearn() throws {
        struct Case: Decodable {
            var name: String
            var labels, predictions: [Int]
            var confidences: [Double]
            var accuracy, balanced_accuracy, precision, recall, f1, auroc: Double?
        }
        struct Fixture: Decodable { var cases: [Case] }
        let url = TestSupport.repositoryRoot.appendingPathComponent(
            "Tests/EvaluationTests/Resources/classification-metrics.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 40)
        var undefinedPrecision = 0
        for c in fixture.cases {
            let metrics = ClassificationMetrics(
                labels: c.labels.map { $0 == 1 }, predictions: c.predictions.map { $0 == 1 },
                confidences: c.confidences)
            for (mine, theirs, name) in [
                (metrics.accuracy, c.accuracy, "accuracy"), (metrics.balancedAccuracy, c.balanced_accuracy, "balanced"),
                (metrics.precision, c.precision, "precision"), (metrics.recall, c.recall, "recall"),
                (metrics.f1, c.f1, "f1"), (metrics.auroc, c.auroc, "auroc"),
            ] {
                if let theirs {
                    XCTAssertEqual(mine.value ?? .nan, theirs, accuracy: 1e-12, "\(c.name) \(name)")
                } else {
                    XCTAssertNil(mine.value, "\(c.name) \(name): scikit-learn says NaN")
                    XCTAssertNotNil(mine.reason)
                    undefinedPrecision += 1
                }
            }
        }
        XCTAssertGreaterThan(undefinedPrecision, 0, "the fixture covers zero_division=nan")
    }

    /// Where scikit-learn is not asked (one class among the labels) the rule is NaN with a reason, never 0.
    func testOneClassAndMissingConfidencesAreUndefinedNotZero() {
        let positivesOnly = ClassificationMetrics(
            labels: [true, true, true], predictions: [true, false, true], confidences: [0.9, 0.2, 0.8])
        XCTAssertEqual(positivesOnly.accuracy, .value(2.0 / 3))
        XCTAssertEqual(positivesOnly.recall, .value(2.0 / 3))
        XCTAssertEqual(positivesOnly.precision, .value(1))
        XCTAssertEqual(positivesOnly.f1, .value(0.8))  // 2·2 / (2·2 + 0 + 1)
        XCTAssertEqual(positivesOnly.balancedAccuracy, .undefined("no non-activating examples"))
        XCTAssertEqual(positivesOnly.auroc, .undefined("no non-activating examples"))

        let negativesOnly = ClassificationMetrics(labels: [false, false], predictions: [true, false])
        XCTAssertEqual(negativesOnly.recall, .undefined("no activating examples"))
        XCTAssertEqual(negativesOnly.precision, .value(0))
        XCTAssertEqual(negativesOnly.f1, .value(0))
        XCTAssertEqual(negativesOnly.balancedAccuracy, .undefined("no activating examples"))
        let silent = ClassificationMetrics(labels: [false, false], predictions: [false, false])
        XCTAssertNotNil(silent.f1.reason, "nothing to find and nothing claimed: F1 is undefined")
        XCTAssertNotNil(silent.precision.reason)
        XCTAssertEqual(ClassificationMetrics(labels: [], predictions: []).accuracy, .undefined("no examples"))

        let noConfidences = ClassificationMetrics(labels: [true, false], predictions: [true, false])
        XCTAssertEqual(noConfidences.balancedAccuracy, .value(1))
        XCTAssertEqual(noConfidences.auroc, .undefined("the judge gave no confidences"))
        XCTAssertTrue(noConfidences.notes.contains("auroc: the judge gave no confidences"))
    }

    /// A GELU-like unit: negative when silent, active where its token appears (value 2 … 10 by excerpt), with
    /// top, random, quantile and bottom records that share excerpts the way a database's do.
    func unit(_ index: Int = 0, dense: Bool = false) -> NeuronRecord {
        func excerpt(_ id: Int) -> ActivationRecord {
            let tokens = (0..<8).map { " t\(($0 * 7 + id) % 11)" }
            let peak = Float(2 + id % 9)
            return ActivationRecord(
                excerptID: id, tokens: tokens, activations: tokens.map { $0 == " t3" ? peak : (dense ? 2 : -0.1) })
        }
        let all = (0..<200).map(excerpt)
        let firing = all.filter { $0.maxActivation > 0 }.sorted {
            ($0.maxActivation, -$0.excerptID) > ($1.maxActivation, -$1.excerptID)
        }
        return NeuronRecord(
            id: NeuronID(layer: 1, neuron: index), mostPositive: Array(firing.prefix(50)),
            random: stride(from: 3, to: 200, by: 4).map { all[$0] },
            randomByQuantile: (0..<4).map { b in stride(from: b, to: 200, by: 19).prefix(10).map { all[$0] } },
            mostNegative: Array(all.suffix(50)))
    }

    func testExamplesAreHeldOutDistinctSeededAndDecidedByTheirMaximum() {
        let record = unit()
        let shown = Set(RecordSplits(record).explain.map(\.excerptID))
        XCTAssertFalse(shown.isEmpty)
        let settings = ExampleSettings()
        let selection = ExampleSelection(record, shown: shown, settings: settings, seed: 7)
        XCTAssertFalse(selection.zeroWhenSilent, "negative when silent: the relative threshold applies")
        XCTAssertEqual(selection.threshold, 0.2 * 10)
        let chosen = selection.activating + selection.nonActivating
        XCTAssertEqual(selection.activating.count, 20)
        XCTAssertEqual(selection.nonActivating.count, 20)
        XCTAssertTrue(Set(chosen.map(\.record.excerptID)).isDisjoint(with: shown), "never an explainer's excerpt")
        XCTAssertEqual(Set(chosen.map(\.record.excerptID)).count, chosen.count, "never the same excerpt twice")
        XCTAssertTrue(selection.activating.allSatisfy { $0.record.maxActivation >= 2 })
        XCTAssertTrue(selection.nonActivating.allSatisfy { $0.record.maxActivation < 2 })
        // Spread: held-out top records and quantile buckets both contribute; negatives are random records first.
        XCTAssertTrue(selection.activating.contains { $0.source == "top" })
        XCTAssertTrue(selection.activating.contains { $0.source.hasPrefix("quantile:") })
        XCTAssertTrue(selection.nonActivating.prefix(10).allSatisfy { $0.source == "random" })
        // Top records come only from the valid and test splits (ranks 2 and 3 of every 4).
        let heldOut = Set(record.mostPositive.enumerated().filter { $0.offset % 4 >= 2 }.map(\.element.excerptID))
        XCTAssertTrue(
            selection.activating.filter { $0.source == "top" }.allSatisfy { heldOut.contains($0.record.excerptID) })
        // Seeded: the same seed gives the same examples, another seed another order.
        let again = ExampleSelection(record, shown: shown, settings: settings, seed: 7)
        XCTAssertEqual(again.activating, selection.activating)
        XCTAssertEqual(again.nonActivating, selection.nonActivating)
        let other = ExampleSelection(record, shown: shown, settings: settings, seed: 8)
        XCTAssertNotEqual(other.activating.map(\.record.excerptID), selection.activating.map(\.record.excerptID))
    }

    func testUnitsThatAreZeroWhenSilentCountAnythingAboveZero() {
        let peak = ActivationRecord(excerptID: 1, tokens: ["a", "b"], activations: [100, 0])
        let weak = ActivationRecord(excerptID: 2, tokens: ["a", "b"], activations: [0, 0.5])
        let silent = ActivationRecord(excerptID: 3, tokens: ["a", "b"], activations: [0, 0])
        let record = NeuronRecord(
            id: NeuronID(layer: 0, neuron: 0), mostPositive: [], random: [peak, weak, silent])
        let selection = ExampleSelection(record, shown: [], settings: ExampleSettings(), seed: 0)
        XCTAssertTrue(selection.zeroWhenSilent)
        XCTAssertEqual(selection.nonActivating.map(\.record.excerptID), [3], "0.5 is far below 20% but above 0")
        XCTAssertTrue(selection.isActive(0.5))
        XCTAssertFalse(selection.isActive(0))
    }

    func testKeywordJudgeAnswersFromTheKeywordSimulatorsReading() async throws {
        let tokens = [" The", " cat", " sat", " on", " the", " mat"]
        let answers = await KeywordJudge().judge([
            JudgeRequest(
                task: .detection, explanation: "the tokens \"cat\" and \"dog\"",
                examples: [
                    JudgeExample(tokens: tokens), JudgeExample(tokens: [" a", " dog"]), JudgeExample(tokens: [" x"]),
                ]),
            JudgeRequest(
                task: .fuzzing, explanation: "the tokens \"cat\" and \"mat\"",
                examples: [
                    JudgeExample(tokens: tokens, highlighted: [1, 5]),
                    JudgeExample(tokens: tokens, highlighted: [1, 2]),
                    JudgeExample(tokens: tokens, highlighted: [1, 2, 3]),
                    JudgeExample(tokens: tokens, highlighted: [2]),
                ]),
        ])
        XCTAssertEqual(
            try answers[0].get(),
            [
                JudgeAnswer(yes: true, confidence: 1), JudgeAnswer(yes: true, confidence: 1),
                JudgeAnswer(yes: false, confidence: 0),
            ])
        XCTAssertEqual(
            try answers[1].get().map(\.yes), [true, true, false, false], "at least half of the highlights must match")
        XCTAssertEqual(try answers[1].get().map(\.confidence), [1, 0.5, 1.0 / 3, 0])
    }

    /// Runs one classification scorer on in-memory units.
    func score(
        _ task: JudgeTask, _ records: [NeuronRecord], explanation: String = "the token \"t3\"",
        judge: any Judge = KeywordJudge(), settings: ExampleSettings = ExampleSettings()
    ) async -> [Result<UnitScore, EvaluationError>] {
        let scorer = ClassificationScorer(task: task, judge: judge, settings: settings, seed: 3)
        return await scorer.score(
            records.map {
                ScoreRequest(
                    neuron: $0.id, explanation: explanation, record: $0,
                    shown: Set(RecordSplits($0).explain.map(\.excerptID)))
            })
    }

    func classification(_ result: Result<UnitScore, EvaluationError>) throws -> ClassificationScore {
        guard case let .classification(c) = try result.get() else {
            throw EvaluationError.judgeFailed("not classification")
        }
        return c
    }

    func testAPerfectExplanationDetectsAndFuzzesPerfectlyAndAWrongOneIsAtChance() async throws {
        for task in [JudgeTask.detection, .fuzzing] {
            let right = try classification(await score(task, [unit()])[0])
            XCTAssertEqual(right.metrics.balancedAccuracy, .value(1), "\(task)")
            XCTAssertEqual(right.metrics.auroc, .value(1))
            XCTAssertEqual([right.metrics.positives, right.metrics.negatives], [20, 20])
            XCTAssertEqual(right.judgements.count, 40)
            XCTAssertEqual(Set(right.judgements.map(\.call)).count, 8, "5 examples per call")
            let wrong = try classification(await score(task, [unit()], explanation: "the token \"zebra\"")[0])
            XCTAssertEqual(wrong.metrics.balancedAccuracy, .value(0.5))
            XCTAssertEqual(wrong.metrics.precision.reason, "the judge said no to every example")
        }
    }

    func testFuzzingHighlightsTrueTokensOnPositivesAndBorrowedOrShiftedOnesOnNegatives() async throws {
        let record = unit()
        let fuzz = try classification(await score(.fuzzing, [record])[0])
        let byID = Dictionary(
            (record.mostPositive + record.random + record.randomByQuantile.flatMap { $0 } + record.mostNegative).map {
                ($0.excerptID, $0)
            }, uniquingKeysWith: { a, _ in a })
        let activePositions = { (id: Int) in byID[id]!.activations.indices.filter { byID[id]!.activations[$0] >= 2 } }
        for j in fuzz.judgements where j.label {
            XCTAssertEqual(j.highlighted, activePositions(j.excerptID))
        }
        let positiveHighlights = Set(fuzz.judgements.filter(\.label).map(\.highlighted))
        for j in fuzz.judgements where !j.label {
            XCTAssertTrue(positiveHighlights.contains(j.highlighted), "borrowed from an activating example")
            XCTAssertLessThan(byID[j.excerptID]!.maxActivation, 2)
        }
        var settings = ExampleSettings()
        settings.fuzzingNegatives = .shifted
        settings.activating = 10
        settings.nonActivating = 10
        let shifted = try classification(await score(.fuzzing, [record], settings: settings)[0])
        XCTAssertEqual([shifted.metrics.positives, shifted.metrics.negatives], [10, 10])
        for j in shifted.judgements where !j.label {
            XCTAssertGreaterThanOrEqual(byID[j.excerptID]!.maxActivation, 2, "shifted negatives are activating")
            let truth = activePositions(j.excerptID)
            let right = truth.map { $0 + 1 }.filter { $0 < 8 }
            XCTAssertEqual(j.highlighted, right.isEmpty ? truth.map { $0 - 1 } : right)
        }
        XCTAssertEqual(Set(shifted.judgements.map(\.excerptID)).count, 20, "no excerpt used twice")
    }

    func testAUnitWithTooFewNonActivatingExamplesIsUndefinedNotFailedNotZero() async throws {
        let dense = try classification(await score(.detection, [unit(dense: true)])[0])
        XCTAssertNil(dense.metrics.balancedAccuracy.value)
        XCTAssertTrue(
            dense.metrics.balancedAccuracy.reason?.hasPrefix("only 0 non-activating examples (need 5)") ?? false,
            dense.metrics.notes)
        XCTAssertTrue(dense.judgements.isEmpty, "nothing was asked")
        XCTAssertEqual(dense.metrics.notes, dense.metrics.balancedAccuracy.reason, "one reason, said once")
    }

    /// A judge that fails one call and answers another short: both units fail, with the reason; none is scored.
    struct BrokenJudge: Judge {
        var name: String { "broken" }
        func judge(_ requests: [JudgeRequest]) async -> [Result<[JudgeAnswer], EvaluationError>] {
            requests.map { request in
                if request.neuron?.neuron == 0 { return .failure(.judgeFailed("HTTP 500 from the server")) }
                return .success(request.examples.dropLast().map { _ in JudgeAnswer(yes: false) })
            }
        }
        func pickIntruder(_ requests: [IntruderRequest]) async -> [Result<Int, EvaluationError>] {
            requests.map { $0.neuron?.neuron == 0 ? .failure(.judgeFailed("HTTP 500 from the server")) : .success(9) }
        }
    }

    func testAFailedOrShortJudgeReplyFailsTheUnitAndIsNeverReadAsAnswers() async throws {
        let results = await score(.detection, [unit(0), unit(1)], judge: BrokenJudge())
        XCTAssertThrowsError(try results[0].get()) { error in
            XCTAssertEqual(error as? EvaluationError, .judgeFailed("HTTP 500 from the server"))
        }
        XCTAssertThrowsError(try results[1].get()) { error in
            XCTAssertEqual(
                (error as? EvaluationError)?.localizedDescription, "judge failed: broken gave 4 answers for 5 examples")
        }
    }

    func testIntruderTrialsAreHeldOutSeededAndScoredAgainstChance() async throws {
        let record = unit()
        let shown = Set(RecordSplits(record).explain.map(\.excerptID))
        let scorer = IntruderScorer(judge: KeywordJudge(), settings: ExampleSettings(), seed: 5)
        let request = ScoreRequest(neuron: record.id, explanation: "", record: record, shown: shown)
        XCTAssertFalse(scorer.needsExplanation)
        let calls = scorer.calls(for: request)
        XCTAssertEqual(calls.count, 8, "8 trials")
        XCTAssertTrue(calls.allSatisfy { $0.examples.count == 5 })
        XCTAssertEqual(calls.map(\.examples), scorer.calls(for: request).map(\.examples), "seeded")
        let result = await scorer.score([request])[0]
        guard case let .intruder(score) = try result.get() else { return XCTFail("not an intruder score") }
        XCTAssertEqual(score.trials, 8)
        XCTAssertEqual(score.chance, 0.2)
        // The planted token is highlighted in every activating example and never in the intruder: always found.
        XCTAssertEqual(score.accuracy, .value(1))
        let intruders = score.judgements.filter(\.label)
        XCTAssertEqual(intruders.count, 8, "one intruder per trial")
        XCTAssertEqual(Set(intruders.map(\.excerptID)).count, 8, "a new intruder in every trial")
        XCTAssertTrue(intruders.allSatisfy { ["random", "bottom"].contains($0.source) })
        XCTAssertTrue(Set(score.judgements.map(\.excerptID)).isDisjoint(with: shown), "never an explainer's excerpt")
        for trial in 0..<8 {
            let members = score.judgements.filter { $0.call == trial }
            XCTAssertEqual(Set(members.map(\.excerptID)).count, 5, "no excerpt twice in a trial")
            XCTAssertEqual(Set(members.filter { !$0.label }.map(\.source)).count, 1, "activating ones share a group")
        }
        // A judge that always names the same position is right 1 time in k, about.
        struct FirstJudge: Judge {
            var name: String { "first" }
            func judge(_ requests: [JudgeRequest]) async -> [Result<[JudgeAnswer], EvaluationError>] { [] }
            func pickIntruder(_ requests: [IntruderRequest]) async -> [Result<Int, EvaluationError>] {
                requests.map { _ in .success(0) }
            }
        }
        var many = ExampleSettings()
        many.intruderTrials = 300
        var large = record
        large.random = (1000..<1400).map {
            ActivationRecord(excerptID: $0, tokens: [" q\($0)", " r"], activations: [-0.1, -0.1])
        }
        let guess = await IntruderScorer(judge: FirstJudge(), settings: many, seed: 1).score([
            ScoreRequest(neuron: record.id, explanation: "", record: large, shown: shown)
        ])[0]
        guard case let .intruder(guessed) = try guess.get() else { return XCTFail("not an intruder score") }
        XCTAssertEqual(guessed.trials, 300)
        // Binomial(300, 0.2): standard deviation 0.023.
        XCTAssertEqual(guessed.accuracy.value ?? 0, 0.2, accuracy: 0.08)
    }

    func testAFailedOrImpossibleIntruderPickFailsTheUnit() async throws {
        let scorer = IntruderScorer(judge: BrokenJudge(), settings: ExampleSettings(), seed: 0)
        let results = await scorer.score(
            [unit(0), unit(1)].map { ScoreRequest(neuron: $0.id, explanation: "", record: $0, shown: []) })
        XCTAssertThrowsError(try results[0].get()) {
            XCTAssertEqual($0 as? EvaluationError, .judgeFailed("HTTP 500 from the server"))
        }
        XCTAssertThrowsError(try results[1].get()) {
            XCTAssertEqual(($0 as? EvaluationError)?.localizedDescription, "judge failed: broken named example 10 of 5")
        }
        let dense = await scorer.score([
            ScoreRequest(neuron: unit().id, explanation: "", record: unit(dense: true), shown: [])
        ])
        guard case let .intruder(undefined) = try dense[0].get() else { return XCTFail("not an intruder score") }
        XCTAssertEqual(undefined.accuracy.reason, "only 0 non-activating examples for intruders (need 5)")
    }

    func testScorerNamesAndRegistry() throws {
        let registry = PluginRegistry.standard
        let settings = EvaluationSettings()
        XCTAssertEqual(try registry.scorer("detection", settings: settings, seed: 0).name, "detection:keyword")
        XCTAssertEqual(try registry.scorer("fuzzing:keyword", settings: settings, seed: 0).name, "fuzzing:keyword")
        XCTAssertEqual(
            try registry.scorer("simulation:keyword", settings: settings, seed: 0).name, "simulation:keyword")
        XCTAssertThrowsMessage(
            try registry.scorer("simulation", settings: settings, seed: 0), contains: ["simulation:SIMULATOR"])
        XCTAssertThrowsMessage(
            try registry.scorer("detection:oracle", settings: settings, seed: 0),
            contains: ["unknown judge", "keyword"])
        XCTAssertThrowsMessage(
            try registry.scorer("intuition", settings: settings, seed: 0),
            contains: ["unknown scorer", "detection:keyword", "simulation:keyword"])
    }
}
