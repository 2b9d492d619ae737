import ActivationStore
import Sampling

/// Which excerpts the model reads together (`Excerpter`'s context rule): contexts in corpus order, each a run
/// of consecutive excerpt ids of one document block. Contexts are also the unit of sharding (context k belongs to
/// shard k % shardCount) and of the pilot's choice, so that an excerpt's activations never depend on either.
struct ContextLayout {
    /// firstExcerpt[k] is context k's first excerpt id; the last element is the number of excerpts.
    let firstExcerpt: [Int]
    /// Tokens of each excerpt, by excerpt id.
    let excerptTokens: [Int]

    init(_ excerpts: [ActivationDatabase.ExcerptPlacement], excerpter: Excerpter) {
        var firsts: [Int] = []
        var previous: ActivationDatabase.ExcerptPlacement?
        for (id, excerpt) in excerpts.enumerated() {
            let sameBlock =
                previous.map {
                    $0.documentID == excerpt.documentID
                        && excerpter.contextStart(ofExcerptAt: $0.startToken)
                            == excerpter.contextStart(ofExcerptAt: excerpt.startToken)
                } ?? false
            if !sameBlock { firsts.append(id) }
            previous = excerpt
        }
        firsts.append(excerpts.count)
        firstExcerpt = firsts
        excerptTokens = excerpts.map(\.tokenCount)
    }

    var count: Int { firstExcerpt.count - 1 }

    func excerpts(ofContext k: Int) -> Range<Int> { firstExcerpt[k]..<firstExcerpt[k + 1] }

    func tokens(ofContext k: Int) -> Int { excerpts(ofContext: k).reduce(0) { $0 + excerptTokens[$1] } }

    /// The context whose first excerpt is `excerpt` (`count` for the end); nil if `excerpt` starts none.
    func context(startingAt excerpt: Int) -> Int? {
        var low = 0, high = firstExcerpt.count - 1
        while low < high {
            let middle = (low + high) / 2
            if firstExcerpt[middle] < excerpt { low = middle + 1 } else { high = middle }
        }
        return firstExcerpt[low] == excerpt ? low : nil
    }
}

/// Cuts consecutive sequences into forward-pass batches of at most `maxCount`, each padded to its longest: a
/// sequence joins the batch only while padding stays at most 1/8 of the batch, so a document's short last
/// context does not make a batch of full contexts run at its length's cost. (Results never depend on batching.)
func paddedBatches(lengths: [Int], maxCount: Int) -> [Range<Int>] {
    var batches: [Range<Int>] = []
    var start = 0, longest = 0, total = 0
    for (index, length) in lengths.enumerated() {
        let count = index - start
        let padded = (count + 1) * max(longest, length)
        if count > 0 && (count == maxCount || 8 * (total + length) < 7 * padded) {
            batches.append(start..<index)
            start = index; longest = 0; total = 0
        }
        longest = max(longest, length)
        total += length
    }
    if start < lengths.count { batches.append(start..<lengths.count) }
    return batches
}
