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
