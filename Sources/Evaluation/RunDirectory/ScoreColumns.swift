/// The columns of scores.csv, in order (meanings: Schemas/scores.md). The writer writes them, the reader finds
/// them by these names. A column that does not apply to a row's scorer (correlation for detection, F1 for
/// simulation) is empty.
public enum ScoreColumn: String, CaseIterable, Sendable {
    case layer, neuron, explainer, scorer, simulator, calibration, status, explanation, correlation
    case topCorrelation = "top_correlation", randomCorrelation = "random_correlation", rSquared = "r_squared"
    case absoluteDeviationExplained = "absolute_dev_explained"
    case accuracy, balancedAccuracy = "balanced_accuracy", precision, recall, f1, auroc
    case scoreNotes = "score_notes"
    case explainRecords = "explain_records", scoreTopRecords = "score_top_records", scoreRandomRecords =
        "score_random_records"
    case scoredTokens = "scored_tokens", activatingExamples = "activating_examples"
    case nonActivatingExamples = "non_activating_examples", trials, error
}

/// The columns of summary.csv, in order: one row per explainer × scorer × metric × layer ("all" first).
public enum SummaryColumn: String, CaseIterable, Sendable {
    case explainer, scorer, simulator, calibration, metric, layer, neurons, scored, undefined, failed, missing, dead,
        mean
    case median, std
    case ci95Low = "ci95_low", ci95High = "ci95_high", fractionAtLeastHalf = "fraction_ge_0.5", fractionAtLeast08 =
        "fraction_ge_0.8"
}

/// The files of a run directory.
public enum RunFile: String, CaseIterable, Sendable {
    case scores = "scores.csv", summary = "summary.csv", explanations = "explanations.jsonl"
    case simulations = "simulations.jsonl.gz", judgements = "judgements.jsonl.gz", manifest = "run.json"
    case llmUsage = "llm-usage.csv"
}
