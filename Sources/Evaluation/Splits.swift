/// OpenAI's deterministic, disjoint record splits.
///
/// Top records are dealt round-robin by rank into train (ranks 0, 4, 8, …), calibration (1, 5, …), valid (2, 6, …)
/// and test (3, 7, …); random records into calibration (0, 3, …), valid (1, 4, …) and test (2, 5, …). The explainer
/// sees the first `explainRecords` train records; scoring uses the first `scoreTop` valid top and `scoreRandom`
/// valid random records; calibration fits on as many calibration-split records (so that an LLM simulator's cost
/// is twice the scoring's, not four times). The random sample is drawn independently of
/// the top records, so one excerpt can be in both: any excerpt shown to the explainer is removed from the
/// calibration and scoring sets (delphi leaked explainer examples into scoring; this cannot), a scored excerpt
/// is scored once, and calibration never fits on a scored excerpt.
public struct RecordSplits: Sendable {
    public var explain: [ActivationRecord]
    public var calibration: [ActivationRecord]
    public var scoreTop: [ActivationRecord]
    public var scoreRandom: [ActivationRecord]

    public struct Sizes: Sendable, Equatable {
        public var explainRecords: Int
        public var scoreTop: Int
        public var scoreRandom: Int

        public init(explainRecords: Int = 5, scoreTop: Int = 5, scoreRandom: Int = 5) {
            self.explainRecords = explainRecords
            self.scoreTop = scoreTop
            self.scoreRandom = scoreRandom
        }
    }

    public init(_ record: NeuronRecord, sizes: Sizes = Sizes()) {
        func deal(_ records: [ActivationRecord], into count: Int, _ split: Int) -> [ActivationRecord] {
            records.enumerated().filter { $0.offset % count == split }.map(\.element)
        }
        explain = Array(deal(record.mostPositive, into: 4, 0).prefix(sizes.explainRecords))
        let shown = Set(explain.map(\.excerptID))
        let unseen = { (r: ActivationRecord) in !shown.contains(r.excerptID) }
        scoreTop = Array(deal(record.mostPositive, into: 4, 2).filter(unseen).prefix(sizes.scoreTop))
        let scoredTop = Set(scoreTop.map(\.excerptID))
        scoreRandom = Array(
            deal(record.random, into: 3, 1).filter { unseen($0) && !scoredTop.contains($0.excerptID) }.prefix(
                sizes.scoreRandom))
        let scored = scoredTop.union(scoreRandom.map(\.excerptID))
        let usable = { (r: ActivationRecord) in unseen(r) && !scored.contains(r.excerptID) }
        let calibrationTop = Array(deal(record.mostPositive, into: 4, 1).filter(usable).prefix(sizes.scoreTop))
        let calibrationTopIDs = Set(calibrationTop.map(\.excerptID))
        calibration =
            calibrationTop
            + deal(record.random, into: 3, 0).filter { usable($0) && !calibrationTopIDs.contains($0.excerptID) }.prefix(
                sizes.scoreRandom)
    }
}
