import ActivationStore
import Evaluation
import Foundation
import TestSupport
import XCTest

@testable import LLM

/// The LLM judge: its prompts (golden), the strict reading of its replies and log-probabilities, and its calls
/// against the loopback fake server with faults.
final class JudgeTests: XCTestCase {
    let examples = [
        JudgeExample(tokens: [" The", " tax", " on", " tea"], highlighted: [1]),
        JudgeExample(tokens: ["Tax", "es", " rose", "\n", " in", " 1773"], highlighted: [0, 1]),
        JudgeExample(tokens: [" a", " quiet", " day"], highlighted: [2]),
    ]

    func testJudgePromptsGolden() throws {
        for task in [JudgeTask.detection, .fuzzing] {
            try assertGolden(
                render(Prompts.judge(task: task, explanation: "taxes and tea", examples: examples)),
                "judge-\(task.rawValue)")
        }
        // Highlighted runs are wrapped once; line breaks are escaped so each excerpt stays on one line.
        XCTAssertEqual(Prompts.excerptLine(examples[1].tokens, highlighted: [0, 1]), "<<Taxes>> rose\\n in 1773")
        XCTAssertEqual(Prompts.excerptLine(examples[0].tokens, highlighted: [1, 3]), " The<< tax>> on<< tea>>")
    }

    func testRepliesAreReadStrictly() {
        XCTAssertEqual(try Prompts.judgeAnswers("[1, 0, 1]", count: 3).get(), [true, false, true])
        XCTAssertEqual(try Prompts.judgeAnswers("Answers: [0,0,1] (the third)", count: 3).get(), [false, false, true])
        XCTAssertEqual(try Prompts.judgeAnswers("[1, 0, 1]\n[0, 0, 0]", count: 3).get(), [true, false, true])
        for (reply, reason) in [
            ("[1, 0]", "the reply has 2 answers for 3 examples"),
            ("[1, 0, 1, 1]", "the reply has 4 answers for 3 examples"),
            ("[1, 2, 0]", "answer 2 is \"2\", not 0 or 1"),
            ("[1, yes, 0]", "answer 2 is \"yes\", not 0 or 1"),
            ("[1, , 0]", "answer 2 is \"\", not 0 or 1"),
            ("1 0 1", "the reply has no [..] list of answers"),
            ("[]", "the reply's list is empty, for 3 examples"),
        ] {
            XCTAssertThrowsError(try Prompts.judgeAnswers(reply, count: 3).get(), reply) { error in
                XCTAssertEqual(error as? LLMError, .invalidReply(reason), reply)
            }
        }
    }

    func testIntruderPromptGoldenAndStrictReading() throws {
        try assertGolden(render(Prompts.intruder(examples: examples)), "judge-intruder")
        XCTAssertEqual(try Prompts.intruderAnswer("3", count: 5).get(), 2)
        XCTAssertEqual(try Prompts.intruderAnswer("Excerpt 5.", count: 5).get(), 4)
        for (reply, reason) in [
            ("9", "the reply names excerpt 9, not one of 1–5"), ("0", "the reply names excerpt 0, not one of 1–5"),
            ("2 or 3", "the reply has 2 numbers, not one"), ("the second", "the reply names no excerpt number"),
        ] {
            XCTAssertThrowsError(try Prompts.intruderAnswer(reply, count: 5).get(), reply) {
                XCTAssertEqual($0 as? LLMError, .invalidReply(reason), reply)
            }
        }
    }

