import Support

/// For each of many neurons, the `capacity` candidates with the smallest (key, excerpt id), kept while streaming.
///
/// One structure serves every sampler by its choice of key: the top records use −max, the bottom records the
/// min, the random and quantile samples a seeded hash. Ties in the key go to the smaller excerpt id, so the
/// result is a function of the set of excerpts seen, never of their order. Each neuron's candidates form a
/// max-heap (its root is the one to evict), and the root key is mirrored in `worstKey` so that the common case,
/// "not good enough", is one comparison. The per-token activations of a candidate are stored as float16 (the
/// precision of the database) in a slot that stays put while heap entries move.
struct BestKSelection {
    /// A candidate admitted by `insertEntry` whose activations `fill` still has to copy: its column in the
    /// excerpt's rows, and where its values go in `activations`.
    typealias PendingCopy = (column: Int, destination: Int)

    let neuronCount: Int
    let capacity: Int
    /// Room per candidate for activations (the longest excerpt).
    let maxTokens: Int

    private(set) var count: [Int32]
    private(set) var worstKey: [Double]
    private(set) var worstID: [Int32]
    // Heap entries, [neuron][capacity]
    private(set) var keys: [Double]
    private(set) var excerptIDs: [Int32]
    private(set) var maxima: [Float]
    private(set) var minima: [Float]
    private(set) var lengths: [Int32]
    private(set) var slots: [Int32]
    // Activations, [neuron][slot][maxTokens], float16 bit patterns
    private(set) var activations: [UInt16]

    init(neuronCount: Int, capacity: Int, maxTokens: Int) {
        self.neuronCount = neuronCount
        self.capacity = capacity
        self.maxTokens = maxTokens
        let total = neuronCount * capacity
        count = [Int32](repeating: 0, count: neuronCount)
        worstKey = [Double](repeating: .infinity, count: neuronCount)
        worstID = [Int32](repeating: .max, count: neuronCount)
        keys = [Double](repeating: 0, count: total)
        excerptIDs = [Int32](repeating: 0, count: total)
        maxima = [Float](repeating: 0, count: total)
        minima = [Float](repeating: 0, count: total)
        lengths = [Int32](repeating: 0, count: total)
        slots = (0..<total).map { Int32($0 % max(capacity, 1)) }
        activations = [UInt16](repeating: 0, count: total * maxTokens)
    }

    /// Whether (key, excerpt) would enter neuron `n`'s selection.
    @inline(__always)
    func admits(_ n: Int, key: Double, excerpt: Int32) -> Bool {
        capacity > 0 && (key < worstKey[n] || (key == worstKey[n] && excerpt < worstID[n]))
    }

    @inline(__always)
    private func worse(_ a: Int, _ b: Int) -> Bool {
        keys[a] > keys[b] || (keys[a] == keys[b] && excerptIDs[a] > excerptIDs[b])
    }

    private mutating func swapEntries(_ a: Int, _ b: Int) {
        keys.swapAt(a, b); excerptIDs.swapAt(a, b); maxima.swapAt(a, b); minima.swapAt(a, b)
        lengths.swapAt(a, b); slots.swapAt(a, b)
    }

    /// Adds a candidate that `admits` accepted. `activation(t)` gives its value at token t < length.
    mutating func insert(
        _ n: Int, key: Double, excerpt: Int32, maximum: Float, minimum: Float, length: Int,
        activation: (Int) -> Float
    ) {
        let slot = insertEntry(n, key: key, excerpt: excerpt, maximum: maximum, minimum: minimum, length: length)
        for t in 0..<length { activations[slot + t] = Float16(activation(t)).bitPattern }
    }

    /// Copies the activations of the candidates just inserted with `insertEntry`: `pending` holds (neuron column in
    /// `rows`, destination from `insertEntry`), `rows` is the excerpt's values as float16 bits, one row of
    /// `rowLength` per token.
    mutating func fill(_ pending: [PendingCopy], rows: UnsafePointer<UInt16>, rowLength: Int, length: Int) {
        guard !pending.isEmpty else { return }
        activations.withUnsafeMutableBufferPointer { out in
            for (column, destination) in pending {
                for t in 0..<length { out[destination + t] = rows[t * rowLength + column] }
            }
        }
    }

