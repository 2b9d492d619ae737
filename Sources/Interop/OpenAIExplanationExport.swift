import ActivationStore
import Evaluation
import Foundation

extension OpenAIExport {
    /// What an explanations export wrote and left out.
    public struct ExplanationSummary: Equatable, Sendable {
        public var scorer = ""
        public var neurons = 0
        public var explanations = 0
        /// Neurons written whose every explanation has an undefined correlation: neuron-viewer cannot show them
        /// (it calls `toFixed` on the first explanation's score).
        public var allUndefined = 0
        /// Rows left out: failed, missing or dead.
        public var leftOut = 0
    }

    /// Writes `directory/explanations/` from `run`: per neuron, one `NeuronSimulationResults` line with one
    /// `ScoredExplanation` per explainer scored by `scorer` (default: the run's first simulation scorer), the
    /// explanations with a numeric correlation first; each explanation's scored top sequences, then its random
    /// ones. Aggregates are scores.csv's; per-sequence scores are computed here the same way. With calibration,
    /// `expected_activations` holds the calibrated values (`neuron_activations`) and `uncalibrated_simulation` the
    /// simulator's 0–10 values, as OpenAI writes them; a sidecar says so.
    public static func explanations(
        run: RunContents, reader: NeuronRecordReader, scorer requested: String? = nil, to directory: URL
    ) throws -> ExplanationSummary {
        let simulationScorers = run.scores.pairs.filter { $0.kind == .simulation }.map(\.scorer)
        guard let scorer = requested ?? simulationScorers.first else {
            throw InteropError.invalidRequest(
                "\(run.directory) has no simulation scores: OpenAI's explanation files hold simulations")
        }
        guard simulationScorers.contains(scorer) else {
            throw InteropError.invalidRequest(
                "\(run.directory) has no rows of scorer \(scorer) (its simulation scorers: \(simulationScorers.joined(separator: ", ")))"
            )
        }
        let calibration = run.manifest.calibration
        let explainerOrder = run.manifest.explainers
        var summary = ExplanationSummary()
        summary.scorer = scorer
        let rowsByNeuron = Dictionary(grouping: run.scores.rows.filter { $0.scorer == scorer }, by: \.neuron)
        return try writeTree(directory, explanationsFolder) { staging in
            for neuron in rowsByNeuron.keys.sorted() {
                let rows = rowsByNeuron[neuron]!
                summary.leftOut += rows.filter { $0.status != .ok }.count
                let scored = rows.filter { $0.status == .ok }.sorted {
                    let (a, b) = ($0.correlation.isFinite, $1.correlation.isFinite)
                    if a != b { return a }
                    return (explainerOrder.firstIndex(of: $0.explainer) ?? .max)
                        < (explainerOrder.firstIndex(of: $1.explainer) ?? .max)
                }
                guard !scored.isEmpty else { continue }
                let simulations = run.simulations[neuron] ?? []
                let explanations = try scored.map { row -> OpenAIFormat.ScoredExplanation in
                    guard
                        let simulation = simulations.first(where: {
                            $0.explainer == row.explainer && "simulation:\($0.simulator)" == scorer
                        })
                    else {
                        throw InteropError.invalidFile(
                            path: run.directory + "/simulations.jsonl.gz",
                            reason:
                                "no simulation of \(neuron) by \(row.explainer) × \(scorer), which scores.csv scored")
                    }
                    return try Self.scoredExplanation(
                        row, simulation, calibration: calibration, tokens: reader.tokens(ofExcerpt:))
                }
                let results = OpenAIFormat.NeuronSimulationResults(
                    id: .init(layer: neuron.layer, neuron: neuron.neuron), scoredExplanations: explanations)
                let folder = staging.appendingPathComponent(String(neuron.layer), isDirectory: true)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let file = folder.appendingPathComponent("\(neuron.neuron).jsonl")
                try write(results.fileText, to: file)
                try write(
                    Self.explanationSidecar(run: run, scorer: scorer, calibration: calibration),
                    to: folder.appendingPathComponent("\(neuron.neuron).neuronbench.json"))
                summary.neurons += 1
                summary.explanations += explanations.count
                if explanations.allSatisfy({ $0.correlation == nil }) { summary.allUndefined += 1 }
            }
            return summary
        }
    }

