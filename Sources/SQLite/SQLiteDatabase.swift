import CSQLite
import Foundation
import Support

/// An SQLite failure: the result code, SQLite's message, the statement and the file, so that the message alone
/// says what went wrong where (GRDB's `DatabaseError` carries the same).
public struct SQLiteError: LocalizedError, Equatable, Sendable {
    public let code: Int32
    public let message: String
    public let sql: String?
    public let path: String

    /// Another connection holds a lock that this statement needs (SQLITE_BUSY or SQLITE_LOCKED).
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }
    /// The disk (or a quota) is full: the file being written is at fault, not what is read.
    public var isDiskFull: Bool { code & 0xff == SQLITE_FULL }

    public var errorDescription: String? {
        var text = "\(path): SQLite error \(code): \(message)"
        // The statement on one line, its whitespace collapsed: an error message is one line.
        if let sql { text += " (in: \(sql.split(whereSeparator: \.isWhitespace).joined(separator: " ").prefix(120)))" }
        if code == SQLITE_NOTADB || code == SQLITE_CORRUPT { text += ". The file is not an intact SQLite database." }
        return text
    }
}

/// A connection to one SQLite file. Not thread-safe: one owner at a time.
public final class SQLiteDatabase {
    public let path: String
    let handle: OpaquePointer

    /// Opens (or, unless `readOnly`, creates) the database at `path`.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        var handle: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let code = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close(handle)
            throw SQLiteError(code: code, message: message, sql: nil, path: path)
        }
        self.handle = handle
        sqlite3_busy_timeout(handle, 5_000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// How long a statement waits for another connection's lock before failing with SQLITE_BUSY (5 s by default).
    public func setBusyTimeout(milliseconds: Int32) { sqlite3_busy_timeout(handle, milliseconds) }

    func error(_ code: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql, path: path)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw error(code, sql: sql) }
    }

    public func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error(code, sql: sql) }
        return SQLiteStatement(database: self, handle: statement, sql: sql)
    }

    /// Runs `body` in a transaction that commits if it returns and rolls back if it throws, rethrowing the first
    /// error. `BEGIN IMMEDIATE` takes the write lock up front, so a second writer fails at once, not mid-way.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            KillSwitch.committed()
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The rows of a query, each read by `row`.
    public func query<T>(
        _ sql: String, _ arguments: [SQLiteValue] = [], row: (SQLiteStatement) throws -> T
    ) throws -> [T] {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        var rows: [T] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    /// Runs a statement once with `arguments`.
    public func run(_ sql: String, _ arguments: [SQLiteValue] = []) throws {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        while try statement.step() {}
    }
}

/// A value bound to a statement parameter.
public enum SQLiteValue: Sendable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
}

extension SQLiteValue {
    public static func int(_ value: Int) -> SQLiteValue { .integer(Int64(value)) }
}

/// A prepared statement; reusable after `reset()`.
public final class SQLiteStatement {
    unowned let database: SQLiteDatabase
    @usableFromInline let handle: OpaquePointer
    let sql: String

    init(database: SQLiteDatabase, handle: OpaquePointer, sql: String) {
        self.database = database
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Resets the statement and binds `values` to parameters 1, 2, ….
    public func bind(_ values: [SQLiteValue]) throws {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case let .integer(v): code = sqlite3_bind_int64(handle, index, v)
            case let .real(v): code = sqlite3_bind_double(handle, index, v)
            case let .text(v): code = sqlite3_bind_text(handle, index, v, -1, Self.transient)
            case let .blob(v):
                code = v.withUnsafeBytes {
                    sqlite3_bind_blob64(
                        handle, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64($0.count),
                        Self.transient)
                }
            case .null: code = sqlite3_bind_null(handle, index)
            }
            guard code == SQLITE_OK else { throw database.error(code, sql: sql) }
        }
    }

    // Column-by-column binding for hot loops (millions of rows): no array of values per row. Parameters count
    // from 1; `reset()` first when reusing the statement.

    public func reset() { sqlite3_reset(handle) }

    @inlinable public func bind(_ value: Int64, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    @inlinable public func bind(_ value: Double, at index: Int32) throws {
        try check(sqlite3_bind_double(handle, index, value))
    }

    /// Binds a static string without copying it.
    @inlinable public func bind(_ value: StaticString, at index: Int32) throws {
        let code = value.utf8Start.withMemoryRebound(to: CChar.self, capacity: value.utf8CodeUnitCount + 1) {
            sqlite3_bind_text(handle, index, $0, Int32(value.utf8CodeUnitCount), nil)
        }
        try check(code)
    }

    @usableFromInline func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw database.error(code, sql: sql) }
    }

    /// Advances to the next row; false when done.
    public func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(code, sql: sql)
        }
    }

    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: text)
    }
    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}
