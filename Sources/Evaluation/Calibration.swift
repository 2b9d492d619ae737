/// How simulated values (on the simulator's 0–10 scale) are mapped to the neuron's units before scoring.
/// Fitted on the calibration split only; correlation does not change under either map.
public enum CalibrationMethod: String, CaseIterable, Sendable, Codable {
    /// Scores use the simulated values as they are.
    case none
    /// Least squares: true ≈ slope · simulated + intercept.
    case linear
    /// Each simulated value goes to the true value of the same percentile in the calibration data.
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

    private init(method: CalibrationMethod, slope: Double, intercept: Double, simulatedSorted: [Double], trueSorted: [Double]) {
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
            return Calibration(method: .linear, slope: slope, intercept: meanA - slope * meanS, simulatedSorted: [], trueSorted: [])
        case .percentile:
            return Calibration(method: .percentile, slope: 1, intercept: 0, simulatedSorted: simulated.sorted(), trueSorted: actual.sorted())
        }
    }

    public func apply(_ values: [Double]) -> [Double] {
        switch method {
        case .none: return values
        case .linear: return values.map { slope * $0 + intercept }
        case .percentile: return values.map(percentileMap)
        }
    }

    /// The fraction of calibration simulations below x (ties count half), then the true quantile at that fraction.
    private func percentileMap(_ x: Double) -> Double {
        let n = simulatedSorted.count
        let below = lowerBound(simulatedSorted, x), notAbove = upperBound(simulatedSorted, x)
        let rank = (Double(below) + Double(notAbove)) / 2 / Double(n)
        let position = rank * Double(trueSorted.count - 1)
        let low = Int(position.rounded(.down)), high = min(low + 1, trueSorted.count - 1)
        return trueSorted[low] + (trueSorted[high] - trueSorted[low]) * (position - Double(low))
    }

    private func lowerBound(_ sorted: [Double], _ x: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high { let mid = (low + high) / 2; if sorted[mid] < x { low = mid + 1 } else { high = mid } }
        return low
    }

    private func upperBound(_ sorted: [Double], _ x: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high { let mid = (low + high) / 2; if sorted[mid] <= x { low = mid + 1 } else { high = mid } }
        return low
    }
}
