import ActivationStore
import Evaluation
import Foundation
import TestSupport
import XCTest

@testable import LLM

/// Golden tests of the prompt builders (Tests/LLMTests/Resources/*.golden; regenerate with
/// NEURONBENCH_UPDATE_GOLDEN=1 and review the diff), and the reply parsers.
final class PromptTests: XCTestCase {
    let records = [
        ActivationRecord(
            excerptID: 1, tokens: [" The", " tax", " on", " tea", "\n"], activations: [0, 4.2, 0.1, 2.0, -0.1]),
        ActivationRecord(
            excerptID: 2, tokens: ["Tax", "es", " rose", " in", " 1773"], activations: [3.9, 1.0, 0, 0, 0]),
    ]

    func testExplainerPromptGolden() throws {
        try assertGolden(render(Prompts.explainer(records: records)), "explainer")
    }

    func testSimulatorPromptsGolden() throws {
        try assertGolden(Prompts.allAtOnce(explanation: "taxes and tea", tokens: records[0].tokens), "all-at-once")
        try assertGolden(render(Prompts.json(explanation: "taxes and tea", tokens: records[0].tokens)), "json")
    }

    func testNormalisationAndZeroFilteredRepeat() {
        // max positive 4.2: floor(10·a/4.2), negatives 0, capped at 10.
        XCTAssertEqual(Prompts.normalised([[0, 4.2, 0.1, 2.0, -0.1], [3.9, 1.0]]), [[0, 10, 0, 4, 0], [9, 2]])
        XCTAssertEqual(Prompts.normalised([[0, 0]]), [[0, 0]])
        let sparse = Prompts.formatRecords([
            (tokens: (0..<10).map { "t\($0)" }, activations: [5] + Array(repeating: 0, count: 9))
        ])
        XCTAssertTrue(
            sparse.contains("listing only the tokens with non-zero activation:\n<start>\nt0\t10\n<end>"), sparse)
        let dense = Prompts.formatRecords([(tokens: ["a", "b"], activations: [1, 2])])
        XCTAssertFalse(dense.contains("non-zero"))
    }

    func testExplanationCleaning() {
        XCTAssertEqual(
            Prompts.cleanExplanation("the main thing this neuron does is find words about money.\nMore text"),
            "words about money")
        XCTAssertEqual(Prompts.cleanExplanation("  \"references to tea\".  "), "references to tea")
        XCTAssertEqual(Prompts.cleanExplanation("the word \"tax\"."), "the word \"tax\"")
        XCTAssertNil(Prompts.cleanExplanation("  \n "))
    }

    func testLogprobParsing() throws {
        // Tokens of "…Activations:\n<start>\n a\tunknown\n b\tunknown\n<end>\n" and one generated token, as
        // OpenAI shapes echo + logprobs: top_logprobs[i] is the distribution of token i given the tokens before it.
        let prompt = [
            "x", "Activations:", "\n", "<start>", "\n", " a", "\t", "unknown", "\n", " b", "\t", "unknown", "\n",
            "<end>", "\n",
        ]
        let generated = ["\t", "unknown"]  // a generated "\tunknown" must not count as a third position
        var top: [Any] = (prompt + generated).map { _ in NSNull() }
        top[7] = ["0": log(0.5), "10": log(0.5), " the": -3.0]
        top[11] = ["2": log(0.6), " 4": log(0.2), "x": -1.0]
        top[15] = ["\t": -0.1, "y": -4.0]  // the greedy token is the most likely at its own position
        top[14] = ["<": -0.2, "\t": -2.0]
        top[16] = ["0": log(0.9), "unknown": -3.0]
        let object: [String: Any] = [
            "choices": [["logprobs": ["tokens": prompt + generated, "top_logprobs": top]]],
            "usage": ["prompt_tokens": 15, "completion_tokens": 2],
        ]
        let text = prompt.joined()
        let echoed = try EchoedPrompt.read(object, prompt: text, alignment: .check).get()
        XCTAssertFalse(echoed.wasShifted)
        XCTAssertEqual(echoed.tokens, prompt)
        let values = try LLMSimulator.expectedValues(echoed, tokenCount: 2).get()
        XCTAssertEqual(values[0], 5, accuracy: 1e-12)  // 0·0.5 + 10·0.5
        XCTAssertEqual(values[1], (2 * 0.6 + 4 * 0.2) / 0.8, accuracy: 1e-12)  // renormalised over 0–10
        XCTAssertThrowsMessage(
            try LLMSimulator.expectedValues(echoed, tokenCount: 3).get(),
            contains: ["found 2 activation positions", "3 tokens"])

        // The same reply from a server that shifts by one position (llama-cpp-python #1983): read realigned.
        let shiftedTop: [Any] = [NSNull()] + Array(top[1...]).dropFirst() + [["z": -0.5]]
        var shifted = object
        shifted["choices"] = [["logprobs": ["tokens": prompt + generated, "top_logprobs": shiftedTop]]]
        let realigned = try EchoedPrompt.read(shifted, prompt: text, alignment: .check).get()
        XCTAssertTrue(realigned.wasShifted)
        XCTAssertEqual(try LLMSimulator.expectedValues(realigned, tokenCount: 2).get(), values)
        // Read as OpenAI specifies, the shifted lists would give other numbers: the check is what saves them.
        let misread = try EchoedPrompt.read(shifted, prompt: text, alignment: .aligned).get()
        XCTAssertNotEqual(try? LLMSimulator.expectedValues(misread, tokenCount: 2).get(), values)
        XCTAssertEqual(
            try LLMSimulator.expectedValues(
                EchoedPrompt.read(shifted, prompt: text, alignment: .shifted).get(), tokenCount: 2
            ).get(), values)

        // A reply that cannot tell (the greedy token most likely at both positions), or has no generated token.
        var ambiguousTop = top
        ambiguousTop[14] = ["\t": -0.05]
        var ambiguous = object
        ambiguous["choices"] = [["logprobs": ["tokens": prompt + generated, "top_logprobs": ambiguousTop]]]
        XCTAssertThrowsMessage(
            try EchoedPrompt.read(ambiguous, prompt: text, alignment: .check).get(),
            contains: ["cannot tell whether the echoed log-probabilities are aligned", "--llm-echo-alignment"])
        let promptOnly: [String: Any] = [
            "choices": [["logprobs": ["tokens": prompt, "top_logprobs": Array(top[..<15])]]],
            "usage": ["completion_tokens": 0],
        ]
        XCTAssertThrowsMessage(
            try EchoedPrompt.read(promptOnly, prompt: text, alignment: .check).get(),
            contains: ["no generated token"])
        XCTAssertEqual(
            try EchoedPrompt.read(promptOnly, prompt: text, alignment: .aligned).get().tokens.count, 15)
        // Without usage, text_offset against the prompt's length separates prompt from generated tokens.
        var offsets: [Int] = [], offset = 0
        for token in prompt + generated {
            offsets.append(offset)
            offset += token.unicodeScalars.count
        }
        let byOffset: [String: Any] = [
            "choices": [["logprobs": ["tokens": prompt + generated, "top_logprobs": top, "text_offset": offsets]]]
        ]
        XCTAssertEqual(try EchoedPrompt.read(byOffset, prompt: text, alignment: .check).get().tokens, prompt)
        XCTAssertThrowsMessage(
            try EchoedPrompt.read(["choices": [["text": "x"]]], prompt: text, alignment: .check).get(),
            contains: ["no prompt log-probabilities", "json simulator"])
    }

