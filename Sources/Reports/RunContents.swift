import ActivationStore
import Evaluation
import Foundation

/// Everything an evaluation run directory holds that a report shows: its settings (run.json), scores, exact
/// explanation texts (explanations.jsonl) and simulations (simulations.jsonl.gz).
struct RunContents {
    struct Explanation: Decodable {
        var layer: Int
        var neuron: Int
        var explainer: String
        var explanation: String?
        var error: String?
        var explainExcerptIDs: [Int]?
        enum CodingKeys: String, CodingKey { case layer, neuron, explainer, explanation, error, explainExcerptIDs = "explain_excerpt_ids" }
    }

    let directory: String
    let settings: [String: Any]
    let scores: RunScores
    /// (neuron, explainer) → its explanation line.
    let explanations: [NeuronID: [String: Explanation]]
    /// neuron → its simulation rows.
    let simulations: [NeuronID: [SimulationRow]]

    init(directory: String) throws {
        self.directory = directory
        let runURL = URL(fileURLWithPath: directory).appendingPathComponent("run.json")
        guard let data = try? Data(contentsOf: runURL) else {
            throw EvaluationError.invalidRun(path: runURL.path, reason: "not found (is this a `neuronbench evaluate` run directory?)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EvaluationError.invalidRun(path: runURL.path, reason: "not a JSON object")
        }
        guard object["complete"] as? Bool == true else {
            throw EvaluationError.invalidRun(path: runURL.path, reason: "the run did not finish (no \"complete\": true)")
        }
        settings = object
        scores = try RunScores(directory: directory)

        let explanationsPath = URL(fileURLWithPath: directory).appendingPathComponent("explanations.jsonl")
        guard let text = try? String(contentsOf: explanationsPath, encoding: .utf8) else {
            throw EvaluationError.invalidRun(path: explanationsPath.path, reason: "not found or not UTF-8")
        }
        var explanations: [NeuronID: [String: Explanation]] = [:]
        let decoder = JSONDecoder()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let e = try? decoder.decode(Explanation.self, from: Data(line.utf8)) else {
                throw EvaluationError.invalidRun(path: explanationsPath.path, reason: "line \(index + 1) is not an explanation row")
            }
            explanations[NeuronID(layer: e.layer, neuron: e.neuron), default: [:]][e.explainer] = e
        }
        self.explanations = explanations
        simulations = Dictionary(grouping: try SimulationRow.readAll(directory: directory), by: \.id)
    }

    /// The database named in run.json, resolved against the current directory as `evaluate` was.
    var databasePath: String? { settings["database"] as? String }
}

/// Controls are named by their plug-ins: `shuffled(…)` and `constant…` explainers.
func isControl(explainer: String) -> Bool {
    explainer.hasPrefix("shuffled(") || explainer.hasPrefix("constant")
}
