import ActivationStore
import Evaluation
import Foundation
import TestSupport
import XCTest

@testable import LLM

/// The client against a real HTTP server on loopback that injects faults.
final class ClientTests: XCTestCase {
    func client(
        _ server: FakeServer, concurrency: Int = 4, timeout: Double = 1.5, retries: Int = 3, cache: Bool = false
    ) throws -> LLMClient {
        let cachePath =
            cache ? try TestSupport.temporaryDirectory(self).appendingPathComponent("cache.sqlite").path : nil
        return try LLMClient(
            configuration: LLMConfiguration(
                baseURL: server.baseURL, model: "fake", concurrency: concurrency, timeout: timeout,
                retries: retries, backoff: 0.05, maximumBackoff: 2, cachePath: cachePath))
    }

    let request = SimulationRequest(
        explanation: "money and taxes", tokens: [" The", " money", " of", " taxes", "\n"],
        neuron: NeuronID(layer: 0, neuron: 1))

    func testJSONAndAllAtOnceSimulatorsOnAHealthyServer() async throws {
        let server = try FakeServer(self)
        let client = try client(server)
        let json = await LLMSimulator(client: client, mode: .json).simulate([request])
        XCTAssertEqual(try json[0].get(), [0, 10, 0, 10, 0])
        let logprobs = await LLMSimulator(client: client, mode: .allAtOnce).simulate([request])
        // Expected values: 10·0.8 = 8 for description words, 10·0.1 = 1 otherwise.
        let values = try logprobs[0].get()
        for (value, expected) in zip(values, [1.0, 8, 1, 8, 1]) { XCTAssertEqual(value, expected, accuracy: 1e-9) }
        let total = await client.ledger.total
        XCTAssertEqual(total.calls, 2)
        XCTAssertGreaterThan(total.usage.promptTokens, 0)
        let perNeuron = await client.ledger.byNeuron[NeuronID(layer: 0, neuron: 1)]
        XCTAssertEqual(perNeuron?.calls, 2)
    }

    func testRetriesOn429WithRetryAfter500TimeoutDropAndTruncatedJSON() async throws {
        let server = try FakeServer(self)
        let client = try client(server, timeout: 1.0, retries: 5)
        try await server.inject(["429", "500", "hang", "drop", "truncated"])
        let started = Date()
        let result = await LLMSimulator(client: client, mode: .json).simulate([request])
        XCTAssertEqual(try result[0].get(), [0, 10, 0, 10, 0])
        let stats = try await server.stats()
        XCTAssertEqual(stats.requests, 6, "five faults, then the answer")
        XCTAssertEqual(stats.faultsLeft, 0)
        let retries = await client.ledger.retries
        XCTAssertEqual(retries, 5)
        XCTAssertGreaterThanOrEqual(
            Date().timeIntervalSince(started), 2.0, "Retry-After: 1 and a 1 s time-out were honoured")
    }

    func testGivesUpAfterItsRetriesWithTheReason() async throws {
        let server = try FakeServer(self)
        let client = try client(server, retries: 2)
        try await server.inject(["500", "500", "500", "500"])
        let result = await LLMSimulator(client: client, mode: .json).simulate([request])
        XCTAssertThrowsMessage(
            try result[0].get(), contains: ["HTTP 500", "The server had an error", "after 3 attempts"])
        let failed = await client.ledger.total.failedCalls
        XCTAssertEqual(failed, 1)
    }

