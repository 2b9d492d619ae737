import ActivationStore
import XCTest

@testable import Evaluation

final class SplitsTests: XCTestCase {
    func record(top: [Int], random: [Int]) -> NeuronRecord {
        func r(_ id: Int) -> ActivationRecord {
            ActivationRecord(excerptID: id, tokens: ["a", "b"], activations: [Float(id), 0])
        }
        return NeuronRecord(id: NeuronID(layer: 0, neuron: 0), mostPositive: top.map(r), random: random.map(r))
    }

    func testRoundRobinAssignment() {
        // Top ranks 0..19 are excerpts 100..119; random ranks 0..11 are excerpts 200..211.
        let splits = RecordSplits(
            record(top: Array(100..<120), random: Array(200..<212)),
            sizes: .init(explainRecords: 5, scoreTop: 5, scoreRandom: 5))
        XCTAssertEqual(splits.explain.map(\.excerptID), [100, 104, 108, 112, 116])  // train: ranks 0, 4, 8, …
        XCTAssertEqual(splits.scoreTop.map(\.excerptID), [102, 106, 110, 114, 118])  // valid: ranks 2, 6, …
        XCTAssertEqual(splits.scoreRandom.map(\.excerptID), [201, 204, 207, 210])  // valid random: ranks 1, 4, …
        // 5 top + 4 random
        XCTAssertEqual(splits.calibration.map(\.excerptID), [101, 105, 109, 113, 117, 200, 203, 206, 209])
        let small = RecordSplits(
            record(top: Array(100..<120), random: Array(200..<212)),
            sizes: .init(explainRecords: 5, scoreTop: 2, scoreRandom: 1))
        XCTAssertEqual(
            small.calibration.map(\.excerptID), [101, 105, 200], "calibration uses as many records as scoring")
        let fewer = RecordSplits(
            record(top: Array(100..<120), random: Array(200..<212)),
            sizes: .init(explainRecords: 2, scoreTop: 1, scoreRandom: 2))
        XCTAssertEqual(fewer.explain.map(\.excerptID), [100, 104])
        XCTAssertEqual(fewer.scoreTop.map(\.excerptID), [102])
        XCTAssertEqual(fewer.scoreRandom.map(\.excerptID), [201, 204])
    }

    /// No excerpt shown to the explainer is ever calibrated on or scored, even when the random sample shares
    /// excerpts with the top records (it is drawn independently).
    func testNoExplainedExcerptIsScored() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let pool = 40
            let top = (0..<pool).shuffled(using: &generator).prefix(Int.random(in: 0...30, using: &generator))
            let random = (0..<pool).shuffled(using: &generator).prefix(Int.random(in: 0...30, using: &generator))
            let splits = RecordSplits(
                record(top: Array(top), random: Array(random)),
                sizes: .init(explainRecords: Int.random(in: 1...8, using: &generator), scoreTop: 5, scoreRandom: 5))
            let explained = Set(splits.explain.map(\.excerptID))
            let used = Set((splits.scoreTop + splits.scoreRandom + splits.calibration).map(\.excerptID))
            XCTAssertTrue(explained.isDisjoint(with: used), "explained \(explained) reused in \(used)")
            let scored = splits.scoreTop.map(\.excerptID) + splits.scoreRandom.map(\.excerptID)
            XCTAssertEqual(Set(scored).count, scored.count, "an excerpt is scored once")
            XCTAssertTrue(
                Set(scored).isDisjoint(with: splits.calibration.map(\.excerptID)),
                "calibration never fits on scored excerpts")
            let calibrated = splits.calibration.map(\.excerptID)
            XCTAssertEqual(
                Set(calibrated).count, calibrated.count, "calibration random leaves out the calibration top excerpts")
        }
        // The overlap case made explicit: random rank 1 (valid) is the top rank-0 (train) excerpt.
        let splits = RecordSplits(record(top: [7, 8, 9, 10], random: [1, 7, 2, 3, 4]))
        XCTAssertEqual(splits.explain.map(\.excerptID), [7])
        XCTAssertEqual(splits.scoreRandom.map(\.excerptID), [4])
        // Calibration random (ranks 0, 3: excerpts 8, 3) leaves out 8, already the calibration top record.
        let shared = RecordSplits(record(top: [7, 8, 9, 10], random: [8, 5, 6, 3]))
        XCTAssertEqual(shared.calibration.map(\.excerptID), [8, 3])
    }

    func testNeuronSelection() throws {
        let all = (0..<3).flatMap { layer in (0..<10).map { NeuronID(layer: layer, neuron: $0) } }
        XCTAssertEqual(try NeuronSelection.select(nil, from: all, seed: 0).count, 30)
        XCTAssertEqual(try NeuronSelection.select("1", from: all, seed: 0), all.filter { $0.layer == 1 })
        XCTAssertEqual(try NeuronSelection.select("0-1", from: all, seed: 0).count, 20)
        XCTAssertEqual(try NeuronSelection.select("2:3,2:5-6", from: all, seed: 0).map(\.neuron), [3, 5, 6])
        let sample = try NeuronSelection.select("random:7", from: all, seed: 1)
        XCTAssertEqual(sample.count, 7)
        XCTAssertEqual(sample, try NeuronSelection.select("random:7", from: all, seed: 1))
        XCTAssertNotEqual(sample, try NeuronSelection.select("random:7", from: all, seed: 2))
        XCTAssertTrue(
            Set(try NeuronSelection.select("random:7", from: all, seed: 1)).isSubset(
                of: Set(try NeuronSelection.select("random:9", from: all, seed: 1))),
            "a larger sample contains the smaller")
        XCTAssertEqual(try NeuronSelection.select("1,random:3", from: all, seed: 0).map(\.layer), [1, 1, 1])
        XCTAssertThrowsError(try NeuronSelection.select("x", from: all, seed: 0))
        XCTAssertThrowsError(try NeuronSelection.select("5", from: all, seed: 0))
        XCTAssertThrowsError(try NeuronSelection.select("random:0", from: all, seed: 0))
    }
}