    /// Adds a candidate's heap entry (not its activations) and returns where its `length` float16 activations go
    /// in `activations`.
    mutating func insertEntry(_ n: Int, key: Double, excerpt: Int32, maximum: Float, minimum: Float, length: Int) -> Int
    {
        let base = n * capacity
        let appended = Int(count[n]) < capacity
        var position = appended ? Int(count[n]) : 0  // when full, the root (the worst candidate) is replaced
        if appended { count[n] += 1 }
        let entry = base + position
        keys[entry] = key; excerptIDs[entry] = excerpt; maxima[entry] = maximum; minima[entry] = minimum
        lengths[entry] = Int32(length)
        let slot = (base + Int(slots[entry])) * maxTokens

        if appended {
            // Sift up a new entry.
            while position > 0 {
                let parent = (position - 1) / 2
                guard worse(base + position, base + parent) else { break }
                swapEntries(base + position, base + parent)
                position = parent
            }
        } else {
            // Sift down the replaced root.
            let size = Int(count[n])
            while true {
                let left = 2 * position + 1, right = left + 1
                var largest = position
                if left < size && worse(base + left, base + largest) { largest = left }
                if right < size && worse(base + right, base + largest) { largest = right }
                if largest == position { break }
                swapEntries(base + position, base + largest)
                position = largest
            }
        }
        if Int(count[n]) == capacity {
            worstKey[n] = keys[base]
            worstID[n] = excerptIDs[base]
        }
        return slot
    }

    /// Neuron `n`'s candidates from best to worst, with where their float16 activations are in `activations`.
    func sortedEntries(
        _ n: Int
    ) -> [(key: Double, excerpt: Int, maximum: Float, minimum: Float, start: Int, length: Int)] {
        let base = n * capacity
        return (0..<Int(count[n])).map { i in
            let entry = base + i
            return (
                keys[entry], Int(excerptIDs[entry]), maxima[entry], minima[entry],
                (base + Int(slots[entry])) * maxTokens,
                Int(lengths[entry])
            )
        }.sorted { ($0.key, $0.excerpt) < ($1.key, $1.excerpt) }
    }

    /// Neuron `n`'s candidates from best to worst: (key, excerpt, max, min, activations).
    func sorted(_ n: Int) -> [(key: Double, excerpt: Int, maximum: Float, minimum: Float, activations: [Float])] {
        sortedEntries(n).map { c in
            (
                c.key, c.excerpt, c.maximum, c.minimum,
                activations[c.start..<(c.start + c.length)].map { Float(Float16(bitPattern: $0)) }
            )
        }
    }

    // MARK: Checkpoints

    func serialize(into writer: inout BinaryWriter) {
        writer.write(count); writer.write(worstKey); writer.write(worstID); writer.write(keys); writer.write(excerptIDs)
        writer.write(maxima); writer.write(minima); writer.write(lengths); writer.write(slots);
        writer.write(activations)
    }

    mutating func restore(from reader: inout BinaryReader) throws {
        count = try reader.read(count.count); worstKey = try reader.read(worstKey.count);
        worstID = try reader.read(worstID.count)
        keys = try reader.read(keys.count); excerptIDs = try reader.read(excerptIDs.count)
        maxima = try reader.read(maxima.count); minima = try reader.read(minima.count);
        lengths = try reader.read(lengths.count)
        slots = try reader.read(slots.count); activations = try reader.read(activations.count)
        try checkRestored()
    }

    /// A checkpoint comes from a file: every count, slot and length it holds is checked before anything indexes
    /// with it (each neuron's slots a permutation of 0..<capacity, counts and lengths within bounds).
    private func checkRestored() throws {
        var seen = [Bool](repeating: false, count: capacity)
        for n in 0..<neuronCount {
            guard (0...capacity).contains(Int(count[n])) else { throw BinaryReader.Failure.outOfRange }
            for i in seen.indices { seen[i] = false }
            for entry in (n * capacity)..<((n + 1) * capacity) {
                let slot = Int(slots[entry])
                guard (0..<capacity).contains(slot), !seen[slot], (0...maxTokens).contains(Int(lengths[entry])),
                    excerptIDs[entry] >= 0
                else { throw BinaryReader.Failure.outOfRange }
                seen[slot] = true
            }
        }
    }
}