    func testTheSameServerErrorOnEveryAttemptNamesTheRequestOptions() async throws {
        let server = try FakeServer(self)
        let client = try client(server, retries: 2)
        try await server.inject(["500", "500", "500"])
        let result = await LLMSimulator(client: client, mode: .json).simulate([request])
        XCTAssertThrowsMessage(
            try result[0].get(),
            contains: [
                "after 3 attempts", "may not support response_format json_schema (", "or seed",
                "--llm-structured-output",
            ])
        // A 400 that refuses the schema is not retried and says how to send none.
        try await server.inject(["400-schema"])
        let refused = await LLMSimulator(client: client, mode: .json).simulate([request])
        XCTAssertThrowsMessage(
            try refused[0].get(),
            contains: ["HTTP 400", "'prefixItems' is not permitted", "--llm-structured-output json-object"])
        // Different answers on the way (load, not the request): no hint.
        try await server.inject(["500", "429", "500"])
        let mixed = await LLMSimulator(client: client, mode: .json).simulate([request])
        guard case let .failure(error) = mixed[0] else { return XCTFail("three faults and two retries succeeded") }
        XCTAssertFalse(error.localizedDescription.contains("may not support"), error.localizedDescription)
    }

    func testAShiftedEchoIsReadRealignedAndCounted() async throws {
        let server = try FakeServer(self)
        let client = try client(server)
        let aligned = try await LLMSimulator(client: client, mode: .allAtOnce).simulate([request])[0].get()
        let body = try await server.lastRequest()
        XCTAssertEqual(body["max_tokens"] as? Int, 1, "one generated token, never 0 (= unlimited to some servers)")
        XCTAssertEqual(body["echo"] as? Bool, true)
        XCTAssertEqual(body["temperature"] as? Int, 0)
        XCTAssertEqual(body["seed"] as? Int, 0)
        try await server.inject(["shifted"])
        let realigned = try await LLMSimulator(client: client, mode: .allAtOnce).simulate([request])[0].get()
        XCTAssertEqual(realigned, aligned)
        let shifted = await client.ledger.shiftedReplies
        XCTAssertEqual(shifted, 1)
        // Told to trust the server, the same shifted reply is misread: the check is what makes it right.
        var configuration = client.configuration
        configuration.echoAlignment = .aligned
        try await server.inject(["shifted"])
        let trusting = await LLMSimulator(client: try LLMClient(configuration: configuration), mode: .allAtOnce)
            .simulate([request])
        XCTAssertNotEqual(try? trusting[0].get(), aligned)
    }