    func testJSONAlignment() throws {
        let tokens = [" The", " tax", "\n", " tea"]
        XCTAssertEqual(
            try LLMSimulator.alignJSON(
                #"{"activations": [{"index": 1, "activation": 9}, {"index": 0, "activation": 0}, {"index": 3, "activation": 12}, {"index": 2, "activation": -1}]}"#,
                tokens: tokens
            ).get(),
            [0, 9, 0, 10], "by index, clamped to 0–10")
        // No indices: matched by token text, leading spaces dropped by the model, a stray entry skipped, fenced reply.
        let fenced =
            "```json\n"
            + #"{"activations": [{"token": "The", "activation": 1}, {"token": "tax", "activation": 8}, {"token": "!", "activation": 5}, {"token": "\n", "activation": 0}, {"token": "TEA", "activation": 7}]}"#
            + "\n```"
        XCTAssertEqual(try LLMSimulator.alignJSON(fenced, tokens: tokens).get(), [1, 8, 0, 7])
        XCTAssertThrowsMessage(
            try LLMSimulator.alignJSON(
                #"{"activations": [{"token": "The", "activation": 1}, {"token": "tea", "activation": 7}]}"#,
                tokens: tokens
            ).get(),
            contains: ["2 entries for 4 tokens", "token 1"])
        XCTAssertThrowsMessage(
            try LLMSimulator.alignJSON("I think 5", tokens: tokens).get(), contains: ["not a JSON object", "I think 5"])
        // A raw line break inside a string (llama-cpp-python's grammar for a `const` "\n"), escaped ones kept.
        let raw =
            "{\"activations\": [{\"index\": 0, \"token\": \" The\\\"\", \"activation\": 1}, "
            + "{\"index\": 1, \"token\": \" tax\", \"activation\": 2}, {\"index\": 2, \"token\": \"\n\", \"activation\": 3}, "
            + "{\"index\": 3, \"token\": \"\\n\", \"activation\": 4}]}"
        XCTAssertEqual(try LLMSimulator.alignJSON(raw, tokens: tokens).get(), [1, 2, 3, 4])
    }
}

extension XCTestCase {
    /// Compares a prompt with Tests/LLMTests/Resources/NAME.golden (rewritten with NEURONBENCH_UPDATE_GOLDEN=1).
    func assertGolden(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = TestSupport.repositoryRoot.appendingPathComponent("Tests/LLMTests/Resources/\(name).golden")
        if ProcessInfo.processInfo.environment["NEURONBENCH_UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(
            text, try String(contentsOf: url, encoding: .utf8), "\(name) prompt changed", file: file, line: line)
    }

    /// Chat messages as one text: "### role" then the content.
    func render(_ messages: [[String: String]]) -> String {
        messages.map { "### \($0["role"]!)\n\($0["content"]!)" }.joined(separator: "\n")
    }
}
