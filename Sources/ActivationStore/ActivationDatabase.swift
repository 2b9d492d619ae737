import Foundation
import SQLite

/// An activation database file (schema v2; v1 files read too): the one artefact a precompute produces and an evaluation reads. This
/// module is the only one that runs SQL on it; others use its typed API.
///
/// Writers create it with status "running" and mark it "complete" as the last step of the run, so a file whose
/// writer died can never pass for a finished one; readers refuse it unless asked (`allowIncomplete`).
public final class ActivationDatabase {
    public let path: String
    let connection: SQLiteDatabase
    var insertNeuron: SQLiteStatement?
    /// Every excerpt's token count by id, read once for the first unit read (schema version 3 records name their
    /// excerpts, whose lengths slice the activations blob); dropped when excerpts are written.
    var excerptTokenCounts: [Int: Int]?
    /// Rows of the vocabulary table, counted once: every token id read is checked against it.
    var cachedVocabularySize: Int?
    /// The file's schema version (`ActivationSchema.readableVersions`; always the current one when writing).
    public private(set) var schemaVersion = ActivationSchema.version

    /// Whether the precompute that writes the database has finished.
    public enum Status: String, Codable, Sendable { case running, complete }

    private init(path: String, connection: SQLiteDatabase) {
        self.path = path
        self.connection = connection
    }

    deinit {
        // Finalise the cached statements before the connection closes.
        insertNeuron = nil
    }

    /// Opens an existing database for reading. Throws for a file that is missing, not SQLite, of another schema
    /// version, or unfinished (unless `allowIncomplete`).
    public static func openForReading(path: String, allowIncomplete: Bool = false) throws -> ActivationDatabase {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ActivationStoreError.notADatabase(path: path, reason: "file not found")
        }
        let database = ActivationDatabase(path: path, connection: try SQLiteDatabase(path: path, readOnly: true))
        try database.checkSchema(accepting: ActivationSchema.readableVersions)
        let status = try database.status()
        if status != .complete && !allowIncomplete {
            throw ActivationStoreError.incomplete(path: path, status: status.rawValue)
        }
        return database
    }

    /// Opens a database to write: creates it with the schema if it does not exist (or is empty), otherwise opens
    /// it as it is (the caller decides whether it may resume it).
    public static func openForWriting(path: String) throws -> ActivationDatabase {
        let connection = try SQLiteDatabase(path: path)
        let database = ActivationDatabase(path: path, connection: connection)
        // SQLite's default 4 KB pages, chosen by measurement: 16 KB pages (the pragma must come before the file's
        // first read to take effect) made the demo database 31% larger, 87.5 MB against 66.6 MB, as each neuron's
        // activation blob rounds up to whole pages, with no gain in speed (BENCHMARKS.md).
        let tables = try connection.query("SELECT count(*) FROM sqlite_master") { $0.int(0) }.first ?? 0
        if tables == 0 {
            // Resume checkpoints are large and deleted at the end: incremental vacuum gives their pages back.
            try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
            try connection.execute("PRAGMA journal_mode = WAL")
            try connection.transaction {
                try connection.execute(ActivationSchema.sql)
                try database.setValue(ActivationSchema.version, .schemaVersion)
                try database.setValue(Status.running, .status)
            }
        } else {
            // An older version's file is read, never resumed or extended: its rows lack this version's columns.
            try database.checkSchema(accepting: ActivationSchema.version...ActivationSchema.version)
        }
        try connection.execute("PRAGMA synchronous = NORMAL")
        // The final write inserts millions of rows in one transaction: a 256 MB page cache keeps the B-trees'
        // working set in memory instead of spilling to the WAL over and over.
        try connection.execute("PRAGMA cache_size = -262144")
        return database
    }

    private func checkSchema(accepting versions: ClosedRange<Int>) throws {
        let hasMetadata: Int
        do {
            hasMetadata =
                try connection.query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'metadata'") {
                    $0.int(0)
                }.first ?? 0
        } catch let error as SQLiteError {
            throw ActivationStoreError.notADatabase(path: path, reason: error.message)
        }
        guard hasMetadata == 1, let version = try? value(Int.self, .schemaVersion) else {
            throw ActivationStoreError.notADatabase(path: path, reason: "no metadata table with a schema_version")
        }
        guard versions.contains(version) else {
            throw ActivationStoreError.unsupportedSchemaVersion(path: path, found: version, supported: versions)
        }
        schemaVersion = version
    }

    public func status() throws -> Status {
        guard let status = try value(Status.self, .status) else {
            throw ActivationStoreError.corrupt(path: path, reason: "metadata has no status")
        }
        return status
    }

    public func markComplete() throws { try setValue(Status.complete, .status) }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T { try connection.transaction(body) }

    /// Before the one big transaction that writes every neuron: a rollback journal instead of the WAL. The
    /// transaction appends new pages, which a rollback journal does not copy, so ~1 GB is written once instead of
    /// to the WAL and again at the checkpoint; a crash still rolls back to the resumable state. Leaving WAL mode
    /// needs every other connection closed: while a reader (`sqlite3`, Python) has the file open, the write stays
    /// in WAL mode (slower, never failing). Returns whether it switched.
    @discardableResult
    public func beginFinalWrite() throws -> Bool { try leaveWALMode() }

    /// After the writer's last transaction: returns free pages to the file system and leaves one self-contained
    /// file (no -wal beside it), waiting up to `seconds` for readers to close the file (`waiting` is called once
    /// if it has to wait). If they do not, the database stays complete in WAL mode, checkpointed so that the main
    /// file holds every committed page; returns whether it is one file.
    public func compact(waitingForReaders seconds: Double = 10, waiting: () -> Void = {}) throws -> Bool {
        try returnFreePages()
        let deadline = Date().addingTimeInterval(seconds)
        var warned = false
        while true {
            if try leaveWALMode() { return true }
            if Date() >= deadline { break }
            if !warned { waiting(); warned = true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return false
    }

    /// Gives the pages freed by the resume checkpoints back to the file system. Incremental vacuum takes each free
    /// page off the freelist one at a time, in time that grows with the freelist's length: for the 8 GB that a
    /// checkpoint of twelve 24,576-latent SAEs frees it ran for over 20 minutes (BENCHMARKS.md). When the free
    /// pages are many and more than a quarter of the file, VACUUM rewrites the live pages once instead (it needs
    /// temporary space the size of the database); if another connection keeps it from running, incremental vacuum
    /// still does the job.
    private func returnFreePages() throws {
        let pages = try connection.query("PRAGMA page_count") { $0.int(0) }.first ?? 0
        let free = try connection.query("PRAGMA freelist_count") { $0.int(0) }.first ?? 0
        if free > 4_096 && 4 * free > pages {
            do {
                try connection.execute("VACUUM")
                return
            } catch let error as SQLiteError where error.isBusy {}
        }
        try connection.execute("PRAGMA incremental_vacuum")
    }

    /// Switches to a rollback journal if no other connection is open; false (still WAL) if one is.
    private func leaveWALMode() throws -> Bool {
        connection.setBusyTimeout(milliseconds: 0)
        defer { connection.setBusyTimeout(milliseconds: 5_000) }
        do {
            try connection.execute("PRAGMA journal_mode = DELETE")
            return try journalMode() != "wal"
        } catch let error as SQLiteError where error.isBusy {
            return false
        }
    }

    /// "wal" while the database has a -wal file beside it that readers need; "delete" for one self-contained file.
    public func journalMode() throws -> String {
        try connection.query("PRAGMA journal_mode") { $0.string(0) }.first ?? ""
    }

    /// The file's size in bytes (0 if it cannot be read).
    public static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
