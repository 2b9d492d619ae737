import TestSupport
import XCTest

@testable import Evaluation

final class ScoringTests: XCTestCase {
    // a = [0, .5, 2 | 0, 1, 3], s = [0, 1, 8 | 1, 2, 10]; top = first three tokens, random = last three.
    let top = ([0, 0.5, 2.0], [0, 1, 8.0]), random = ([0, 1, 3.0], [1, 2, 10.0])

    func testScoresMatchNumpy() {
        // numpy: corrcoef, 1 - mean((a-s)^2)/mean(a^2), 1 - mean|a-s|/mean|a|
        let scores = Scoring.scores(top: [top], random: [random])
        XCTAssertEqual(scores.correlation.value!, 0.9720447626624231, accuracy: 1e-12)
        XCTAssertEqual(scores.topCorrelation.value!, 0.9918697838003707, accuracy: 1e-12)
        XCTAssertEqual(scores.randomCorrelation.value!, 0.9732227014483791, accuracy: 1e-12)
        XCTAssertEqual(scores.rSquared.value!, -5.12280701754386, accuracy: 1e-12)
        XCTAssertEqual(scores.absoluteDeviationExplained.value!, -1.384615384615385, accuracy: 1e-12)
        XCTAssertEqual(scores.notes, "")
    }

    func testHandComputedValues() {
        // Perfect prediction: every score is 1. Opposite trend: correlation −1.
        XCTAssertEqual(Scoring.correlation([1, 2, 3], [2, 4, 6]), .value(1))
        XCTAssertEqual(Scoring.correlation([1, 2, 3], [3, 2, 1]).value!, -1, accuracy: 1e-15)
        XCTAssertEqual(Scoring.rSquared([1, 2], [1, 2]), .value(1))
        // a = [1, 3], s = [2, 2]: mean((a-s)^2) = 1, mean(a^2) = 5 -> 0.8; mean|a-s| = 1, mean|a| = 2 -> 0.5
        XCTAssertEqual(Scoring.rSquared([1, 3], [2, 2]).value!, 0.8, accuracy: 1e-15)
        XCTAssertEqual(Scoring.absoluteDeviationExplained([1, 3], [2, 2]).value!, 0.5, accuracy: 1e-15)
    }

    func testUndefinedScoresCarryTheirReasonAndAreNeverZero() {
        XCTAssertEqual(Scoring.correlation([1, 2, 3], [5, 5, 5]), .undefined("simulated activations are constant"))
        XCTAssertEqual(Scoring.correlation([0, 0, 0], [1, 2, 3]), .undefined("true activations are constant"))
        XCTAssertEqual(Scoring.correlation([1], [1]), .undefined("fewer than 2 tokens"))
        XCTAssertEqual(Scoring.rSquared([0, 0], [1, 1]), .undefined("true activations are all 0"))
        let scores = Scoring.scores(top: [([1, 2], [3, 3])], random: [([0, 0], [3, 3])])
        XCTAssertTrue(scores.correlation.number.isNaN)
        XCTAssertTrue(scores.notes.contains("correlation: simulated activations are constant"))
        XCTAssertTrue(scores.notes.contains("random_correlation: true activations are constant"))
    }

    func testLinearCalibrationMatchesPolyfitAndLeavesCorrelationAlone() {
        // numpy.polyfit([0,10,0,10,5], [0.1,2.1,0,1.9,1.0], 1) = (0.195, 0.045)
        let calibration = Calibration.fit(.linear, simulated: [0, 10, 0, 10, 5], actual: [0.1, 2.1, 0, 1.9, 1.0])
        let mapped = calibration.apply([0, 10])
        XCTAssertEqual(mapped[0], 0.045, accuracy: 1e-12)
        XCTAssertEqual(mapped[1], 0.195 * 10 + 0.045, accuracy: 1e-12)
        let a = [0.0, 0.5, 2, 0, 1, 3], s = [0.0, 1, 8, 1, 2, 10]
        XCTAssertEqual(
            Scoring.correlation(a, calibration.apply(s)).value!, Scoring.correlation(a, s).value!, accuracy: 1e-12)
        // A constant calibration simulation predicts the calibration mean.
        XCTAssertEqual(Calibration.fit(.linear, simulated: [3, 3], actual: [1, 2]).apply([7]), [1.5])
        XCTAssertEqual(Calibration.fit(.none, simulated: [0, 10], actual: [0, 1]).apply([4]), [4])
        XCTAssertEqual(Calibration.fit(.linear, simulated: [], actual: []).apply([4]), [4])
    }

    /// numpy.interp(x, sorted(simulated), sorted(true)) on the cases of Scripts/make-calibration-fixtures.py.
    func testPercentileCalibrationIsNumpyInterpOverTheSortedCalibrationValues() throws {
        struct Case: Decodable { var name: String; var simulated, actual, queries, mapped: [Double] }
        struct Fixture: Decodable { var cases: [Case] }
        let url = TestSupport.repositoryRoot.appendingPathComponent(
            "Tests/EvaluationTests/Resources/percentile-calibration.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 10)
        for c in fixture.cases {
            let mapped = Calibration.fit(.percentile, simulated: c.simulated, actual: c.actual).apply(c.queries)
            XCTAssertEqual(mapped.count, c.mapped.count)
            for (index, (got, expected)) in zip(mapped, c.mapped).enumerated() {
                XCTAssertEqual(got, expected, accuracy: 1e-12, "\(c.name): query \(c.queries[index])")
            }
        }
        // The worked example, by hand: ties map to the top of their block, values outside clamp.
        let example = Calibration.fit(.percentile, simulated: [0, 0, 0, 10], actual: [-0.1, 0, 0.2, 3])
        XCTAssertEqual(example.apply([0, 10, -5, 20]), [0.2, 3, -0.1, 3])
    }

    func testSummaryStatistics() {
        let summary = ScoreSummary([0.1, 0.9, 0.5, 0.3])
        XCTAssertEqual(summary.mean, 0.45, accuracy: 1e-12)
        XCTAssertEqual(summary.median, 0.4, accuracy: 1e-12)
        // sample std: sqrt(((-.35)^2 + .45^2 + .05^2 + (-.15)^2) / 3)
        XCTAssertEqual(
            summary.standardDeviation, ((0.1225 + 0.2025 + 0.0025 + 0.0225) / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(summary.fractionAtLeastHalf, 0.5)
        XCTAssertEqual(summary.fractionAtLeast08, 0.25)
        XCTAssertLessThan(summary.confidenceLow, summary.mean)
        XCTAssertGreaterThan(summary.confidenceHigh, summary.mean)
        XCTAssertGreaterThanOrEqual(summary.confidenceLow, 0.1)
        XCTAssertLessThanOrEqual(summary.confidenceHigh, 0.9)
        XCTAssertEqual(ScoreSummary([0.1, 0.9, 0.5, 0.3]), summary, "deterministic")
        XCTAssertTrue(ScoreSummary([]).mean.isNaN)
    }
}
