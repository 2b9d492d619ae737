import ActivationStore
import TestSupport
import XCTest

@testable import Evaluation

final class BaselineTests: XCTestCase {
    let records = [
        ActivationRecord(
            excerptID: 1, tokens: [" The", " dollar", " rose", " 5", "%", "."], activations: [0, 3, 0.5, 0, 0, 0]),
        ActivationRecord(
            excerptID: 2, tokens: [" dollars", " and", " cents", " dollar", "\n", " the"],
            activations: [2, 0, 1, 2.5, 0, 0.1]),
        ActivationRecord(excerptID: 3, tokens: [" Dollar", " prices", " the", "\n"], activations: [2.8, 0.2, 0.1, 0]),
    ]

    func testTokenListExplainerQuotesTheHighestMeanTokens() async {
        // Groups are case-sensitive after trimming: "dollar" x2 mean 2.75, "the" x2 mean 0.1 ("\n" x2 has mean 0);
        // seen once: "Dollar" 2.8, "dollars" 2, "cents" 1, "rose" 0.5, "prices" 0.2.
        let explainer = TokenListExplainer(maximumTokens: 2, minimumCount: 2)
        XCTAssertEqual(explainer.explanation(for: records), "the tokens \"dollar\" and \"the\"")
        XCTAssertEqual(
            TokenListExplainer(maximumTokens: 2, minimumCount: 1).explanation(for: records),
            "the tokens \"Dollar\" and \"dollar\"")
        // Only two frequent tokens for three places: rare tokens at least as strong as "the" (0.1) compete.
        XCTAssertEqual(
            TokenListExplainer(maximumTokens: 3, minimumCount: 2).explanation(for: records),
            "the tokens \"Dollar\", \"dollar\" and \"dollars\"")
        let results = await explainer.explain([ExplainRequest(neuron: NeuronID(layer: 0, neuron: 0), records: records)])
        XCTAssertEqual(try results[0].get(), explainer.explanation(for: records))
        // No positive activation anywhere: a failure, not an empty explanation.
        let silent = [ActivationRecord(excerptID: 1, tokens: ["a", "b"], activations: [0, -0.1])]
        let failed = await explainer.explain([ExplainRequest(neuron: NeuronID(layer: 0, neuron: 0), records: silent)])
        XCTAssertThrowsError(try failed[0].get())
    }

    func testQuotingRoundTripsThroughTheKeywordSimulator() {
        let awkward = ["he said \"hi\"", "back\\slash", "\n", "tab\there"]
        let explanation = "the tokens " + awkward.map(TokenText.quote).joined(separator: ", ")
        XCTAssertEqual(KeywordSimulator.quotedSpans(explanation), awkward)
    }

    func testKeywordSimulatorRules() {
        func predict(_ explanation: String, _ tokens: [String]) -> [Double] {
            KeywordSimulator.predict(KeywordSimulator.terms(of: explanation), tokens)
        }
        // Quoted terms, case and surrounding whitespace ignored.
        XCTAssertEqual(
            predict("the tokens \"dollar\" and \"cent\"", [" Dollar", " cents", "dollar", " euro"]), [10, 10, 10, 0])
        // Other quote styles; an apostrophe inside a word opens nothing.
        XCTAssertEqual(
            predict("the neuron's favourite: 'tax' and “tariff”", [" tax", " tariff", " neuron", "'s"]), [10, 10, 0, 0])
        // Unquoted explanations: content words, less descriptive words.
        XCTAssertEqual(
            predict("words related to war and peace", [" war", " and", " peace", " words", " related"]),
            [10, 0, 10, 0, 0])
        // Sub-word pieces and phrases: every token of the run.
        XCTAssertEqual(
            predict(
                "\"Lovelace\" and \"United States\"",
                [" Ada", " Lo", "vel", "ace", " the", " United", " States", " United"]),
            [0, 10, 10, 10, 0, 10, 10, 0])
        // Categories named in the explanation.
        XCTAssertEqual(predict("numbers and years", [" 1776", " 3,000", "th", " Washington"]), [10, 10, 0, 0])
        XCTAssertEqual(predict("capitalised words", [" The", " cat", "Paris"]), [10, 0, 10])
        XCTAssertEqual(predict("punctuation and newlines", [",", " word", "\n\n", "?!"]), [10, 0, 10, 10])
        // Nothing named: zeros (a constant simulation, whose correlation is undefined, never 0).
        XCTAssertEqual(predict("", [" a", " b"]), [0, 0])
    }

