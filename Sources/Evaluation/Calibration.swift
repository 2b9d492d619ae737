/// How simulated values (on the simulator's 0–10 scale) are mapped to the neuron's units before scoring.
/// Fitted on the calibration split only; correlation does not change under either map.
public enum CalibrationMethod: String, CaseIterable, Sendable, Codable {
    /// Scores use the simulated values as they are.
    case none
    /// Least squares: true ≈ slope · simulated + intercept.
    case linear
    /// OpenAI's percentile matching: `numpy.interp(x, sorted(simulated), sorted(true))` over the calibration split.
    case percentile
}

/// A fitted map from simulated to true activations.
public struct Calibration: Sendable, Equatable {
    public let method: CalibrationMethod
    private let slope: Double
    private let intercept: Double
    private let simulatedSorted: [Double]
    private let trueSorted: [Double]

    public static let identity = Calibration(method: .none, slope: 1, intercept: 0, simulatedSorted: [], trueSorted: [])

    private init(
        method: CalibrationMethod, slope: Double, intercept: Double, simulatedSorted: [Double], trueSorted: [Double]
    ) {
        self.method = method
        self.slope = slope
        self.intercept = intercept
        self.simulatedSorted = simulatedSorted
        self.trueSorted = trueSorted
    }

    /// Fits `method` on paired (simulated, true) calibration values. With no calibration data, the identity.
    public static func fit(_ method: CalibrationMethod, simulated: [Double], actual: [Double]) -> Calibration {
        guard method != .none, !simulated.isEmpty, simulated.count == actual.count else { return .identity }
        switch method {
        case .none:
            return .identity
        case .linear:
            let n = Double(simulated.count)
            let meanS = simulated.reduce(0, +) / n, meanA = actual.reduce(0, +) / n
            var covariance = 0.0, variance = 0.0
            for (s, a) in zip(simulated, actual) {
                covariance += (s - meanS) * (a - meanA)
                variance += (s - meanS) * (s - meanS)
            }
            // A constant simulation carries no information: predict the calibration mean.
            let slope = variance > 0 ? covariance / variance : 0
            return Calibration(
                method: .linear, slope: slope, intercept: meanA - slope * meanS, simulatedSorted: [], trueSorted: [])
        case .percentile:
            return Calibration(
                method: .percentile, slope: 1, intercept: 0, simulatedSorted: simulated.sorted(),
                trueSorted: actual.sorted())
        }
    }

    public func apply(_ values: [Double]) -> [Double] {
        switch method {
        case .none: return values
        case .linear: return values.map { slope * $0 + intercept }
        case .percentile: return values.map(percentileMap)
        }
    }

    /// OpenAI's percentile matching, `numpy.interp(x, sorted(simulated), sorted(true))`: piecewise-linear between
    /// the sorted pairs, clamped to the first and last true value outside the simulated range. Among tied
    /// simulated values x maps to the true value at the top of the tied block (numpy's search finds the last
    /// j with simulated[j] <= x).
    private func percentileMap(_ x: Double) -> Double {
        let xs = simulatedSorted, ys = trueSorted
        guard let first = xs.first, let last = xs.last else { return x }
        if x.isNaN { return .nan }
        if x < first { return ys[0] }
        if x >= last { return ys[ys.count - 1] }
        // The last j with xs[j] <= x; x < last, so j + 1 exists and xs[j + 1] > x.
        var low = 0, high = xs.count
        while low < high { let mid = (low + high) / 2; if xs[mid] <= x { low = mid + 1 } else { high = mid } }
        let j = low - 1
        if x == xs[j] { return ys[j] }
        let slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
        return slope * (x - xs[j]) + ys[j]
    }
}
