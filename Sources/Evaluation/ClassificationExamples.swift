import ActivationStore
import Support

/// How detection and fuzzing choose and show their examples (defaults as documented in README and
/// Schemas/scores.md).
public struct ExampleSettings: Sendable, Equatable {
    /// Activating examples per unit, spread over the held-out top records and the quantile buckets.
    public var activating = 20
    /// Non-activating examples per unit: random records, then bottom records.
    public var nonActivating = 20
    /// A token is active when its activation is at least this fraction of the unit's maximum (for units that are
    /// exactly 0 when silent: when it is above 0).
    public var thresholdFraction = 0.2
    /// Below this many examples of either kind a unit's result is undefined (not a failure, not a zero).
    public var minimum = 5
    /// Examples per judge call.
    public var perCall = 5
    /// What fuzzing's negatives are.
    public var fuzzingNegatives = FuzzingNegatives.nonActivating
    /// Intruder: examples per trial (k − 1 activating from one group, one intruder); chance is 1/k.
    public var intruderExamples = 5
    /// Intruder: trials per unit.
    public var intruderTrials = 8
    /// Intruder: where the intruder comes from.
    public var intruderSource = IntruderSource.nonActivating

    public enum IntruderSource: String, Sendable, CaseIterable {
        /// A non-activating example (random, then bottom records).
        case nonActivating = "non-activating"
        /// An activating example of another group (another quantile bucket, or the top records).
        case otherBucket = "other-bucket"
    }

    public enum FuzzingNegatives: String, Sendable, CaseIterable {
        /// Non-activating examples highlighted at the positions of a randomly chosen activating example.
        case nonActivating = "non-activating"
        /// Further activating examples with their highlights shifted by one token.
        case shifted
    }

    public init() {}
}

/// One example: a held-out record, whether it is activating, and where it came from.
public struct ClassificationExample: Sendable, Equatable {
    public var record: ActivationRecord
    public var activating: Bool
    /// "top", "quantile:B", "random" or "bottom": the records it was drawn from.
    public var source: String
}

/// The examples a classification scorer shows for one unit.
///
/// A record's role is decided by its maximum, not by its kind: *activating* if some token is active (see
/// `ExampleSettings.thresholdFraction`), *non-activating* otherwise. A unit is "exactly 0 when silent" (an SAE
/// latent, a ReLU) when no recorded activation is negative and some is exactly 0; then active means above 0. GELU
/// neurons are negative when silent, so the fraction applies. Activating examples are dealt round-robin over the
/// groups "top records of the valid and test splits" and "each quantile bucket" (seeded order within a group),
/// so weak activations are tested too; non-activating examples are the random records (seeded order), then the
/// bottom records. No excerpt the explainer was shown is ever used, and no excerpt is used twice.
public struct ExampleSelection: Sendable {
    public var activating: [ClassificationExample]
    public var nonActivating: [ClassificationExample]
    /// The activation at or above which a token is active (with `zeroWhenSilent`: above which).
    public var threshold: Float
    public var zeroWhenSilent: Bool

    /// Whether a token with activation `value` is active.
    public func isActive(_ value: Float) -> Bool { zeroWhenSilent ? value > 0 : value >= threshold }

    /// The examples for `record`, never one of `shown` (the excerpts the explainer saw); `extraActivating` more
    /// activating examples are drawn beyond `settings.activating` (fuzzing's shifted negatives).
    public init(
        _ record: NeuronRecord, shown: Set<Int>, settings: ExampleSettings, seed: UInt64, extraActivating: Int = 0
    ) {
        let all = record.mostPositive + record.random + record.randomByQuantile.flatMap { $0 } + record.mostNegative
        let peak = all.map(\.maxActivation).max() ?? 0
        zeroWhenSilent =
            all.allSatisfy { $0.activations.allSatisfy { $0 >= 0 } }
            && all.contains { $0.activations.contains(0) }
        threshold = zeroWhenSilent ? 0 : Float(settings.thresholdFraction) * peak
        var generator = SplitMix64(
            seed: seed ^ (UInt64(record.id.layer) << 40) ^ UInt64(record.id.neuron) ^ 0xE8A3_17C5_0000_0000)
        let selection = (threshold: threshold, zero: zeroWhenSilent)
        func activating(_ r: ActivationRecord) -> Bool {
            peak > 0 && r.activations.contains { selection.zero ? $0 > 0 : $0 >= selection.threshold }
        }
        var used = shown
        func shuffled(
            _ records: [ActivationRecord], _ source: String, activating wanted: Bool
        )
            -> [ClassificationExample]
        {
            var candidates = records.filter { !used.contains($0.excerptID) && activating($0) == wanted }
            var seen = Set<Int>()
            candidates = candidates.filter { seen.insert($0.excerptID).inserted }
            generator.shuffle(&candidates)
            return candidates.map { ClassificationExample(record: $0, activating: wanted, source: source) }
        }
        // Activating: round-robin over the groups.
        let heldOutTop = record.mostPositive.enumerated().filter { $0.offset % 4 >= 2 }.map(\.element)
        var groups = [shuffled(heldOutTop, "top", activating: true)]
        for (bucket, records) in record.randomByQuantile.enumerated() {
            groups.append(shuffled(records, "quantile:\(bucket)", activating: true))
        }
        var chosen: [ClassificationExample] = []
        let wanted = settings.activating + extraActivating
        var cursor = Array(repeating: 0, count: groups.count)
        while chosen.count < wanted, groups.indices.contains(where: { cursor[$0] < groups[$0].count }) {
            for g in groups.indices where chosen.count < wanted && cursor[g] < groups[g].count {
                let example = groups[g][cursor[g]]
                cursor[g] += 1
                if used.insert(example.record.excerptID).inserted { chosen.append(example) }
            }
        }
        self.activating = chosen
        // Non-activating: random records first, then bottom records.
        var negatives: [ClassificationExample] = []
        for (records, source) in [(record.random, "random"), (record.mostNegative, "bottom")] {
            for example in shuffled(records, source, activating: false) where negatives.count < settings.nonActivating {
                if used.insert(example.record.excerptID).inserted { negatives.append(example) }
            }
        }
        nonActivating = negatives
    }
}
