/// A deterministic, local judge that reads an explanation the way the keyword simulator does
/// (`KeywordSimulator`: quoted tokens, else content words, plus named categories) and answers from its predictions:
///
/// - detection: the unit fires on an excerpt if the simulator predicts activation on any of its tokens; the
///   confidence is the largest predicted value on the 0–1 scale (the simulator predicts 0 or 10, so it is 0 or 1).
/// - fuzzing: the highlighted tokens match if the simulator predicts activation on at least half of them; the
///   confidence is the fraction of highlighted tokens predicted active.
/// - intruder (no explanation): the example whose highlighted tokens (case and surrounding space ignored) share
///   the fewest with the other examples' is the intruder; a tie goes to the first of the tied examples, which,
///   as positions are shuffled, is a guess at chance.
public struct KeywordJudge: Judge {
    public var name: String { "keyword" }

    public init() {}

    public func judge(_ requests: [JudgeRequest]) async -> [Result<[JudgeAnswer], EvaluationError>] {
        var cache: [String: KeywordSimulator.Terms] = [:]
        var forms = KeywordSimulator.TokenForms.Cache()
        return requests.map { request in
            let terms = cache[request.explanation] ?? KeywordSimulator.terms(of: request.explanation)
            cache[request.explanation] = terms
            return .success(
                request.examples.map { example in
                    let predicted = KeywordSimulator.predict(terms, example.tokens, forms: &forms).map { $0 > 0 }
                    switch request.task {
                    case .detection:
                        let fires = predicted.contains(true)
                        return JudgeAnswer(yes: fires, confidence: fires ? 1 : 0)
                    case .fuzzing:
                        let marked = example.highlighted.filter { predicted.indices.contains($0) }
                        let fraction =
                            marked.isEmpty ? 0 : Double(marked.filter { predicted[$0] }.count) / Double(marked.count)
                        return JudgeAnswer(yes: fraction >= 0.5, confidence: fraction)
                    }
                })
        }
    }

    public func pickIntruder(_ requests: [IntruderRequest]) async -> [Result<Int, EvaluationError>] {
        requests.map { request in
            let marked = request.examples.map { example in
                Set(
                    example.highlighted.filter(example.tokens.indices.contains).map {
                        TokenText.normalize(example.tokens[$0])
                    })
            }
            let shared = marked.indices.map { i in
                marked.indices.filter { $0 != i }.reduce(0) { $0 + marked[i].intersection(marked[$1]).count }
            }
            guard let fewest = shared.min() else { return .failure(.judgeFailed("no examples")) }
            return .success(shared.firstIndex(of: fewest)!)
        }
    }
}
