import ActivationStore
import Support

/// What the pilot pass fixes for a unit before the main pass: which excerpts its quantile buckets cover, their
/// boundaries, and the histogram's range.
public struct PilotEstimates: Sendable {
    /// [N][QuantileBuckets.count] estimated quantiles `QuantileBuckets.upperEdges` of the population's maxima.
    public var boundaries: [Float]
    /// [N] the histogram's first and last edges.
    public var histogramLow: [Float]
    public var histogramHigh: [Float]
    /// [N] true where the buckets cover only activating excerpts (maximum > 0): `QuantilePopulation.activating`.
    public var activatingOnly: [Bool]

    public init(boundaries: [Float], histogramLow: [Float], histogramHigh: [Float], activatingOnly: [Bool]? = nil) {
        self.boundaries = boundaries
        self.histogramLow = histogramLow
        self.histogramHigh = histogramHigh
        self.activatingOnly = activatingOnly ?? [Bool](repeating: false, count: histogramLow.count)
    }
}

/// All per-neuron state of neurons `firstNeuron ..< firstNeuron + neuronCount` of one layer while streaming:
/// statistics, top / bottom / random / quantile selections. Its size depends on the number of neurons and the
/// sample sizes, never on the corpus length. `LayerSampler` runs several over disjoint neuron ranges at once.
struct NeuronRangeSampler {
    let layer: Int
    /// The first neuron this sampler covers, and how many; activations rows hold `rowLength` neurons.
    let firstNeuron: Int
    let neuronCount: Int
    let rowLength: Int
    let seed: UInt64
    let histogramBins: Int
    let pilot: PilotEstimates

    private(set) var tokenCount = 0
    private(set) var excerptCount = 0
    private var sums: [Double]  // [N][4]: Σx, Σx², Σx³, Σx⁴
    private var minimum: [Float]
    private var maximum: [Float]
    private var positive: [Int64]
    private var activeExcerpts: [Int64]  // [N]: excerpts whose maximum is > 0
    private var histogram: [Int64]  // [N][bins + 2]
    private var below: [Int64]  // [N][QuantileBuckets.count]: excerpts whose max < each boundary
    private var top: BestKSelection
    private var bottom: BestKSelection
    private var random: BestKSelection
    private var quantile: [BestKSelection]

    // Per-excerpt scratch, [N]
    private var excerptMax: [Float], excerptMin: [Float], partial: [Float], excerptPositive: [Int32]
    /// Per-token scratch, [N]: each neuron's histogram bin for the current token.
    private var binScratch: [Int32]
    /// Per-excerpt scratch, [maxTokens][N]: the excerpt's values as float16 bits, converted by the statistics loop
    /// while it holds them (16 at a time), so that admitted candidates copy from this small buffer instead of
    /// converting one value at a time from rows far apart in the layer's batch (measured: a third of `update`).
    private var excerptHalves: [UInt16]
    /// Candidates admitted for the current excerpt whose activations are still to copy: (neuron index in this
    /// range, destination).
    private var pendingTop: [BestKSelection.PendingCopy] = [], pendingBottom: [BestKSelection.PendingCopy] = []
    private var pendingRandom: [BestKSelection.PendingCopy] = []
    private var pendingQuantile: [[BestKSelection.PendingCopy]] = Array(repeating: [], count: QuantileBuckets.count)
    /// [N] bins / (histogram high − low): a value's bin is ⌊(x − low) · scale⌋ + 1 (0 below, bins + 1 at or above).
    private let histogramScale: [Float]
    /// [N] each neuron's part of its random and quantile sample keys (`SampleHash.neuronHash`).
    private let randomHash: [UInt64], quantileHash: [UInt64]