    func testConfidencesFromAnswerTokenLogProbabilities() {
        func reply(_ positions: [(String, [(String, Double)])]) -> [String: Any] {
            [
                "choices": [
                    [
                        "logprobs": [
                            "content": positions.map { token, alternatives in
                                [
                                    "token": token, "logprob": -0.1,
                                    "top_logprobs": alternatives.map { ["token": $0.0, "logprob": log($0.1)] },
                                ] as [String: Any]
                            }
                        ]
                    ]
                ]
            ]
        }
        // Fused tokens ("[1", "0]") and probability on other tokens: P(1) / (P(0) + P(1)) over the alternatives.
        let fused = reply([
            ("[1", [("[1", 0.6), ("[0", 0.2), ("[", 0.2)]), (",", [(",", 1)]), (" 0", [(" 0", 0.7), (" 1", 0.1)]),
            ("]", [("]", 1)]),
        ])
        let confidences = Prompts.judgeConfidences(fused, count: 2)
        XCTAssertEqual(confidences?[0] ?? -1, 0.75, accuracy: 1e-12)
        XCTAssertEqual(confidences?[1] ?? -1, 0.125, accuracy: 1e-12)
        XCTAssertNil(Prompts.judgeConfidences(fused, count: 3), "misaligned: no confidences, never shifted ones")
        XCTAssertNil(Prompts.judgeConfidences(["choices": [["message": ["content": "[1]"]]]], count: 1))
        let noAnswerMass = reply([("[", [("[", 1)]), ("1", [("yes", 1)]), ("]", [("]", 1)])])
        XCTAssertNil(Prompts.judgeConfidences(noAnswerMass, count: 1))
    }

    func client(_ server: FakeServer, retries: Int = 2, cache: String? = nil) throws -> LLMClient {
        try LLMClient(
            configuration: LLMConfiguration(
                baseURL: server.baseURL, model: "fake", concurrency: 4, timeout: 1.0, retries: retries, backoff: 0.05,
                maximumBackoff: 1, cachePath: cache))
    }

    func testTheJudgeOnAHealthyServerAndEveryBadReplyAFailureWithItsReason() async throws {
        let server = try FakeServer(self)
        let judge = LLMJudge(client: try client(server, retries: 1))
        let detection = JudgeRequest(task: .detection, explanation: "taxes", examples: examples)
        let fuzzing = JudgeRequest(task: .fuzzing, explanation: "tea", examples: examples)
        let healthy = await judge.judge([detection, fuzzing])
        // The fake judge: detection 1 where "tax"… appears as a word ("Tax" + "es" reads as "taxes"), fuzzing 1
        // where a marked word is "tea" (excerpt 1 marks " tax", so 0).
        XCTAssertEqual(try healthy[0].get().map(\.yes), [false, true, false])
        XCTAssertEqual(try healthy[1].get().map(\.yes), [false, false, false])
        for (answer, confidence) in zip(try healthy[0].get(), [0.1, 0.9, 0.1]) {
            XCTAssertEqual(answer.confidence ?? -1, confidence, accuracy: 1e-9)
        }
        for (fault, reason) in [
            ("judge-short", "the reply has 2 answers for 3 examples"),
            ("judge-range", "answer 1 is \"2\", not 0 or 1"),
            ("judge-prose", "the reply has no [..] list of answers"),
        ] {
            try await server.inject([fault])
            let result = await judge.judge([detection])[0]
            XCTAssertThrowsError(try result.get(), fault) { error in
                XCTAssertTrue(
                    (error as? EvaluationError)?.localizedDescription.hasPrefix("judge failed: ") ?? false, "\(error)")
                XCTAssertTrue(
                    "\(error.localizedDescription)".contains(reason), "\(fault): \(error.localizedDescription)")
            }
        }
        let intruder = IntruderRequest(examples: [
            JudgeExample(tokens: [" tax", " rose"], highlighted: [0]),
            JudgeExample(tokens: [" a", " tax"], highlighted: [1]),
            JudgeExample(tokens: [" quiet", " day"], highlighted: [1]),
        ])
        let picked = await judge.pickIntruder([intruder])[0]
        XCTAssertEqual(try picked.get(), 2, "the fake names the odd marking out")
        for (fault, reason) in [
            ("judge-range", "excerpt 9, not one of 1–3"), ("judge-prose", "names no excerpt number"),
        ] {
            try await server.inject([fault])
            let result = await judge.pickIntruder([intruder])[0]
            XCTAssertThrowsError(try result.get(), fault) {
                XCTAssertTrue($0.localizedDescription.contains(reason), "\(fault): \($0.localizedDescription)")
            }
        }
        // Hanging, dropped and truncated replies are retried like any call (here with 3 retries and a 1 s time-out).
        let patient = LLMJudge(client: try client(server, retries: 3))
        try await server.inject(["hang", "drop", "truncated"])
        let recovered = await patient.judge([detection])[0]
        XCTAssertEqual(try recovered.get().map(\.yes), [false, true, false])
        try await server.inject(["500", "no-logprobs"])
        let retried = await judge.judge([detection])[0]
        XCTAssertEqual(try retried.get().map(\.yes), [false, true, false], "a 500 is retried")
        XCTAssertTrue(try retried.get().allSatisfy { $0.confidence == nil }, "no log-probabilities: no confidence")
    }