    func testKeywordSimulatorIsDeterministicAndBatched() async throws {
        let simulator = KeywordSimulator()
        let requests = (0..<50).map {
            SimulationRequest(explanation: "\"x\" and \"y\($0 % 3)\"", tokens: ["x", " y1", " y2", "z"])
        }
        let first = await simulator.simulate(requests), second = await simulator.simulate(requests)
        XCTAssertEqual(try first.map { try $0.get() }, try second.map { try $0.get() })
        XCTAssertEqual(try first[1].get(), [10, 10, 0, 0])
    }

    func testShuffledControlIsASeededDerangement() async throws {
        let requests = (0..<12).map { ExplainRequest(neuron: NeuronID(layer: 0, neuron: $0), records: []) }
        let base = ConstantlyNamedExplainer()
        let shuffled = await ShuffledExplainer(base: base, seed: 5).explain(requests)
        let again = await ShuffledExplainer(base: base, seed: 5).explain(requests)
        let other = await ShuffledExplainer(base: base, seed: 6).explain(requests)
        let names = try shuffled.map { try $0.get() }
        XCTAssertEqual(names, try again.map { try $0.get() })
        XCTAssertNotEqual(names, try other.map { try $0.get() })
        XCTAssertEqual(Set(names), Set((0..<12).map { "neuron \($0)" }), "a permutation")
        for (i, name) in names.enumerated() {
            XCTAssertNotEqual(name, "neuron \(i)", "no neuron keeps its own explanation")
        }
    }

    func testConstantControlGivesEveryNeuronOneExplanation() async throws {
        let requests = [
            ExplainRequest(neuron: NeuronID(layer: 0, neuron: 0), records: records),
            ExplainRequest(neuron: NeuronID(layer: 0, neuron: 1), records: records.reversed()),
        ]
        let results = await ConstantExplainer().explain(requests)
        XCTAssertEqual(try results[0].get(), try results[1].get())
        let fixed = await ConstantExplainer(text: "anything").explain(requests)
        XCTAssertEqual(try fixed.map { try $0.get() }, ["anything", "anything"])
    }

    func testRegistryNamesEveryBaselineAndRejectsUnknownNames() throws {
        let registry = PluginRegistry.standard
        XCTAssertEqual(try registry.explainer("token-list", seed: 0).name, "token-list")
        XCTAssertEqual(try registry.explainer("shuffled", seed: 0).name, "shuffled(token-list)")
        XCTAssertEqual(try registry.explainer("constant:foo", seed: 0).name, "constant:foo")
        XCTAssertEqual(try registry.simulator("keyword").name, "keyword")
        XCTAssertThrowsMessage(
            try registry.explainer("gpt-5", seed: 0), contains: ["unknown explainer \"gpt-5\"", "token-list"])
        XCTAssertThrowsMessage(try registry.simulator("psychic"), contains: ["unknown simulator", "keyword"])
        XCTAssertThrowsMessage(try registry.explainer("file:", seed: 0), contains: ["needs a path"])
    }
}

/// Explains neuron i as "neuron i": makes shuffling visible.
struct ConstantlyNamedExplainer: Explainer {
    var name: String { "named" }
    func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>] {
        requests.map { .success("neuron \($0.neuron.neuron)") }
    }
}
