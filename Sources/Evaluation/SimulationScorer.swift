/// OpenAI's score (method.md §5): simulate every token of the scored records from the explanation, calibrate,
/// correlate. Correlations are computed on the simulator's own values (calibration cannot change them); R² and
/// absolute deviation explained on the calibrated values. Records come from `RecordSplits`.
public struct SimulationScorer: Scorer {
    public let simulator: any Simulator
    public let splits: RecordSplits.Sizes
    public let calibration: CalibrationMethod

    public var name: String { "simulation:\(simulator.name)" }

    public init(simulator: any Simulator, splits: RecordSplits.Sizes, calibration: CalibrationMethod) {
        self.simulator = simulator
        self.splits = splits
        self.calibration = calibration
    }

    public func score(_ requests: [ScoreRequest]) async -> [Result<UnitScore, EvaluationError>] {
        // Every record to simulate, per unit: calibration (if used), then scored top and random.
        var plans: [(records: [(SimulatedRecord.Role, ActivationRecord)], first: Int, splits: RecordSplits)] = []
        var simulations: [SimulationRequest] = []
        for request in requests {
            let s = RecordSplits(request.record, sizes: splits)
            let records =
                (calibration == .none ? [] : s.calibration.map { (SimulatedRecord.Role.calibration, $0) })
                + s.scoreTop.map { (.top, $0) } + s.scoreRandom.map { (.random, $0) }
            plans.append((records, simulations.count, s))
            simulations += records.map {
                SimulationRequest(explanation: request.explanation, tokens: $0.1.tokens, neuron: request.neuron)
            }
        }
        let results = simulations.isEmpty ? [] : await simulator.simulate(simulations)
        guard results.count == simulations.count else {
            let failure = EvaluationError.simulatorFailed(
                "\(simulator.name) returned \(results.count) results for \(simulations.count) requests")
            return requests.map { _ in .failure(failure) }
        }
        return plans.map { plan in
            var simulated: [SimulatedRecord] = []
            for (offset, (role, record)) in plan.records.enumerated() {
                switch results[plan.first + offset] {
                case let .failure(error):
                    return .failure(error)
                case let .success(values) where values.count != record.tokens.count:
                    return .failure(
                        .simulatorFailed(
                            "simulator returned \(values.count) values for \(record.tokens.count) tokens"))
                case let .success(values):
                    simulated.append(
                        SimulatedRecord(
                            role: role, excerptID: record.excerptID, tokens: record.tokens,
                            actual: record.activations, simulated: values, calibrated: values))
                }
            }
            return .success(.simulation(scored(simulated, plan.splits)))
        }
    }

    /// Fits the calibration, applies it, and computes every score.
    private func scored(_ records: [SimulatedRecord], _ s: RecordSplits) -> SimulationScore {
        var simulated = records
        let calibrationRecords = simulated.filter { $0.role == .calibration }
        let fitted = Calibration.fit(
            calibration, simulated: calibrationRecords.flatMap(\.simulated),
            actual: calibrationRecords.flatMap { $0.actual.map(Double.init) })
        for i in simulated.indices where simulated[i].role != .calibration {
            simulated[i].calibrated = fitted.apply(simulated[i].simulated)
        }
        let top = simulated.filter { $0.role == .top }, random = simulated.filter { $0.role == .random }
        func pairs(_ records: [SimulatedRecord], calibrated: Bool) -> [([Double], [Double])] {
            records.map { ($0.actual.map(Double.init), calibrated ? $0.calibrated : $0.simulated) }
        }
        var scores = Scoring.scores(top: pairs(top, calibrated: false), random: pairs(random, calibrated: false))
        let calibrated = Scoring.scores(top: pairs(top, calibrated: true), random: pairs(random, calibrated: true))
        scores.rSquared = calibrated.rSquared
        scores.absoluteDeviationExplained = calibrated.absoluteDeviationExplained
        return SimulationScore(
            calibration: calibration, scores: scores, records: simulated, scoreTopRecords: s.scoreTop.count,
            scoreRandomRecords: s.scoreRandom.count,
            scoredTokens: (s.scoreTop + s.scoreRandom).reduce(0) { $0 + $1.tokens.count })
    }
}
