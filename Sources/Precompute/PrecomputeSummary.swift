import ActivationStore

/// What a precompute or merge did: the database's deterministic summary (stored as its metadata "summary") and
/// this invocation's own facts and timing.
public struct PrecomputeSummary: Sendable {
    public var stored = DatabaseSummary()
    /// The maximum token count was reached before the end of the corpus, which was read no further.
    public var stoppedAtMaxTokens = false
    public var resumed = false
    public var alreadyComplete = false
    public var databaseBytes = 0
    public var seconds = 0.0
    public var mainPassTokensPerSecond = 0.0
    /// Where this invocation's time went, so that fixed costs can be told from the per-token work.
    public var phases = PhaseSeconds()
    /// What the memory check estimated before the run (compare with the process's peak RSS).
    public var memoryBudget: MemoryBudget?
    /// A reader kept the file open past the end of the run: the database is complete but in WAL mode, so a copy
    /// must include its -wal file (or be made after `PRAGMA journal_mode = DELETE` once readers have closed it).
    public var leftInWALMode = false

    public init() {}
}

/// Wall-clock seconds of one precompute invocation's phases. The fixed costs (start-up, pilot, write) do not grow
/// with the corpus the way the main pass does; a benchmark reports them apart (BENCHMARKS.md).
public struct PhaseSeconds: Sendable {
    /// Checking the inputs, hashing the checkpoint, tokenizing (or reading the stored excerpts), loading the model.
    public var startUp = 0.0
    /// The pilot pass (0 when a resumed run found its estimates stored).
    public var pilot = 0.0
    /// The main pass: forward passes, sampling and checkpoints.
    public var mainPass = 0.0
    /// The final write of every unit's records and statistics, and the compaction to one file.
    public var write = 0.0

    public init() {}
}
