import ActivationStore
import GPT2

extension PrecomputeSettings {
    /// The forward pass's matrix precision (stored by name).
    public var precision: MatrixPrecision {
        get { MatrixPrecision(rawValue: precisionName) ?? .float32 }
        set { precisionName = newValue.rawValue }
    }

    /// The library of the float32 products (stored by name).
    public var blas: BLASLibrary {
        get { BLASLibrary(rawValue: blasName) ?? .openBLAS }
        set { blasName = newValue.rawValue }
    }

    /// Rejects settings no precompute can run with, before any work.
    public func validate() throws {
        func check(_ condition: Bool, _ setting: String, _ requirement: String) throws {
            if !condition { throw PrecomputeError.invalidSetting(setting, requirement) }
        }
        try check(excerpter.tokens > 0, "excerpt tokens", "must be positive")
        try check(
            excerpter.minimumTokens > 0 && excerpter.minimumTokens <= excerpter.tokens, "minimum excerpt tokens",
            "must be between 1 and the excerpt tokens (\(excerpter.tokens))")
        try check(
            excerpter.context > 0 && excerpter.context % max(1, excerpter.tokens) == 0, "context tokens",
            "must be a positive multiple of the excerpt tokens (\(excerpter.tokens))")
        try check(
            [samples.top, samples.random, samples.perQuantileBucket, samples.bottom].allSatisfy { $0 >= 0 },
            "record counts", "cannot be negative")
        try check(pilotExcerpts > 0, "pilot excerpts", "must be positive")
        try check(histogramBins > 0, "histogram bins", "must be positive")
        try check(shardCount > 0 && (0..<shardCount).contains(shardIndex), "shard", "must be i/N with 0 <= i < N")
        try check(maxTokens.map { $0 > 0 } ?? true, "maximum tokens", "must be positive")
        try check(
            MatrixPrecision(rawValue: precisionName) != nil, "precision",
            "must be one of \(MatrixPrecision.allCases.map(\.rawValue).joined(separator: ", ")), not \(precisionName)")
        try check(
            BLASLibrary(rawValue: blasName) != nil, "blas",
            "must be one of \(BLASLibrary.allCases.map(\.rawValue).joined(separator: ", ")), not \(blasName)")
    }
}
