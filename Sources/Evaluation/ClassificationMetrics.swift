/// The metrics of a classification scorer (detection, fuzzing) over one unit's examples: how well the judge's
/// yes/no answers separate activating from non-activating examples.
///
/// Definitions are scikit-learn's (`accuracy_score`, `balanced_accuracy_score`, `precision_score`, `recall_score`,
/// `f1_score` with `zero_division=np.nan`, `roc_auc_score`), positive class = activating. Where a metric is not
/// defined it is `.undefined` with the reason, never 0: one class among the labels (balanced accuracy, recall or
/// specificity, AUROC), no positive prediction (precision), no confidences from the judge (AUROC).
public struct ClassificationMetrics: Equatable, Sendable {
    public var accuracy: Score
    public var balancedAccuracy: Score
    public var precision: Score
    public var recall: Score
    public var f1: Score
    public var auroc: Score
    /// Examples of each kind the metrics were computed on.
    public var positives: Int
    public var negatives: Int

    /// The metrics of `predictions` against `labels` (true = activating). `confidences`, when the judge gave one
    /// per example, are its graded answers for AUROC.
    public init(labels: [Bool], predictions: [Bool], confidences: [Double]? = nil) {
        precondition(labels.count == predictions.count, "one prediction per label")
        let pairs = zip(labels, predictions)
        let truePositives = pairs.filter { $0 && $1 }.count
        let falsePositives = pairs.filter { !$0 && $1 }.count
        let falseNegatives = pairs.filter { $0 && !$1 }.count
        let trueNegatives = pairs.filter { !$0 && !$1 }.count
        positives = truePositives + falseNegatives
        negatives = trueNegatives + falsePositives
        let n = labels.count
        accuracy = n == 0 ? .undefined("no examples") : .value(Double(truePositives + trueNegatives) / Double(n))
        recall =
            positives == 0
            ? .undefined("no activating examples") : .value(Double(truePositives) / Double(positives))
        precision =
            truePositives + falsePositives == 0
            ? .undefined("the judge said no to every example")
            : .value(Double(truePositives) / Double(truePositives + falsePositives))
        // 2TP / (2TP + FP + FN): 0 when there are positives and none was found, undefined only with nothing to find
        // and nothing claimed (scikit-learn's zero_division case).
        let f1Denominator = 2 * truePositives + falsePositives + falseNegatives
        f1 =
            f1Denominator == 0
            ? .undefined("no activating examples and no positive prediction")
            : .value(Double(2 * truePositives) / Double(f1Denominator))
        if positives == 0 || negatives == 0 {
            let reason = positives == 0 ? "no activating examples" : "no non-activating examples"
            balancedAccuracy = .undefined(reason)
            auroc = .undefined(reason)
            return
        }
        balancedAccuracy = .value(
            (Double(truePositives) / Double(positives) + Double(trueNegatives) / Double(negatives)) / 2)
        if let confidences, confidences.count == labels.count, confidences.allSatisfy(\.isFinite) {
            auroc = .value(Self.areaUnderROC(labels: labels, scores: confidences))
        } else {
            auroc = .undefined("the judge gave no confidences")
        }
    }

    /// The probability that a random positive scores above a random negative, ties counting one half (the
    /// Mann–Whitney U statistic over positives × negatives, which is the area under the ROC curve).
    static func areaUnderROC(labels: [Bool], scores: [Double]) -> Double {
        // Rank all scores (ties get their average rank), then U = (sum of positive ranks) − P(P + 1)/2.
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let averageRank = Double(start + end) / 2 + 1
            for k in start...end { ranks[order[k]] = averageRank }
            start = end + 1
        }
        let positives = Double(labels.filter { $0 }.count), negatives = Double(labels.count) - positives
        let positiveRankSum = zip(labels, ranks).filter(\.0).map(\.1).reduce(0, +)
        return (positiveRankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }

    /// Every metric undefined for one reason (too few examples to score the unit at all).
    public static func undefined(_ reason: String, positives: Int, negatives: Int) -> ClassificationMetrics {
        var metrics = ClassificationMetrics(labels: [], predictions: [])
        for path in [
            \ClassificationMetrics.accuracy, \.balancedAccuracy, \.precision, \.recall, \.f1, \.auroc,
        ] {
            metrics[keyPath: path] = .undefined(reason)
        }
        (metrics.positives, metrics.negatives) = (positives, negatives)
        return metrics
    }

    public static let metricNames = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "auroc"]

    /// The metrics by column name, in column order.
    public var named: [(name: String, score: Score)] {
        [
            ("accuracy", accuracy), ("balanced_accuracy", balancedAccuracy), ("precision", precision),
            ("recall", recall), ("f1", f1), ("auroc", auroc),
        ]
    }

    /// The reasons of the undefined metrics, "name: reason; …", or the one reason alone when it leaves every metric
    /// undefined (a unit with too few examples).
    public var notes: String {
        let reasons = named.map(\.score.reason)
        if let first = reasons.first ?? nil, reasons.allSatisfy({ $0 == first }) { return first }
        return named.compactMap { metric in metric.score.reason.map { "\(metric.name): \($0)" } }.joined(
            separator: "; ")
    }
}
