import Foundation

/// An activation database file (schema v1): the one artefact a precompute produces and an evaluation reads.
///
/// Writers create it with status "running" and mark it "complete" as the last step of the run, so a file whose
/// writer died can never pass for a finished one; readers refuse it unless asked (`allowIncomplete`).
public final class ActivationDatabase {
    public let path: String
    public let connection: SQLiteDatabase
    private var insertNeuron: SQLiteStatement?, deleteRecords: SQLiteStatement?
    private var recordInserters: [Int: SQLiteStatement] = [:]

    private init(path: String, connection: SQLiteDatabase) {
        self.path = path
        self.connection = connection
    }

    deinit {
        // Finalise the cached statements before the connection closes.
        insertNeuron = nil; deleteRecords = nil; recordInserters = [:]
    }

    /// Opens an existing database for reading. Throws for a file that is missing, not SQLite, of another schema
    /// version, or unfinished (unless `allowIncomplete`).
    public static func openForReading(path: String, allowIncomplete: Bool = false) throws -> ActivationDatabase {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ActivationStoreError.notADatabase(path: path, reason: "file not found")
        }
        let database = ActivationDatabase(path: path, connection: try SQLiteDatabase(path: path, readOnly: true))
        try database.checkSchema()
        let status = try database.status()
        if status != "complete" && !allowIncomplete {
            throw ActivationStoreError.incomplete(path: path, status: status)
        }
        return database
    }

    /// Opens a database to write: creates it with the schema if it does not exist (or is empty), otherwise opens
    /// it as it is (the caller decides whether it may resume it).
    public static func openForWriting(path: String) throws -> ActivationDatabase {
        let connection = try SQLiteDatabase(path: path)
        let database = ActivationDatabase(path: path, connection: connection)
        let tables = try connection.query("SELECT count(*) FROM sqlite_master") { $0.int(0) }.first ?? 0
        if tables == 0 {
            // Resume checkpoints are large and deleted at the end: incremental vacuum gives their pages back.
            try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
            // 16 KB pages: a neuron's ~25 KB activation blob spans 2 pages instead of 7, and the records B-tree is
            // shallower (Python's sqlite3 and every SQLite reader handle any page size).
            try connection.execute("PRAGMA page_size = 16384")
            try connection.execute("PRAGMA journal_mode = WAL")
            try connection.transaction {
                try connection.execute(ActivationSchema.sql)
                try database.setMetadata("schema_version", json: String(ActivationSchema.version))
                try database.setMetadata("status", json: "\"running\"")
            }
        } else {
            try database.checkSchema()
        }
        try connection.execute("PRAGMA synchronous = NORMAL")
        // The final write inserts millions of rows in one transaction: a 256 MB page cache keeps the B-trees'
        // working set in memory instead of spilling to the WAL over and over.
        try connection.execute("PRAGMA cache_size = -262144")
        return database
    }

    private func checkSchema() throws {
        let hasMetadata: Int
        do {
            hasMetadata = try connection.query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'metadata'") { $0.int(0) }.first ?? 0
        } catch let error as SQLiteError {
            throw ActivationStoreError.notADatabase(path: path, reason: error.message)
        }
        guard hasMetadata == 1, let version = Int(try metadata("schema_version") ?? "") else {
            throw ActivationStoreError.notADatabase(path: path, reason: "no metadata table with a schema_version")
        }
        guard version == ActivationSchema.version else {
            throw ActivationStoreError.unsupportedSchemaVersion(path: path, found: version, supported: ActivationSchema.version)
        }
    }

    // MARK: Metadata

    /// The JSON text stored under `key`, if any.
    public func metadata(_ key: String) throws -> String? {
        try connection.query("SELECT value FROM metadata WHERE key = ?", [.text(key)]) { $0.string(0) }.first
    }

    public func setMetadata(_ key: String, json: String) throws {
        try connection.run("INSERT OR REPLACE INTO metadata (key, value) VALUES (?, ?)", [.text(key), .text(json)])
    }

    /// "running" or "complete".
    public func status() throws -> String {
        let json = try metadata("status") ?? "\"unknown\""
        return (try? JSONDecoder().decode(String.self, from: Data(json.utf8))) ?? json
    }

    public func markComplete() throws { try setMetadata("status", json: "\"complete\"") }

    /// Before the one big transaction that writes every neuron: a rollback journal instead of the WAL. The
    /// transaction appends new pages, which a rollback journal does not copy, so ~1 GB is written once instead of
    /// to the WAL and again at the checkpoint; a crash still rolls back to the resumable state.
    public func beginFinalWrite() throws {
        try connection.execute("PRAGMA journal_mode = DELETE")
    }

    /// After the writer's last transaction: returns free pages to the file system and leaves one self-contained
    /// file (no -wal beside it).
    public func compact() throws {
        try connection.execute("PRAGMA incremental_vacuum")
        try connection.execute("PRAGMA journal_mode = DELETE")
    }

    // MARK: Vocabulary, documents, excerpts

    public func writeVocabulary(_ tokens: [[UInt8]]) throws {
        let statement = try connection.prepare("INSERT INTO vocabulary (id, token) VALUES (?, ?)")
        for (id, bytes) in tokens.enumerated() {
            try statement.bind([.int(id), .blob(bytes)])
            _ = try statement.step()
        }
    }

    /// The bytes of every token id, indexed by id.
    public func vocabulary() throws -> [[UInt8]] {
        try connection.query("SELECT token FROM vocabulary ORDER BY id") { $0.blob(0) }
    }

    public func insert(_ document: DocumentRow) throws {
        try connection.run("""
            INSERT INTO documents (id, source, line, byte_count, token_count, invalid_utf8_replaced, nul_removed)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.int(document.id), .text(document.source), document.line.map(SQLiteValue.int) ?? .null,
                  .int(document.byteCount), .int(document.tokenCount), .int(document.invalidUTF8Replaced),
                  .int(document.nulRemoved)])
    }

    public func documents() throws -> [DocumentRow] {
        try connection.query("SELECT id, source, line, byte_count, token_count, invalid_utf8_replaced, nul_removed FROM documents ORDER BY id") {
            DocumentRow(id: $0.int(0), source: $0.string(1), line: $0.isNull(2) ? nil : $0.int(2), byteCount: $0.int(3),
                        tokenCount: $0.int(4), invalidUTF8Replaced: $0.int(5), nulRemoved: $0.int(6))
        }
    }

    public func insert(_ excerpt: ExcerptRow) throws {
        var blob = [UInt8]()
        blob.reserveCapacity(excerpt.tokenIDs.count * 4)
        for id in excerpt.tokenIDs { withUnsafeBytes(of: UInt32(id).littleEndian) { blob += $0 } }
        try connection.run("INSERT INTO excerpts (id, document_id, start_token, token_count, token_ids) VALUES (?, ?, ?, ?, ?)",
                           [.int(excerpt.id), .int(excerpt.documentID), .int(excerpt.startToken),
                            .int(excerpt.tokenIDs.count), .blob(blob)])
    }

    public func excerptCount() throws -> Int {
        try connection.query("SELECT count(*) FROM excerpts") { $0.int(0) }.first ?? 0
    }

    /// Where an excerpt sits in its document, without its tokens.
    public struct ExcerptPlacement: Equatable, Sendable {
        public var documentID: Int
        public var startToken: Int
        public var tokenCount: Int
    }

    /// Every excerpt's placement, indexed by excerpt id (ids must run 0, 1, 2, ...).
    public func excerptPlacements() throws -> [ExcerptPlacement] {
        var expected = 0
        return try connection.query("SELECT id, document_id, start_token, token_count FROM excerpts ORDER BY id") { row in
            guard row.int(0) == expected else {
                throw ActivationStoreError.corrupt(path: path, reason: "excerpt ids are not consecutive (\(row.int(0)) follows \(expected - 1))")
            }
            expected += 1
            return ExcerptPlacement(documentID: row.int(1), startToken: row.int(2), tokenCount: row.int(3))
        }
    }

    /// Excerpts with `first <= id < end`, in id order.
    public func excerpts(from first: Int = 0, to end: Int = Int.max) throws -> [ExcerptRow] {
        try connection.query("SELECT id, document_id, start_token, token_count, token_ids FROM excerpts WHERE id >= ? AND id < ? ORDER BY id",
                             [.int(first), .integer(Int64(min(end, Int(Int64.max))))]) { row in
            try Self.excerptRow(row, path: path)
        }
    }

    public func excerpt(_ id: Int) throws -> ExcerptRow? { try excerpts(from: id, to: id + 1).first }

    private static func excerptRow(_ row: SQLiteStatement, path: String) throws -> ExcerptRow {
        let blob = row.blob(4), count = row.int(3)
        guard blob.count == 4 * count else {
            throw ActivationStoreError.corrupt(path: path, reason: "excerpt \(row.int(0)) has \(blob.count) bytes of token ids for \(count) tokens")
        }
        let ids = blob.withUnsafeBytes { raw in
            (0..<count).map { i -> Int in Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        }
        return ExcerptRow(id: row.int(0), documentID: row.int(1), startToken: row.int(2), tokenIDs: ids)
    }

    // MARK: Neurons and records

    /// A neuron's row values with the costly parts done (statistics as JSON text, activations compressed), so
    /// that many can be encoded in parallel and then inserted by the one writer.
    public struct EncodedNeuron: Sendable {
        let data: NeuronData
        let values: [SQLiteValue]
        /// The records rows in primary-key order (kind names sort bottom < quantile < random < top), sorted here
        /// on the encoding thread so that the one writer only binds and steps.
        let rows: [RecordRow]

        public init(_ data: NeuronData) throws {
            var bits: [UInt16] = []
            bits.reserveCapacity(data.records.reduce(0) { $0 + $1.activations.count })
            var stripped = data
            for i in stripped.records.indices {
                bits += stripped.records[i].activations.map { Float16($0).bitPattern }
                stripped.records[i].activations = []
            }
            try self.init(stripped, lengths: data.records.map(\.activations.count), halfBits: bits)
        }

        /// From records without their activations (`activations` empty), each record's token count, and all
        /// records' activations concatenated as float16 bit patterns: what the samplers hold.
        public init(_ data: NeuronData, lengths: [Int], halfBits: [UInt16]) throws {
            let s = data.statistics
            var offsets: [Int] = []
            var offset = 0
            for length in lengths { offsets.append(offset); offset += length }
            precondition(offset == halfBits.count && lengths.count == data.records.count)
            func optional(_ x: Double) -> SQLiteValue { x.isFinite ? .real(x) : .null }
            values = [.int(data.id.layer), .int(data.id.neuron), .int(s.tokenCount), .int(s.excerptCount), .real(s.sum),
                      .real(s.sumSquares), .real(s.sumCubes), .real(s.sumFourthPowers), .real(s.mean), .real(s.variance),
                      optional(s.skewness), optional(s.kurtosis), .real(Double(s.min)), .real(Double(s.max)),
                      .int(s.positiveCount), .real(s.fractionPositive), .text(Self.json(s.histogramEdges.map(Double.init))),
                      .text(Self.json(s.histogram.map(Double.init))), .text(Self.json(s.quantileBoundaries.map(Double.init))),
                      .text(Self.json(s.excerptsBelowBoundaries.map(Double.init))), .blob(try RecordCodec.encode(halfBits: halfBits))]
            self.data = data
            let records = zip(data.records, offsets)
            rows = Self.kindsInKeyOrder.flatMap { kind in
                records.filter { $0.0.kind == kind }.sorted { ($0.0.bucket, $0.0.rank) < ($1.0.bucket, $1.0.rank) }
            }.map { record, offset in
                (layer: data.id.layer, neuron: data.id.neuron, kind: record.kind, bucket: record.bucket, rank: record.rank,
                 excerpt: record.excerptID, maximum: Double(record.maxActivation), minimum: Double(record.minActivation), offset: offset)
            }
        }

        /// Record kinds in the order of their names, the primary key's order.
        static let kindsInKeyOrder = RecordKind.allCases.sorted { $0.rawValue < $1.rawValue }

        /// A JSON array of numbers as JSONEncoder writes them (integers without a fraction, floats round-trip).
        static func json(_ numbers: [Double]) -> String {
            "[" + numbers.map { x -> String in
                if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
                return x.isFinite ? "\(x)" : "null"
            }.joined(separator: ",") + "]"
        }
    }

    /// Writes a neuron's statistics, records and their activations blob (replacing any earlier row).
    public func write(_ data: NeuronData) throws { try write(try EncodedNeuron(data)) }

    /// Writes an encoded neuron (replacing any earlier row).
    public func write(_ encoded: EncodedNeuron) throws {
        let id = encoded.data.id
        try statement(&insertNeuron, """
            INSERT OR REPLACE INTO neurons (layer, neuron, token_count, excerpt_count, sum, sum_squares, sum_cubes,
                sum_fourth_powers, mean, variance, skewness, kurtosis, min, max, positive_count, fraction_positive,
                histogram_edges, histogram, quantile_boundaries, excerpts_below_boundaries, activations)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """) { try $0.bind(encoded.values); _ = try $0.step() }
        try statement(&deleteRecords, "DELETE FROM records WHERE layer = ? AND neuron = ?") {
            try $0.bind([.int(id.layer), .int(id.neuron)]); _ = try $0.step()
        }
        // Millions of rows go through here: up to 64 rows per statement, bound column by column (no per-row
        // arrays), in primary-key order.
        let rows = encoded.rows
        for first in stride(from: 0, to: rows.count, by: 64) {
            let chunk = rows[first..<min(rows.count, first + 64)]
            try recordInserter(rows: chunk.count).insertRecords(chunk)
        }
    }

    /// A cached statement inserting `rows` records rows at once.
    private func recordInserter(rows: Int) throws -> SQLiteStatement {
        if let statement = recordInserters[rows] { return statement }
        let values = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
        let statement = try connection.prepare("""
            INSERT INTO records (layer, neuron, kind, bucket, rank, excerpt_id, max_activation, min_activation, value_offset)
            VALUES \(values)
            """)
        recordInserters[rows] = statement
        return statement
    }

    /// Runs `body` with a cached prepared statement (prepared on first use).
    private func statement(_ cache: inout SQLiteStatement?, _ sql: String, _ body: (SQLiteStatement) throws -> Void) throws {
        if cache == nil { cache = try connection.prepare(sql) }
        try body(cache!)
    }

    /// Every neuron in the database, in (layer, neuron) order.
    public func neuronIDs() throws -> [NeuronID] {
        try connection.query("SELECT layer, neuron FROM neurons ORDER BY layer, neuron") { NeuronID(layer: $0.int(0), neuron: $0.int(1)) }
    }

    /// A neuron's statistics and records with their activations (float16 precision).
    public func neuron(_ id: NeuronID) throws -> NeuronData {
        let rows = try connection.query("""
            SELECT token_count, excerpt_count, sum, sum_squares, sum_cubes, sum_fourth_powers, min, max, positive_count,
                   histogram, quantile_boundaries, excerpts_below_boundaries, activations, histogram_edges
            FROM neurons WHERE layer = ? AND neuron = ?
            """, [.int(id.layer), .int(id.neuron)]) { row -> (NeuronStatistics, [UInt8]) in
            var s = NeuronStatistics()
            s.tokenCount = row.int(0); s.excerptCount = row.int(1)
            s.sum = row.double(2); s.sumSquares = row.double(3); s.sumCubes = row.double(4); s.sumFourthPowers = row.double(5)
            s.min = Float(row.double(6)); s.max = Float(row.double(7)); s.positiveCount = row.int(8)
            s.histogram = try decodeJSON([Int].self, row.string(9), what: "histogram of neuron \(id)")
            s.quantileBoundaries = try decodeJSON([Double].self, row.string(10), what: "quantile_boundaries of neuron \(id)").map { Float($0) }
            s.excerptsBelowBoundaries = try decodeJSON([Int].self, row.string(11), what: "excerpts_below_boundaries of neuron \(id)")
            s.histogramEdges = try decodeJSON([Double].self, row.string(13), what: "histogram_edges of neuron \(id)").map { Float($0) }
            return (s, row.blob(12))
        }
        guard let (statistics, blob) = rows.first else { throw ActivationStoreError.neuronNotFound(path: path, layer: id.layer, neuron: id.neuron) }
        let records = try connection.query("""
            SELECT r.kind, r.bucket, r.rank, r.excerpt_id, r.max_activation, r.min_activation, r.value_offset, e.token_count
            FROM records r JOIN excerpts e ON e.id = r.excerpt_id
            WHERE r.layer = ? AND r.neuron = ?
            ORDER BY r.value_offset
            """, [.int(id.layer), .int(id.neuron)]) { row -> (StoredRecord, Int, Int) in
            guard let kind = RecordKind(rawValue: row.string(0)) else {
                throw ActivationStoreError.corrupt(path: path, reason: "record of neuron \(id) has kind \(row.string(0))")
            }
            return (StoredRecord(kind: kind, bucket: row.int(1), rank: row.int(2), excerptID: row.int(3),
                                 maxActivation: Float(row.double(4)), minActivation: Float(row.double(5)), activations: []),
                    row.int(6), row.int(7))
        }
        let total = records.reduce(0) { max($0, $1.1 + $1.2) }
        let values: [Float]
        do {
            values = try RecordCodec.decode(blob, count: total)
        } catch {
            throw ActivationStoreError.corrupt(path: path, reason: "activations of neuron \(id): \(error.localizedDescription)")
        }
        let stored = records.map { record, offset, count -> StoredRecord in
            var record = record
            record.activations = Array(values[offset..<(offset + count)])
            return record
        }
        let order = Dictionary(uniqueKeysWithValues: RecordKind.allCases.enumerated().map { ($1, $0) })
        return NeuronData(id: id, statistics: statistics, records: stored.sorted {
            (order[$0.kind]!, $0.bucket, $0.rank) < (order[$1.kind]!, $1.bucket, $1.rank)
        })
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String, what: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw ActivationStoreError.corrupt(path: path, reason: "\(what) is not valid JSON")
        }
    }

    // MARK: Resume state

    public func progress(_ key: String) throws -> [UInt8]? {
        try connection.query("SELECT value FROM progress WHERE key = ?", [.text(key)]) { $0.blob(0) }.first
    }

    public func setProgress(_ key: String, _ value: [UInt8]) throws {
        try connection.run("INSERT OR REPLACE INTO progress (key, value) VALUES (?, ?)", [.text(key), .blob(value)])
    }

    public func clearProgress() throws { try connection.run("DELETE FROM progress") }
}

extension ActivationDatabase {
    /// Each token id's text as a viewer shows it (a token that is part of a UTF-8 character shows U+FFFD).
    public func tokenStrings() throws -> [String] {
        try vocabulary().map { String(decoding: $0, as: UTF8.self) }
    }
}
