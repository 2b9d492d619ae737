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
    /// A reader kept the file open past the end of the run: the database is complete but in WAL mode, so a copy
    /// must include its -wal file (or be made after `PRAGMA journal_mode = DELETE` once readers have closed it).
    public var leftInWALMode = false

    public init() {}
}
