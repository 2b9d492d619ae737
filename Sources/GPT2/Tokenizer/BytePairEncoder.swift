/// Applies GPT-2's merges to one pre-tokenized piece.
///
/// Repeatedly merges the adjacent pair with the lowest merge rank, the leftmost one on ties, which is what both
/// OpenAI's `encoder.py` and tiktoken do. Symbols live in a linked list and candidate pairs in a min-heap ordered
/// by (rank, position), so a piece of n bytes costs O(n log n) and a pathological 1 MB "word" stays fast.
struct BytePairEncoder: Sendable {
    /// The merge of pair (left, right), keyed by `left << 32 | right`.
    struct Merge: Sendable {
        var rank: Int32
        var result: Int32
    }

    let merges: [UInt64: Merge]
    /// The token id of every single byte.
    let byteTokens: [Int32]

    static func key(_ left: Int32, _ right: Int32) -> UInt64 { UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)) }

    func encode(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int]) {
        let n = piece.count
        if n == 1 { output.append(Int(byteTokens[Int(piece[0])])); return }

        var symbol = piece.map { byteTokens[Int($0)] }
        var next = Array(1...n)  // n means "no next symbol"
        var previous = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)

        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let merge = merges[Self.key(symbol[i], symbol[i + 1])] {
                heap.push(.init(rank: merge.rank, position: Int32(i)))
            }
        }
        while let candidate = heap.pop() {
            let i = Int(candidate.position)
            guard alive[i] else { continue }
            let j = next[i]
            guard j < n, let merge = merges[Self.key(symbol[i], symbol[j])], merge.rank == candidate.rank else {
                continue  // stale: one side was merged away since this pair was queued
            }
            symbol[i] = merge.result
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { previous[next[j]] = i }
            if previous[i] >= 0, let left = merges[Self.key(symbol[previous[i]], symbol[i])] {
                heap.push(.init(rank: left.rank, position: Int32(previous[i])))
            }
            if next[i] < n, let right = merges[Self.key(symbol[i], symbol[next[i]])] {
                heap.push(.init(rank: right.rank, position: Int32(i)))
            }
        }
        var i = 0
        while i < n {
            output.append(Int(symbol[i]))
            i = next[i]
        }
    }
}

/// A binary min-heap of merge candidates ordered by rank, then by position (leftmost first).
private struct MinHeap {
    struct Entry {
        var rank: Int32
        var position: Int32
        static func < (a: Entry, b: Entry) -> Bool { (a.rank, a.position) < (b.rank, b.position) }
    }

    private var items: [Entry] = []

    mutating func push(_ entry: Entry) {
        items.append(entry)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count && items[left] < items[smallest] { smallest = left }
                if right < items.count && items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