    func testTheJSONSimulatorAndTheJudgeSendTheirSchemaInTheChosenForm() async throws {
        let server = try FakeServer(self)
        let examples = [JudgeExample(tokens: [" a", " tax"], highlighted: [1])]
        func bodies(_ form: StructuredOutput) async throws -> (simulator: [String: Any], judge: [String: Any]) {
            var configuration = try client(server).configuration
            configuration.structuredOutput = form
            let client = try LLMClient(configuration: configuration)
            _ = await LLMSimulator(client: client, mode: .json).simulate([request])
            let simulator = try await server.lastRequest()
            _ = await LLMJudge(client: client).judge([
                JudgeRequest(task: .detection, explanation: "taxes", examples: examples)
            ])
            return (simulator, try await server.lastRequest())
        }
        let openAI = try await bodies(.jsonSchema)
        let format = try XCTUnwrap(openAI.simulator["response_format"] as? [String: Any])
        XCTAssertEqual(format["type"] as? String, "json_schema")
        let wrapper = try XCTUnwrap(format["json_schema"] as? [String: Any])
        XCTAssertEqual(wrapper["strict"] as? Bool, true)
        let schema = try XCTUnwrap(wrapper["schema"] as? [String: Any])
        let activations = try XCTUnwrap((schema["properties"] as? [String: Any])?["activations"] as? [String: Any])
        let entries = try XCTUnwrap(activations["prefixItems"] as? [[String: Any]])
        // Exactly the excerpt's tokens, in order, each with a whole number 0–10.
        XCTAssertEqual(
            entries.compactMap {
                (($0["properties"] as? [String: Any])?["token"] as? [String: Any])?["const"] as? String
            },
            request.tokens)
        XCTAssertEqual(
            entries.compactMap { (($0["properties"] as? [String: Any])?["index"] as? [String: Any])?["const"] as? Int },
            Array(request.tokens.indices))
        let values = (entries[0]["properties"] as? [String: Any])?["activation"] as? [String: Any]
        XCTAssertEqual(values?["enum"] as? [Int], Array(0...10))
        let judgeFormat = try XCTUnwrap(openAI.judge["response_format"] as? [String: Any])
        let judgeSchema = try XCTUnwrap((judgeFormat["json_schema"] as? [String: Any])?["schema"] as? [String: Any])
        let answers = try XCTUnwrap((judgeSchema["properties"] as? [String: Any])?["answers"] as? [String: Any])
        XCTAssertEqual(answers["minItems"] as? Int, 1)
        XCTAssertEqual(answers["maxItems"] as? Int, 1)

        let llamaCpp = try await bodies(.jsonObjectSchema)
        let extensionFormat = try XCTUnwrap(llamaCpp.simulator["response_format"] as? [String: Any])
        XCTAssertEqual(extensionFormat["type"] as? String, "json_object")
        XCTAssertNotNil(extensionFormat["schema"] as? [String: Any])
        // llama-cpp-python's server dies on a `const` whose JSON needs a backslash: those tokens are short strings.
        let quoted = ReplySchema.simulation(tokens: [" said", " \"", "\\", "\n"], form: .jsonObjectSchema)
        let pinned =
            ((quoted["properties"] as? [String: Any])?["activations"] as? [String: Any])?["prefixItems"]
            as? [[String: Any]]
        XCTAssertEqual(
            pinned?.map { (($0["properties"] as? [String: Any])?["token"] as? [String: Any])?["const"] as? String },
            [" said", nil, nil, nil])
        XCTAssertEqual(
            ((llamaCpp.judge["response_format"] as? [String: Any])?["schema"] as? [String: Any])?["required"]
                as? [String], ["answers"])

        let jsonMode = try await bodies(.jsonObject)
        XCTAssertEqual(
            (jsonMode.simulator["response_format"] as? [String: Any]).map { $0.count }, 1, "type only, no schema")
        XCTAssertNil(jsonMode.judge["response_format"], "the judge's prompt does not ask for JSON")
        let plain = try await bodies(.none)
        XCTAssertNil(plain.simulator["response_format"])
        XCTAssertNil(plain.judge["response_format"])
    }

    func testNoRetryOnClientErrorsAndClearMessages() async throws {
        let server = try FakeServer(self)
        let client = try client(server)
        try await server.inject(["401", "404", "400"])
        let results = await LLMSimulator(client: client, mode: .json).simulate([request])
        XCTAssertThrowsMessage(try results[0].get(), contains: ["rejected the request (HTTP 401)", "OPENAI_API_KEY"])
        let second = await LLMSimulator(client: client, mode: .json).simulate([request])
        XCTAssertThrowsMessage(try second[0].get(), contains: ["HTTP 404", "model name (fake)"])
        let third = await LLMSimulator(client: client, mode: .json).simulate([request])
        XCTAssertThrowsMessage(try third[0].get(), contains: ["HTTP 400", "Bad request"])
        let stats = try await server.stats()
        XCTAssertEqual(stats.requests, 3, "none of them retried")
        // An explainer's failure reads once as the explainer's, never wrapped in a simulator's.
        try await server.inject(["401"])
        let explained = await LLMExplainer(client: client).explain([
            ExplainRequest(neuron: NeuronID(layer: 0, neuron: 0), records: [])
        ])
        guard case let .failure(error) = explained[0] else { return XCTFail("a 401 explained something") }
        XCTAssertTrue(error.localizedDescription.hasPrefix("explainer failed: http://"), error.localizedDescription)
        XCTAssertFalse(error.localizedDescription.contains("simulator failed"), error.localizedDescription)
    }

    func testAReplyWithATokenMissingIsAFailureNotZeros() async throws {
        let server = try FakeServer(self)
        let client = try client(server)
        try await server.inject(["missing-token"])
        let result = await LLMSimulator(client: client, mode: .json).simulate([request])
        XCTAssertThrowsMessage(try result[0].get(), contains: ["4 entries for 5 tokens", "none matches token 2"])
    }