    /// Through the scorer: an unusable reply fails its unit (never a wrong answer) and is not cached, so a re-run asks
    /// again; every usable reply is answered from the cache.
    func testFailedCallsFailTheirUnitAndARerunMakesNoRequest() async throws {
        let server = try FakeServer(self)
        let cache = try TestSupport.temporaryDirectory(self).appendingPathComponent("cache.sqlite").path
        func record(_ i: Int) -> NeuronRecord {
            func excerpt(_ id: Int) -> ActivationRecord {
                let tokens = [" a", id % 3 == 0 ? " tax" : " toll", " on", " tea", " no", " \(id)"]
                return ActivationRecord(
                    excerptID: id, tokens: tokens, activations: tokens.map { $0 == " tax" ? 3 : -0.1 })
            }
            let all = (0..<120).map(excerpt)
            return NeuronRecord(
                id: NeuronID(layer: 0, neuron: i), mostPositive: all.filter { $0.maxActivation > 0 },
                random: all.filter { $0.excerptID % 2 == 1 })
        }
        let records = [record(0), record(1)]
        func run() async throws -> [NeuronEvaluation] {
            let scorer = ClassificationScorer(
                task: .detection, judge: LLMJudge(client: try client(server, retries: 0, cache: cache)),
                settings: ExampleSettings(), seed: 0)
            var results: [NeuronEvaluation] = []
            try await Evaluator(source: InMemoryRecords(records))
                .run(
                    neurons: records.map(\.id), explainers: [ConstantExplainer(text: "the word \"tax\"")],
                    scorers: [scorer]
                ) { results.append($0) }
            return results
        }
        try await server.inject(["judge-short"])
        let first = try await run()
        XCTAssertEqual(first.map(\.status).filter { $0 == .failed }.count, 1, "one call failed: its unit failed")
        let failed = try XCTUnwrap(first.first { $0.status == .failed })
        XCTAssertTrue(failed.error?.contains("4 answers for 5 examples") ?? false, failed.error ?? "")
        XCTAssertNil(failed.score, "a failed unit has no score, not a zero")
        let ok = try XCTUnwrap(first.first { $0.status == .ok })
        XCTAssertEqual(ok.classification?.metrics.balancedAccuracy, .value(1))
        XCTAssertEqual(ok.classification?.metrics.auroc, .value(1))

        let madeFirst = try await server.stats().requests
        XCTAssertEqual(madeFirst, 16, "2 neurons × 40 examples, 5 per call")
        try await server.reset()
        let second = try await run()
        XCTAssertEqual(
            second.map(\.status), [.ok, .ok], "the failed call is made again; the others come from the cache")
        let requests = try await server.stats().requests
        XCTAssertEqual(requests, 1, "only the call that failed before")
        let third = try await run()
        XCTAssertEqual(third.map(\.status), [.ok, .ok])
        let after = try await server.stats().requests
        XCTAssertEqual(after, 1, "a third run makes zero requests")
    }
}
