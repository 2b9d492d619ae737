/// How far a long phase has come, for a display (the CLI's progress line on stderr).
public struct ProgressReport: Sendable, Equatable {
    public var phase: String
    public var done: Int
    /// 0 when the total is not known yet.
    public var total: Int
    public var unit: String
    /// Seconds since the phase started.
    public var elapsed: Double

    public init(phase: String, done: Int, total: Int, unit: String, elapsed: Double) {
        self.phase = phase
        self.done = done
        self.total = total
        self.unit = unit
        self.elapsed = elapsed
    }
}
