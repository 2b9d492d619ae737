import Support

/// The intruder score (Paulo & Belrose 2025): how coherent a unit's activating examples are, with no explanation.
///
/// Each trial shows the judge k − 1 activating examples from one group (the held-out top records, or one quantile
/// bucket: groups with at least k − 1 examples take turns) and one intruder, all with their active tokens
/// highlighted, in a seeded order; the judge names the intruder. The intruder is a non-activating example
/// (distinct in every trial), highlighted at the positions of one of the trial's activating examples so that
/// highlights alone do not give it away; or (`IntruderSource.otherBucket`) an activating example of another
/// group, highlighted on its own active tokens. Examples come from `ExampleSelection` (never one the explainer
/// saw); an activating example may appear in several trials, never twice in one. The score is the share of
/// trials in which the intruder was named (chance 1/k). A unit without a group of k − 1 activating examples, or
/// with intruders for fewer than `minimum` trials (or all trials, if fewer), is undefined; a failed judge call fails
/// the unit.
public struct IntruderScorer: Scorer {
    public let judge: any Judge
    public let settings: ExampleSettings
    public let seed: UInt64

    public var name: String { "intruder:\(judge.name)" }
    public var needsExplanation: Bool { false }

    public init(judge: any Judge, settings: ExampleSettings, seed: UInt64) {
        self.judge = judge
        self.settings = settings
        self.seed = seed
    }

    /// One trial as planned: the examples in the order shown, their highlights, and where the intruder is.
    struct Trial {
        var examples: [ClassificationExample]
        var highlighted: [[Int]]
        var intruder: Int
    }

    enum Plan {
        case scored([Trial])
        case undefined(String)
    }

    public func score(_ requests: [ScoreRequest]) async -> [Result<UnitScore, EvaluationError>] {
        let plans = requests.map(plan)
        var calls: [IntruderRequest] = [], first: [Int] = []
        for (request, plan) in zip(requests, plans) {
            first.append(calls.count)
            calls += self.calls(request, plan)
        }
        let picks = calls.isEmpty ? [] : await judge.pickIntruder(calls)
        guard picks.count == calls.count else {
            let failure = EvaluationError.judgeFailed(
                "\(judge.name) returned \(picks.count) results for \(calls.count) calls")
            return requests.map { _ in .failure(failure) }
        }
        let k = max(2, settings.intruderExamples)
        return plans.indices.map { unit -> Result<UnitScore, EvaluationError> in
            let trials: [Trial]
            switch plans[unit] {
            case let .undefined(reason):
                return .success(
                    .intruder(
                        IntruderScore(accuracy: .undefined(reason), trials: 0, chance: 1 / Double(k), judgements: [])))
            case let .scored(planned): trials = planned
            }
            var judgements: [Judgement] = [], correct = 0
            for (t, trial) in trials.enumerated() {
                let pick: Int
                switch picks[first[unit] + t] {
                case let .failure(error): return .failure(error)
                case let .success(index): pick = index
                }
                guard trial.examples.indices.contains(pick) else {
                    return .failure(
                        .judgeFailed("\(judge.name) named example \(pick + 1) of \(trial.examples.count)"))
                }
                if pick == trial.intruder { correct += 1 }
                for (position, example) in trial.examples.enumerated() {
                    judgements.append(
                        Judgement(
                            excerptID: example.record.excerptID, source: example.source,
                            label: position == trial.intruder, highlighted: trial.highlighted[position], call: t,
                            position: position, answer: JudgeAnswer(yes: position == pick)))
                }
            }
            return .success(
                .intruder(
                    IntruderScore(
                        accuracy: .value(Double(correct) / Double(trials.count)), trials: trials.count,
                        chance: 1 / Double(k), judgements: judgements)))
        }
    }

    /// The judge calls for one unit, one per trial (none when it is undefined): what `score` sends and
    /// `--dry-run` counts.
    public func calls(for request: ScoreRequest) -> [IntruderRequest] { calls(request, plan(request)) }

    func calls(_ request: ScoreRequest, _ plan: Plan) -> [IntruderRequest] {
        guard case let .scored(trials) = plan else { return [] }
        return trials.map { trial in
            IntruderRequest(
                examples: zip(trial.examples, trial.highlighted).map {
                    JudgeExample(tokens: $0.record.tokens, highlighted: $1)
                }, neuron: request.neuron)
        }
    }

    func plan(_ request: ScoreRequest) -> Plan {
        let k = max(2, settings.intruderExamples)
        var wanted = settings
        wanted.activating = settings.intruderTrials * (k - 1)
        wanted.nonActivating = settings.intruderTrials
        let selection = ExampleSelection(request.record, shown: request.shown, settings: wanted, seed: seed)
        func active(_ example: ClassificationExample) -> [Int] {
            example.record.activations.indices.filter { selection.isActive(example.record.activations[$0]) }
        }
        var byGroup: [String: [ClassificationExample]] = [:]
        for example in selection.activating { byGroup[example.source, default: []].append(example) }
        let groups = byGroup.keys.sorted().filter { byGroup[$0]!.count >= k - 1 }
        guard !groups.isEmpty else {
            return .undefined("no group of \(k - 1) activating examples (top records or one quantile bucket)")
        }
        var generator = SplitMix64(
            seed: seed ^ (UInt64(request.neuron.layer) << 40) ^ UInt64(request.neuron.neuron) ^ 0x1A7B_0DE5)
        var trials: [Trial] = []
        var nextIntruder = 0
        for t in 0..<settings.intruderTrials {
            let group = groups[t % groups.count]
            var members = byGroup[group]!
            generator.shuffle(&members)
            let chosen = Array(members.prefix(k - 1))
            var highlighted = chosen.map(active)
            var found: (ClassificationExample, [Int])?
            switch settings.intruderSource {
            case .nonActivating:
                if nextIntruder < selection.nonActivating.count {
                    let candidate = selection.nonActivating[nextIntruder]
                    nextIntruder += 1
                    let donor = highlighted[Int(generator.next() % UInt64(highlighted.count))]
                    let clipped = donor.filter { $0 < candidate.record.tokens.count }
                    found = (candidate, clipped.isEmpty ? [0] : clipped)
                }
            case .otherBucket:
                let others = selection.activating.filter { $0.source != group && !chosen.contains($0) }
                if !others.isEmpty {
                    let candidate = others[Int(generator.next() % UInt64(others.count))]
                    found = (candidate, active(candidate))
                }
            }
            guard let (intruder, marked) = found else { break }
            var examples = chosen + [intruder]
            highlighted.append(marked)
            var order = Array(examples.indices)
            generator.shuffle(&order)
            examples = order.map { examples[$0] }
            trials.append(
                Trial(
                    examples: examples, highlighted: order.map { highlighted[$0] },
                    intruder: order.firstIndex(of: k - 1)!))
        }
        let needed = min(settings.minimum, settings.intruderTrials)
        guard trials.count >= needed else {
            return .undefined(
                settings.intruderSource == .nonActivating
                    ? "only \(trials.count) non-activating examples for intruders (need \(needed))"
                    : "no activating example of another group")
        }
        return .scored(trials)
    }
}