    static func scoredExplanation(
        _ row: RunScores.Row, _ simulation: SimulationRow, calibration: CalibrationMethod,
        tokens: (Int) throws -> [String]
    ) throws -> OpenAIFormat.ScoredExplanation {
        func finite(_ score: Score) -> Double? { score.value.flatMap { $0.isFinite ? $0 : nil } }
        func doubles(_ values: [Float?]?) -> [Double] { (values ?? []).map { $0.map(Double.init) ?? .nan } }
        let ordered =
            simulation.records.filter { $0.role == .top } + simulation.records.filter { $0.role == .random }
        let sequences = try ordered.map { record -> OpenAIFormat.ScoredSequenceSimulation in
            let text = try tokens(record.excerptID)
            let actual = doubles(record.actual), raw = doubles(record.simulated)
            let calibrated = doubles(record.calibrated)
            let rawSimulation = OpenAIFormat.SequenceSimulation(
                tokens: text, expectedActivations: raw, activationScale: .simulatedNormalized)
            let shown =
                calibration == .none
                ? rawSimulation
                : OpenAIFormat.SequenceSimulation(
                    tokens: text, expectedActivations: calibrated, activationScale: .neuronActivations,
                    uncalibrated: rawSimulation)
            return OpenAIFormat.ScoredSequenceSimulation(
                simulation: shown, trueActivations: actual.map(Float.init),
                correlation: finite(Scoring.correlation(actual, raw)),
                rSquared: finite(Scoring.rSquared(actual, calibrated)),
                absoluteDeviationExplained: finite(Scoring.absoluteDeviationExplained(actual, calibrated)))
        }
        func aggregate(_ name: String) -> Double? {
            let value = row.metric(name)
            return value.isFinite ? value : nil
        }
        return OpenAIFormat.ScoredExplanation(
            explanation: row.explanation, sequences: sequences, correlation: aggregate("correlation"),
            rSquared: aggregate("r_squared"), absoluteDeviationExplained: aggregate("absolute_dev_explained"))
    }

    static func explanationSidecar(run: RunContents, scorer: String, calibration: CalibrationMethod) -> String {
        let m = run.manifest
        let expected =
            calibration == .none
            ? "the simulator's 0-10 values (activation_scale simulated_normalized_activations); no calibration"
            : "the \(calibration.rawValue)-calibrated values (activation_scale neuron_activations); uncalibrated_simulation holds the simulator's 0-10 values"
        return JSONValue.object([
            ("format", .string("neuronbench-openai-explanation-sidecar")), ("version", .int(1)),
            ("run", .string(run.directory)), ("scorer", .string(scorer)),
            ("calibration", .string(calibration.rawValue)),
            ("expected_activations", .string(expected)),
            (
                "ev_correlation_score",
                .string(
                    "Pearson correlation of the true activations with the simulator's raw values (before calibration), as scores.csv's correlation; the aggregate pools the scored top and random records' tokens"
                )
            ),
            ("rsquared_score", .string("OpenAI's uncentred R^2 on the calibrated values, as scores.csv's r_squared")),
            (
                "absolute_dev_explained_score",
                .string("1 - mean|a - s| / mean|a| on the calibrated values, as scores.csv's absolute_dev_explained")
            ),
            ("sequences", .string("the scored top records first, then the scored random records")),
            ("database", .string(m.database)),
            ("database_fingerprint", m.databaseFingerprint.map(JSONValue.string) ?? .null),
            ("units", m.units.map(JSONValue.string) ?? .null),
            ("explainers", .array(m.explainers.map(JSONValue.string))),
            ("explain_records", .int(m.explainRecords)), ("score_top_records", .int(m.scoreTopRecords)),
            ("score_random_records", .int(m.scoreRandomRecords)), ("seed", .string(String(m.seed))),
            ("tool", .string(m.tool)),
        ]).text + "\n"
    }
}
