import ActivationStore

/// The rows of one excerpt inside a forward pass's activations ([rows, neurons]).
struct ExcerptSpan: Equatable, Sendable {
    var excerpt: Int
    var firstRow: Int
    var length: Int
}

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
            if let previous, previous.documentID == excerpt.documentID,
               excerpter.contextStart(ofExcerptAt: previous.startToken) == excerpter.contextStart(ofExcerptAt: excerpt.startToken) {
                // Same document block: the same context.
            } else {
                firsts.append(id)
            }
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
