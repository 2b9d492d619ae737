import SQLite

/// Resume state of an unfinished run: opaque blobs by key, whose encoding belongs to the writer (Precompute).
/// Cleared in the transaction that marks the database complete.
extension ActivationDatabase {
    public func progress(_ key: String) throws -> [UInt8]? {
        try connection.query("SELECT value FROM progress WHERE key = ?", [.text(key)]) { $0.blob(0) }.first
    }

    public func setProgress(_ key: String, _ value: [UInt8]) throws {
        try connection.run("INSERT OR REPLACE INTO progress (key, value) VALUES (?, ?)", [.text(key), .blob(value)])
    }

    public func clearProgress() throws { try connection.run("DELETE FROM progress") }
}
