import ActivationStore
import Support
import TestSupport
import XCTest

@testable import Precompute
@testable import Sampling

final class SamplerTests: XCTestCase {
    /// The selection equals "sort everything by (key, id), keep the first k", whatever the arrival order.
    func testBestKSelectionEqualsSortedPrefixInAnyOrder() {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<20 {
            let k = [1, 3, 10][trial % 3]
            // Few distinct keys, so that ties (broken by id) are common.
            let candidates = (0..<60).map { (key: Double(Int.random(in: 0..<8, using: &generator)), id: $0) }
            let expected = candidates.sorted { ($0.key, $0.id) < ($1.key, $1.id) }.prefix(k).map(\.id)
            for _ in 0..<3 {
                var selection = BestKSelection(neuronCount: 2, capacity: k, maxTokens: 4)
                for c in candidates.shuffled(using: &generator)
                where selection.admits(1, key: c.key, excerpt: Int32(c.id)) {
                    selection.insert(1, key: c.key, excerpt: Int32(c.id), maximum: Float(c.id), minimum: 0, length: 2) {
                        Float(c.id * 10 + $0)
                    }
                }
                let kept = selection.sorted(1)
                XCTAssertEqual(kept.map(\.excerpt), expected)
                // Each candidate keeps its own activations through the heap's moves.
                for entry in kept {
                    XCTAssertEqual(entry.activations, [Float(entry.excerpt * 10), Float(entry.excerpt * 10 + 1)])
                }
                XCTAssertTrue(selection.sorted(0).isEmpty)
            }
        }
    }

    func testSelectionSurvivesCheckpointRoundTrip() throws {
        var selection = BestKSelection(neuronCount: 3, capacity: 4, maxTokens: 3)
        for id in 0..<20 {
            let key = Double((id * 7) % 11)
            if selection.admits(id % 3, key: key, excerpt: Int32(id)) {
                selection.insert(id % 3, key: key, excerpt: Int32(id), maximum: 1, minimum: 0, length: 3) {
                    Float($0 + id)
                }
            }
        }
        var writer = BinaryWriter()
        selection.serialize(into: &writer)
        var restored = BestKSelection(neuronCount: 3, capacity: 4, maxTokens: 3)
        var reader = BinaryReader(writer.bytes)
        try restored.restore(from: &reader)
        for n in 0..<3 {
            XCTAssertEqual(restored.sorted(n).map(\.excerpt), selection.sorted(n).map(\.excerpt))
            XCTAssertEqual(restored.sorted(n).map(\.activations), selection.sorted(n).map(\.activations))
        }
        var short = BinaryReader(Array(writer.bytes.dropLast(5)))
        XCTAssertThrowsError(try restored.restore(from: &short))
    }

    func testHashKeysAreStableAndDistinctPerStream() {
        // Pinned values: the random choices of a database must not change between versions of neuronbench.
        XCTAssertEqual(SampleHash.mix(0), 0xE220_A839_7B1D_CDAF)
        let a = SampleHash.key(seed: 0, stream: .random, layer: 1, neuron: 2, excerpt: 3)
        XCTAssertEqual(a, SampleHash.key(seed: 0, stream: .random, layer: 1, neuron: 2, excerpt: 3))
        XCTAssertNotEqual(a, SampleHash.key(seed: 0, stream: .quantile, layer: 1, neuron: 2, excerpt: 3))
        XCTAssertNotEqual(a, SampleHash.key(seed: 1, stream: .random, layer: 1, neuron: 2, excerpt: 3))
        XCTAssertLessThan(a, 9007199254740992)  // 2^53: exact as a Double
    }

    /// The samplers compute a key in two parts (the neuron's once, then per excerpt): the same keys as in one.
    func testHashKeyFromTheNeuronsPartEqualsTheWholeKey() {
        for (layer, neuron, excerpt) in [(0, 0, 0), (3, 2_047, 12_345), (47, 6_399, 1 << 30)] {
            for stream in [SampleHash.Stream.random, .quantile] {
                let part = SampleHash.neuronHash(seed: 42, stream: stream, layer: layer, neuron: neuron)
                XCTAssertEqual(
                    SampleHash.key(neuronHash: part, excerpt: excerpt),
                    SampleHash.key(seed: 42, stream: stream, layer: layer, neuron: neuron, excerpt: excerpt))
            }
        }
    }

