import Foundation
import Support
import XCTest

@testable import Evaluation

/// The unpaired difference interval of `neuronbench table` against the normal approximation it must agree with
/// for large samples, and against hand-computed degenerate cases.
final class SideBySideTests: XCTestCase {
    func testDifferenceIntervalAgreesWithTheNormalApproximation() {
        var generator = SplitMix64(seed: 11)
        func uniform() -> Double { Double(generator.next() >> 11) / Double(1 << 53) }
        let a = (0..<1_500).map { _ in uniform() }  // mean 0.5, variance 1/12
        let b = (0..<400).map { _ in 0.3 + 2 * uniform() }  // mean 1.3, variance 4/12
        func variance(_ x: [Double]) -> Double {
            let m = x.reduce(0, +) / Double(x.count)
            return x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1)
        }
        let difference = b.reduce(0, +) / Double(b.count) - a.reduce(0, +) / Double(a.count)
        let halfWidth = 1.96 * (variance(a) / Double(a.count) + variance(b) / Double(b.count)).squareRoot()
        let (low, high) = ScoreSummary.differenceInterval(a, b, seed: 0)
        XCTAssertEqual((low + high) / 2, difference, accuracy: 0.15 * halfWidth)
        XCTAssertEqual((high - low) / 2, halfWidth, accuracy: 0.1 * halfWidth)
        XCTAssertEqual(ScoreSummary.differenceInterval(a, b, seed: 0).0, low, "seeded: the same interval again")
    }

    func testDegenerateSamples() {
        let (low, high) = ScoreSummary.differenceInterval([1, 1, 1], [3, 3])
        XCTAssertEqual(low, 2)
        XCTAssertEqual(high, 2)
        XCTAssertTrue(ScoreSummary.differenceInterval([], [1]).0.isNaN, "no scores on one side: no interval")
        XCTAssertEqual(ScoreSummary([0.2, 0.5, 0.9]).fraction(atLeast: 0.5), 2.0 / 3)
        XCTAssertEqual(ScoreSummary([0.2, 0.5, 0.9]).fraction(atLeast: 0.8), 1.0 / 3)
        XCTAssertEqual(ScorerKind.simulation.shareThreshold, 0.5)
        XCTAssertEqual(ScorerKind.fuzzing.shareThreshold, 0.8)
    }
}
