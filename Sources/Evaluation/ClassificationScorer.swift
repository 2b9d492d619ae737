import Support

/// Detection and fuzzing (Paulo et al. 2024; EleutherAI delphi): a judge answers yes or no about held-out
/// examples of the unit, and the answers are scored as a classifier of activating vs non-activating
/// (`ClassificationMetrics`).
///
/// - detection: plain excerpts; positives are the activating examples, negatives the non-activating ones.
/// - fuzzing: excerpts with highlighted tokens; positives are activating examples highlighted on their truly
///   active tokens; negatives are non-activating examples highlighted at the positions of a randomly chosen
///   activating example, or (`FuzzingNegatives.shifted`) further activating examples with their highlights
///   shifted one token right (left where that would leave nothing highlighted).
///
/// Examples (`ExampleSelection`) are shuffled together and shown `perCall` at a time, in a seeded order. A unit
/// with too few examples of either kind is undefined, with the reason; a failed or short judge call fails the
/// unit (recorded, never read as answers).
public struct ClassificationScorer: Scorer {
    public let task: JudgeTask
    public let judge: any Judge
    public let settings: ExampleSettings
    public let seed: UInt64

    public var name: String { "\(task.rawValue):\(judge.name)" }

    public init(task: JudgeTask, judge: any Judge, settings: ExampleSettings, seed: UInt64) {
        self.task = task
        self.judge = judge
        self.settings = settings
        self.seed = seed
    }

    /// One example as planned: shown to the judge with these highlights, with this true label.
    struct Item {
        var example: ClassificationExample
        var highlighted: [Int]
        var label: Bool
    }

    /// One unit's examples in the order shown, or why it cannot be scored.
    enum Plan {
        case scored(items: [Item], threshold: Float)
        case undefined(String)
    }

    public func score(_ requests: [ScoreRequest]) async -> [Result<UnitScore, EvaluationError>] {
        var plans: [Plan] = []
        var calls: [JudgeRequest] = []
        var firstCall: [Int] = []
        for request in requests {
            let plan = plan(for: request)
            plans.append(plan)
            firstCall.append(calls.count)
            calls += self.calls(request, plan)
        }
        let answers = calls.isEmpty ? [] : await judge.judge(calls)
        guard answers.count == calls.count else {
            let failure = EvaluationError.judgeFailed(
                "\(judge.name) returned \(answers.count) results for \(calls.count) calls")
            return requests.map { _ in .failure(failure) }
        }
        return plans.indices.map { unit -> Result<UnitScore, EvaluationError> in
            let items: [Item], threshold: Float
            switch plans[unit] {
            case let .undefined(reason):
                let metrics = ClassificationMetrics.undefined(reason, positives: 0, negatives: 0)
                return .success(
                    .classification(ClassificationScore(task: task, metrics: metrics, threshold: nil, judgements: [])))
            case let .scored(planned, at): (items, threshold) = (planned, at)
            }
            var judgements: [Judgement] = []
            for (offset, item) in items.enumerated() {
                let call = offset / max(1, settings.perCall), position = offset % max(1, settings.perCall)
                switch answers[firstCall[unit] + call] {
                case let .failure(error): return .failure(error)
                case let .success(batch):
                    let expected = min(max(1, settings.perCall), items.count - call * max(1, settings.perCall))
                    guard batch.count == expected else {
                        return .failure(
                            .judgeFailed("\(judge.name) gave \(batch.count) answers for \(expected) examples"))
                    }
                    judgements.append(
                        Judgement(
                            excerptID: item.example.record.excerptID, source: item.example.source, label: item.label,
                            highlighted: item.highlighted, call: call, position: position, answer: batch[position]))
                }
            }
            let confidences = judgements.map(\.answer.confidence)
            let metrics = ClassificationMetrics(
                labels: judgements.map(\.label), predictions: judgements.map(\.answer.yes),
                confidences: confidences.allSatisfy { $0 != nil } ? confidences.map { $0! } : nil)
            return .success(
                .classification(
                    ClassificationScore(task: task, metrics: metrics, threshold: threshold, judgements: judgements)))
        }
    }

    /// The judge calls for one unit, in order (none when it is undefined): what `score` sends and `--dry-run`
    /// counts.
    public func calls(for request: ScoreRequest) -> [JudgeRequest] { calls(request, plan(for: request)) }

    func calls(_ request: ScoreRequest, _ plan: Plan) -> [JudgeRequest] {
        guard case let .scored(items, _) = plan else { return [] }
        let size = max(1, settings.perCall)
        return stride(from: 0, to: items.count, by: size).map { start in
            JudgeRequest(
                task: task, explanation: request.explanation,
                examples: items[start..<min(start + size, items.count)].map {
                    JudgeExample(tokens: $0.example.record.tokens, highlighted: $0.highlighted)
                }, neuron: request.neuron)
        }
    }

    /// The examples of one unit with their highlights and labels, in the order shown; or why there are too few.
    func plan(for request: ScoreRequest) -> Plan {
        let shifted = task == .fuzzing && settings.fuzzingNegatives == .shifted
        let selection = ExampleSelection(
            request.record, shown: request.shown, settings: settings, seed: seed,
            extraActivating: shifted ? settings.nonActivating : 0)
        var generator = SplitMix64(
            seed: seed ^ (UInt64(request.neuron.layer) << 40) ^ UInt64(request.neuron.neuron)
                ^ (task == .detection ? 0x0D37_EC70 : 0xF022_1A60))
        let positives = Array(selection.activating.prefix(settings.activating))
        let negatives = shifted ? Array(selection.activating.dropFirst(settings.activating)) : selection.nonActivating
        if positives.count < settings.minimum {
            let silent =
                selection.threshold <= 0 && !selection.zeroWhenSilent ? " (the unit never activates above 0)" : ""
            return .undefined(
                "only \(positives.count) activating example\(positives.count == 1 ? "" : "s") (need \(settings.minimum))\(silent)"
            )
        }
        if negatives.count < settings.minimum {
            return .undefined(
                shifted
                    ? "only \(negatives.count) activating example\(negatives.count == 1 ? "" : "s") left for shifted negatives (need \(settings.minimum))"
                    : "only \(negatives.count) non-activating example\(negatives.count == 1 ? "" : "s") (need \(settings.minimum)): the unit is active on most excerpts at this threshold"
            )
        }
        func active(_ example: ClassificationExample) -> [Int] {
            example.record.activations.indices.filter { selection.isActive(example.record.activations[$0]) }
        }
        var items: [Item]
        switch task {
        case .detection:
            items =
                positives.map { Item(example: $0, highlighted: [], label: true) }
                + negatives.map { Item(example: $0, highlighted: [], label: false) }
        case .fuzzing:
            items = positives.map { Item(example: $0, highlighted: active($0), label: true) }
            for negative in negatives {
                let length = negative.record.tokens.count
                var marked: [Int]
                if shifted {
                    let truth = active(negative)
                    marked = truth.map { $0 + 1 }.filter { $0 < length }
                    if marked.isEmpty { marked = truth.map { $0 - 1 }.filter { $0 >= 0 } }
                } else {
                    let donor = positives[Int(generator.next() % UInt64(positives.count))]
                    marked = active(donor).filter { $0 < length }
                }
                if marked.isEmpty { marked = [0] }
                items.append(Item(example: negative, highlighted: marked, label: false))
            }
        }
        generator.shuffle(&items)
        return .scored(items: items, threshold: selection.zeroWhenSilent ? 0 : selection.threshold)
    }
}