    func testCacheMeansASecondRunMakesNoRequest() async throws {
        let server = try FakeServer(self)
        let cachePath = try TestSupport.temporaryDirectory(self).appendingPathComponent("cache.sqlite").path
        func run() async throws -> [Double] {
            let client = try LLMClient(
                configuration: LLMConfiguration(
                    baseURL: server.baseURL, model: "fake", retries: 0, cachePath: cachePath))
            return try await LLMSimulator(client: client, mode: .json).simulate([request])[0].get()
        }
        let first = try await run()
        let requests = try await server.stats().requests
        XCTAssertEqual(requests, 1)
        let second = try await run()
        XCTAssertEqual(first, second)
        let after = try await server.stats().requests
        XCTAssertEqual(after, 1, "answered from the cache")
        // Failures are not cached: a failed call is tried again next run.
        try await server.inject(["400"])
        let other = SimulationRequest(explanation: "other", tokens: ["a"])
        let client = try LLMClient(
            configuration: LLMConfiguration(baseURL: server.baseURL, model: "fake", retries: 0, cachePath: cachePath))
        _ = await LLMSimulator(client: client, mode: .json).simulate([other])
        let retried = await LLMSimulator(client: client, mode: .json).simulate([other])
        XCTAssertNoThrow(try retried[0].get())
    }

    func testConcurrencyLimit() async throws {
        let server = try FakeServer(self)
        try await server.setDelay(0.2)
        let client = try client(server, concurrency: 3)
        let requests = (0..<12).map { SimulationRequest(explanation: "word \($0)", tokens: [" word", " \($0)"]) }
        let results = await LLMSimulator(client: client, mode: .json).simulate(requests)
        XCTAssertEqual(results.filter { (try? $0.get()) != nil }.count, 12)
        let stats = try await server.stats()
        XCTAssertLessThanOrEqual(stats.maxInFlight, 3)
        XCTAssertGreaterThanOrEqual(stats.maxInFlight, 2, "requests did run concurrently")
    }

    func testExplainerAndFailureAccountingThroughTheEvaluator() async throws {
        let server = try FakeServer(self)
        let client = try client(server, retries: 0)
        func record(_ i: Int) -> NeuronRecord {
            func excerpt(_ id: Int) -> ActivationRecord {
                let tokens = [" a", " tax", " on", " tea", " was", " high"]
                return ActivationRecord(excerptID: id, tokens: tokens, activations: tokens.map { $0 == " tax" ? 3 : 0 })
            }
            return NeuronRecord(
                id: NeuronID(layer: 0, neuron: i), mostPositive: (0..<20).map(excerpt), random: (20..<35).map(excerpt))
        }
        var settings = EvaluationSettings()
        settings.calibration = .none
        var results: [NeuronEvaluation] = []
        try await server.inject(["ok", "400"])  // neuron 0's explanation succeeds, neuron 1's fails
        try await Evaluator(source: InMemoryRecords([record(0), record(1)]), settings: settings)
            .run(
                neurons: [NeuronID(layer: 0, neuron: 0), NeuronID(layer: 0, neuron: 1)],
                explainers: [LLMExplainer(client: client)], simulators: [LLMSimulator(client: client, mode: .json)]
            ) { results.append($0) }
        // The two explanations are requested concurrently: either neuron may get the 400.
        XCTAssertEqual(results.map(\.status).sorted { $0.rawValue < $1.rawValue }, [.failed, .ok])
        let ok = try XCTUnwrap(results.first { $0.status == .ok }),
            failed = try XCTUnwrap(results.first { $0.status == .failed })
        XCTAssertEqual(ok.explanation, "the word \"tax\"")
        XCTAssertEqual(ok.scores?.correlation.value ?? 0, 1, accuracy: 1e-9)
        XCTAssertTrue(failed.error?.contains("HTTP 400") ?? false, failed.error ?? "")
        XCTAssertNil(failed.scores)
    }
}
