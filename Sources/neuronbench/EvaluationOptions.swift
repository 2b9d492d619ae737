import ArgumentParser
import Evaluation

/// Options shared by `evaluate` and `puzzles`: which explainers and simulators, and how records are split.
struct EvaluationOptions: ParsableArguments {
    @Option(name: .customLong("explainer"), help: "An explainer (repeatable): token-list, file:PATH, shuffled[:EXPLAINER], constant[:TEXT].")
    var explainers: [String] = []
    @Option(name: .customLong("simulator"), help: "A simulator (repeatable): keyword.")
    var simulators: [String] = []
    @Option(help: "How simulated values are mapped to activations before R² and absolute deviation: none, linear, percentile (fitted on the calibration split).")
    var calibration: String = "linear"
    @Option(help: "Training records shown to the explainer.")
    var explainRecords = 5
    @Option(help: "Scored records: N (N top + N random) or TOP+RANDOM.")
    var scoreRecords = "5"
    @Option(help: "Seed of the controls and of random:N neuron selection.")
    var seed: UInt64 = 0

    func validate() throws {
        guard !explainers.isEmpty else { throw ValidationError("Give at least one --explainer (e.g. token-list).") }
        guard !simulators.isEmpty else { throw ValidationError("Give at least one --simulator (e.g. keyword).") }
        guard CalibrationMethod(rawValue: calibration) != nil else { throw ValidationError("--calibration must be none, linear or percentile.") }
        guard explainRecords > 0 else { throw ValidationError("--explain-records must be positive.") }
        _ = try scoreSizes()
    }

    func scoreSizes() throws -> (Int, Int) {
        let parts = scoreRecords.split(separator: "+").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(parts.count), parts.allSatisfy({ ($0 ?? -1) >= 0 }) else {
            throw ValidationError("--score-records must be N or TOP+RANDOM, e.g. 5 or 5+5.")
        }
        return (parts[0]!, parts[parts.count - 1]!)
    }

    func settings() throws -> EvaluationSettings {
        var settings = EvaluationSettings()
        let (top, random) = try scoreSizes()
        settings.splits = RecordSplits.Sizes(explainRecords: explainRecords, scoreTop: top, scoreRandom: random)
        settings.calibration = CalibrationMethod(rawValue: calibration)!
        return settings
    }

    func plugins() throws -> ([any Explainer], [any Simulator]) {
        let registry = PluginRegistry.standard
        return (try explainers.map { try registry.explainer($0, seed: seed) }, try simulators.map { try registry.simulator($0) })
    }
}