    init(
        layer: Int, neurons: Range<Int>, rowLength: Int, maxTokens: Int, sizes: SampleSizes, seed: UInt64,
        histogramBins: Int,
        pilot: PilotEstimates
    ) {
        self.layer = layer
        self.firstNeuron = neurons.lowerBound
        self.rowLength = rowLength
        let neuronCount = neurons.count
        self.neuronCount = neuronCount
        self.seed = seed
        self.histogramBins = histogramBins
        self.pilot = pilot
        sums = [Double](repeating: 0, count: neuronCount * 4)
        minimum = [Float](repeating: .infinity, count: neuronCount)
        maximum = [Float](repeating: -.infinity, count: neuronCount)
        positive = [Int64](repeating: 0, count: neuronCount)
        activeExcerpts = [Int64](repeating: 0, count: neuronCount)
        histogram = [Int64](repeating: 0, count: neuronCount * (histogramBins + 2))
        below = [Int64](repeating: 0, count: neuronCount * QuantileBuckets.count)
        top = BestKSelection(neuronCount: neuronCount, capacity: sizes.top, maxTokens: maxTokens)
        bottom = BestKSelection(neuronCount: neuronCount, capacity: sizes.bottom, maxTokens: maxTokens)
        random = BestKSelection(neuronCount: neuronCount, capacity: sizes.random, maxTokens: maxTokens)
        quantile = (0..<QuantileBuckets.count).map { _ in
            BestKSelection(neuronCount: neuronCount, capacity: sizes.perQuantileBucket, maxTokens: maxTokens)
        }
        excerptMax = [Float](repeating: 0, count: neuronCount)
        excerptMin = excerptMax
        partial = [Float](repeating: 0, count: neuronCount * 4)
        excerptPositive = [Int32](repeating: 0, count: neuronCount)
        binScratch = [Int32](repeating: 0, count: neuronCount)
        excerptHalves = [UInt16](repeating: 0, count: neuronCount * maxTokens)
        histogramScale = zip(pilot.histogramLow, pilot.histogramHigh).map { Float(histogramBins) / ($1 - $0) }
        randomHash = neurons.map { SampleHash.neuronHash(seed: seed, stream: .random, layer: layer, neuron: $0) }
        quantileHash = neurons.map { SampleHash.neuronHash(seed: seed, stream: .quantile, layer: layer, neuron: $0) }
    }