    /// The histogram's bins, computed in a loop of their own, are the scalar rule's bins, edges included: NaN and values below
    /// the range in bin 0, the range's top and above (and +inf) in the last, a neuron count not a multiple of 8.
    func testHistogramBinsInTheirOwnLoopEqualTheScalarRule() {
        let bins = 32, n = 29
        var generator = SplitMix64(seed: 3)
        let low = (0..<n).map { _ in -Float(generator.next() % 100) / 10 }
        let high = low.map { $0 + 1 + Float(generator.next() % 50) / 7 }
        let scale = zip(low, high).map { Float(bins) / ($1 - $0) }
        var rows: [[Float]] = [low, high, low.map { $0.nextDown }, high.map { $0.nextDown }]
        rows.append((0..<n).map { [Float.nan, .infinity, -.infinity, 0][$0 % 4] })
        for _ in 0..<200 { rows.append((0..<n).map { low[$0] - 1 + Float(generator.next() % 10_000) / 900 }) }
        var histogram = [Int64](repeating: 0, count: n * (bins + 2))
        var expected = histogram
        var scratch = [Int32](repeating: 0, count: n)
        for row in rows {
            NeuronRangeSampler.countBins(row, low, scale, &histogram, &scratch, n: n, bins: bins)
            for i in 0..<n {
                expected[i * (bins + 2) + NeuronRangeSampler.bin(row[i], low[i], scale[i], bins: bins)] += 1
            }
        }
        XCTAssertEqual(histogram, expected)
        XCTAssertEqual(NeuronRangeSampler.bin(.nan, 0, 1, bins: bins), 0)
        XCTAssertEqual(NeuronRangeSampler.bin(32, 0, 1, bins: bins), bins + 1)
        XCTAssertEqual(NeuronRangeSampler.bin(0, 0, 1, bins: bins), 1)
        XCTAssertEqual(NeuronRangeSampler.bin(31.99, 0, 1, bins: bins), bins)
    }

    func testExcerptWindows() {
        let excerpter = Excerpter(tokens: 4)
        XCTAssertEqual(excerpter.windows(tokenCount: 10).map { [$0.start, $0.count] }, [[0, 4], [4, 4]])
        XCTAssertEqual(excerpter.windows(tokenCount: 3).count, 0)
        let keepShort = Excerpter(tokens: 4, minimumTokens: 2)
        XCTAssertEqual(keepShort.windows(tokenCount: 10).map { [$0.start, $0.count] }, [[0, 4], [4, 4], [8, 2]])
        XCTAssertEqual(keepShort.windows(tokenCount: 9).map { [$0.start, $0.count] }, [[0, 4], [4, 4]])
    }

    func testNumpyLinearQuantile() {
        // numpy.quantile([1, 2, 3, 4, 10], [0.5, 0.9, 0.99]) = 3.0, 7.6, 9.76
        let sorted: [Float] = [1, 2, 3, 4, 10]
        XCTAssertEqual(Precomputation.quantile(sorted, 0.5), 3, accuracy: 1e-6)
        XCTAssertEqual(Precomputation.quantile(sorted, 0.9), 7.6, accuracy: 1e-5)
        XCTAssertEqual(Precomputation.quantile(sorted, 0.99), 9.76, accuracy: 1e-5)
        XCTAssertEqual(Precomputation.quantile([5], 0.999), 5)
    }
}

final class BatchingTests: XCTestCase {
    func testBatchesKeepPaddingSmall() {
        XCTAssertEqual(
            paddedBatches(lengths: [1024, 1024, 1024, 320, 1024, 1024], maxCount: 4), [0..<3, 3..<4, 4..<6])
        XCTAssertEqual(paddedBatches(lengths: Array(repeating: 64, count: 10), maxCount: 4), [0..<4, 4..<8, 8..<10])
        XCTAssertEqual(paddedBatches(lengths: [], maxCount: 4), [])
        // Property: batches cover every sequence once, in order, at most maxCount each, and padding is at most
        // 1/8 of any batch of two or more.
        var state: UInt64 = 7
        let lengths = (0..<500).map { _ -> Int in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 60 < 12 ? 1024 : Int((state >> 33) % 1024) + 1
        }
        let batches = paddedBatches(lengths: lengths, maxCount: 5)
        XCTAssertEqual(batches.flatMap { Array($0) }, Array(lengths.indices))
        for batch in batches where batch.count > 1 {
            XCTAssertLessThanOrEqual(batch.count, 5)
            let padded = batch.count * lengths[batch].max()!, real = lengths[batch].reduce(0, +)
            XCTAssertLessThanOrEqual(8 * (padded - real), padded, "\(batch)")
        }
    }
}