    /// Folds in one batch of this layer's activations. `values` is [rows, rowLength]; each span names the rows of
    /// one excerpt (rows not in a span, such as padding, are ignored).
    mutating func update(values: UnsafeBufferPointer<Float>, spans: [ExcerptSpan]) {
        let n = neuronCount
        let bins = histogramBins
        for span in spans {
            let length = span.length, firstRow = span.firstRow
            excerptMax.withUnsafeMutableBufferPointer { mx in
                excerptMin.withUnsafeMutableBufferPointer { mn in
                    partial.withUnsafeMutableBufferPointer { p in
                        excerptPositive.withUnsafeMutableBufferPointer { pos in
                            binScratch.withUnsafeMutableBufferPointer { scratch in
                                histogram.withUnsafeMutableBufferPointer { hist in
                                    pilot.histogramLow.withUnsafeBufferPointer { low in
                                        histogramScale.withUnsafeBufferPointer { scale in
                                            excerptHalves.withUnsafeMutableBufferPointer { halves in
                                                for i in 0..<n { mx[i] = -.infinity; mn[i] = .infinity; pos[i] = 0 }
                                                for i in 0..<(4 * n) { p[i] = 0 }
                                                for token in 0..<length {
                                                    let row =
                                                        values.baseAddress! + (firstRow + token) * rowLength
                                                        + firstNeuron
                                                    let half = halves.baseAddress! + token * n
                                                    // Reductions in float32 per excerpt (added to float64 totals below): vectorises, and the
                                                    // result does not depend on how excerpts are batched.
                                                    for i in 0..<n {
                                                        let x = row[i]
                                                        mx[i] = Swift.max(mx[i], x)
                                                        mn[i] = Swift.min(mn[i], x)
                                                        let x2 = x * x
                                                        p[i] += x
                                                        p[n + i] += x2
                                                        p[2 * n + i] += x2 * x
                                                        p[3 * n + i] += x2 * x2
                                                        pos[i] &+= x > 0 ? 1 : 0
                                                        half[i] = Float16(x).bitPattern
                                                    }
                                                    Self.countBins(
                                                        row, low.baseAddress!, scale.baseAddress!, hist.baseAddress!,
                                                        scratch.baseAddress!, n: n, bins: bins)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            tokenCount += length
            excerptCount += 1
            let excerpt = span.excerpt, id32 = Int32(excerpt)
            let buckets = QuantileBuckets.count
            for i in 0..<n {
                sums[4 * i] += Double(partial[i])
                sums[4 * i + 1] += Double(partial[n + i])
                sums[4 * i + 2] += Double(partial[2 * n + i])
                sums[4 * i + 3] += Double(partial[3 * n + i])
                minimum[i] = Swift.min(minimum[i], excerptMin[i])
                maximum[i] = Swift.max(maximum[i], excerptMax[i])
                positive[i] += Int64(excerptPositive[i])

                let high = excerptMax[i], low = excerptMin[i]
                if high > 0 { activeExcerpts[i] += 1 }
                let column = i
                if top.admits(i, key: -Double(high), excerpt: id32) {
                    pendingTop.append(
                        (
                            column,
                            top.insertEntry(
                                i, key: -Double(high), excerpt: id32, maximum: high, minimum: low, length: length)
                        ))
                }
                if bottom.admits(i, key: Double(low), excerpt: id32) {
                    pendingBottom.append(
                        (
                            column,
                            bottom.insertEntry(
                                i, key: Double(low), excerpt: id32, maximum: high, minimum: low, length: length)
                        ))
                }
                let randomKey = SampleHash.key(neuronHash: randomHash[i], excerpt: excerpt)
                if random.admits(i, key: randomKey, excerpt: id32) {
                    pendingRandom.append(
                        (
                            column,
                            random.insertEntry(
                                i, key: randomKey, excerpt: id32, maximum: high, minimum: low, length: length)
                        ))
                }
                // Bucket j holds maxima in [boundary j-1, boundary j); maxima at or above the last are not bucketed,
                // and neither are silent excerpts of a unit whose buckets cover activating ones only.
                var bucket = buckets
                let bucketed = !(pilot.activatingOnly[i] && !(high > 0))
                for j in (0..<buckets).reversed() where bucketed && high < pilot.boundaries[buckets * i + j] {
                    below[buckets * i + j] += 1
                    bucket = j
                }
                if bucket < buckets {
                    let key = SampleHash.key(neuronHash: quantileHash[i], excerpt: excerpt)
                    if quantile[bucket].admits(i, key: key, excerpt: id32) {
                        pendingQuantile[bucket].append(
                            (
                                column,
                                quantile[bucket].insertEntry(
                                    i, key: key, excerpt: id32, maximum: high, minimum: low, length: length)
                            ))
                    }
                }
            }
            // The admitted candidates' activations, token by token (a candidate evicted by a later one of the same
            // excerpt cannot happen: one excerpt enters a neuron's selection at most once).
            excerptHalves.withUnsafeBufferPointer { halves in
                let rows = halves.baseAddress!
                top.fill(pendingTop, rows: rows, rowLength: n, length: length)
                bottom.fill(pendingBottom, rows: rows, rowLength: n, length: length)
                random.fill(pendingRandom, rows: rows, rowLength: n, length: length)
                for j in quantile.indices {
                    quantile[j].fill(pendingQuantile[j], rows: rows, rowLength: n, length: length)
                }
            }
            pendingTop.removeAll(keepingCapacity: true); pendingBottom.removeAll(keepingCapacity: true)
            pendingRandom.removeAll(keepingCapacity: true)
            for j in quantile.indices { pendingQuantile[j].removeAll(keepingCapacity: true) }
        }
    }

    /// Adds one token's values to each neuron's histogram (`hist` is [n][bins + 2]). NaN counts as below.
    ///
    /// In two loops: the bins first, into `scratch` (a loop without stores to the histogram, which vectorises), then the
    /// increments, each into its own neuron's row. The same float operations as `bin(_:_:_:bins:)`, so the same bins.
    @inline(__always)
    static func countBins(
        _ row: UnsafePointer<Float>, _ low: UnsafePointer<Float>, _ scale: UnsafePointer<Float>,
        _ hist: UnsafeMutablePointer<Int64>, _ scratch: UnsafeMutablePointer<Int32>, n: Int, bins: Int
    ) {
        let stride = bins + 2, top = Float(bins)
        for i in 0..<n {
            let scaled = (row[i] - low[i]) * scale[i]
            // Below the range or NaN -> -1, at or above its top -> top: truncated and + 1, the bin (0 ... bins + 1).
            let clamped: Float = scaled >= 0 ? (scaled < top ? scaled : top) : -1
            scratch[i] = Int32(clamped) &+ 1
        }
        for i in 0..<n { hist[i * stride + Int(scratch[i])] &+= 1 }
    }

    /// One value's histogram bin: 0 below the range (or NaN), 1 ... bins inside it, bins + 1 at or above its top (the
    /// rule `countBins` follows, value by value; the tests compare the two).
    @inline(__always)
    static func bin(_ x: Float, _ low: Float, _ scale: Float, bins: Int) -> Int {
        let scaled = (x - low) * scale
        return !(scaled >= 0) ? 0 : (scaled >= Float(bins) ? bins + 1 : Int(Int32(scaled)) + 1)
    }

    /// Neuron `firstNeuron + i` ready to write: its float16 activations go to the database without conversion.
    func encodedNeuron(_ i: Int) throws -> ActivationDatabase.EncodedNeuron {
        let (data, lengths, bits) = neuronRecords(i)
        return try ActivationDatabase.EncodedNeuron(data, lengths: lengths, halfBits: bits)
    }

    /// Statistics and records without activations, each record's length, and the activations as float16 bits.
    private func neuronRecords(_ i: Int) -> (NeuronData, [Int], [UInt16]) {
        var s = NeuronStatistics()
        s.tokenCount = tokenCount
        s.excerptCount = excerptCount
        s.sum = sums[4 * i]; s.sumSquares = sums[4 * i + 1]; s.sumCubes = sums[4 * i + 2];
        s.sumFourthPowers = sums[4 * i + 3]
        s.min = minimum[i]; s.max = maximum[i]
        s.positiveCount = Int(positive[i])
        s.activeExcerptCount = Int(activeExcerpts[i])
        s.quantilePopulation = pilot.activatingOnly[i] ? .activating : .all
        let low = pilot.histogramLow[i], high = pilot.histogramHigh[i]
        s.histogramEdges = (0...histogramBins).map { low + (high - low) * Float($0) / Float(histogramBins) }
        s.histogram = histogram[(i * (histogramBins + 2))..<((i + 1) * (histogramBins + 2))].map { Int($0) }
        let buckets = QuantileBuckets.count
        s.quantileBoundaries = Array(pilot.boundaries[(buckets * i)..<(buckets * i + buckets)])
        s.excerptsBelowBoundaries = below[(buckets * i)..<(buckets * i + buckets)].map { Int($0) }

        var records: [StoredRecord] = [], lengths: [Int] = [], bits: [UInt16] = []
        // Room for every record up front: growing `bits` record by record was most of the write's copying.
        let selections = [top, random] + quantile + [bottom]
        let count = selections.reduce(0) { $0 + Int($1.count[i]) }
        records.reserveCapacity(count)
        lengths.reserveCapacity(count)
        bits.reserveCapacity(selections.reduce(0) { $0 + Int($1.count[i]) * $1.maxTokens })
        func add(_ kind: RecordKind, _ bucket: Int, _ selection: BestKSelection) {
            for (rank, c) in selection.sortedEntries(i).enumerated() {
                records.append(
                    StoredRecord(
                        kind: kind, bucket: bucket, rank: rank, excerptID: c.excerpt,
                        maxActivation: c.maximum, minActivation: c.minimum, activations: []))
                lengths.append(c.length)
                bits += selection.activations[c.start..<(c.start + c.length)]
            }
        }
        add(.top, 0, top)
        add(.random, 0, random)
        for (bucket, selection) in quantile.enumerated() { add(.quantile, bucket, selection) }
        add(.bottom, 0, bottom)
        return (
            NeuronData(id: NeuronID(layer: layer, neuron: firstNeuron + i), statistics: s, records: records), lengths,
            bits
        )
    }

    // MARK: Checkpoints

    func serialize() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(tokenCount); writer.write(excerptCount)
        writer.write(sums); writer.write(minimum); writer.write(maximum); writer.write(positive)
        writer.write(activeExcerpts)
        writer.write(histogram); writer.write(below)
        top.serialize(into: &writer); bottom.serialize(into: &writer); random.serialize(into: &writer)
        for selection in quantile { selection.serialize(into: &writer) }
        return writer.bytes
    }

    mutating func restore(_ bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        tokenCount = try reader.readInt(); excerptCount = try reader.readInt()
        sums = try reader.read(sums.count); minimum = try reader.read(minimum.count);
        maximum = try reader.read(maximum.count)
        positive = try reader.read(positive.count); activeExcerpts = try reader.read(activeExcerpts.count)
        histogram = try reader.read(histogram.count);
        below = try reader.read(below.count)
        try top.restore(from: &reader); try bottom.restore(from: &reader); try random.restore(from: &reader)
        for j in quantile.indices { try quantile[j].restore(from: &reader) }
    }
}
