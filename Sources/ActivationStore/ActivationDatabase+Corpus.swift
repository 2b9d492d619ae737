import SQLite

/// The corpus side of the database: the tokenizer's vocabulary, the documents, and the excerpts cut from them.
extension ActivationDatabase {
    public func writeVocabulary(_ tokens: [[UInt8]]) throws {
        cachedVocabularySize = nil
        let statement = try connection.prepare("INSERT INTO vocabulary (id, token) VALUES (?, ?)")
        for (id, bytes) in tokens.enumerated() {
            try statement.bind([.int(id), .blob(bytes)])
            _ = try statement.step()
        }
    }

    /// The bytes of every token id, indexed by id (ids must run 0, 1, 2, ...).
    public func vocabulary() throws -> [[UInt8]] {
        var expected = 0
        return try connection.query("SELECT id, token FROM vocabulary ORDER BY id") { row in
            guard row.int(0) == expected else {
                throw ActivationStoreError.corrupt(
                    path: path, reason: "vocabulary ids are not consecutive (\(row.int(0)) follows \(expected - 1))")
            }
            expected += 1
            return row.blob(1)
        }
    }

    public func insert(_ document: DocumentRow) throws {
        try connection.run(
            """
            INSERT INTO documents (id, source, line, byte_count, token_count, invalid_utf8_replaced, nul_removed)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .int(document.id), .text(document.source), document.line.map(SQLiteValue.int) ?? .null,
                .int(document.byteCount), .int(document.tokenCount), .int(document.invalidUTF8Replaced),
                .int(document.nulRemoved),
            ])
    }

    public func documents() throws -> [DocumentRow] {
        try connection.query(
            "SELECT id, source, line, byte_count, token_count, invalid_utf8_replaced, nul_removed FROM documents ORDER BY id"
        ) {
            DocumentRow(
                id: $0.int(0), source: $0.string(1), line: $0.isNull(2) ? nil : $0.int(2), byteCount: $0.int(3),
                tokenCount: $0.int(4), invalidUTF8Replaced: $0.int(5), nulRemoved: $0.int(6))
        }
    }

    public func insert(_ excerpt: ExcerptRow) throws {
        var blob = [UInt8]()
        blob.reserveCapacity(excerpt.tokenIDs.count * 4)
        for id in excerpt.tokenIDs { withUnsafeBytes(of: UInt32(id).littleEndian) { blob += $0 } }
        excerptTokenCounts = nil
        try connection.run(
            "INSERT INTO excerpts (id, document_id, start_token, token_count, token_ids) VALUES (?, ?, ?, ?, ?)",
            [
                .int(excerpt.id), .int(excerpt.documentID), .int(excerpt.startToken),
                .int(excerpt.tokenIDs.count), .blob(blob),
            ])
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
        return try connection.query("SELECT id, document_id, start_token, token_count FROM excerpts ORDER BY id") {
            row in
            guard row.int(0) == expected else {
                throw ActivationStoreError.corrupt(
                    path: path, reason: "excerpt ids are not consecutive (\(row.int(0)) follows \(expected - 1))")
            }
            guard row.int(1) >= 0, row.int(2) >= 0, (0...Self.maximumExcerptTokens).contains(row.int(3)) else {
                throw ActivationStoreError.corrupt(
                    path: path,
                    reason:
                        "excerpt \(row.int(0)) (table excerpts) has a negative or impossible position or token_count")
            }
            expected += 1
            return ExcerptPlacement(documentID: row.int(1), startToken: row.int(2), tokenCount: row.int(3))
        }
    }

    /// Excerpts with `first <= id < end`, in id order.
    public func excerpts(from first: Int = 0, to end: Int = Int.max) throws -> [ExcerptRow] {
        try connection.query(
            "SELECT id, document_id, start_token, token_count, token_ids FROM excerpts WHERE id >= ? AND id < ? ORDER BY id",
            [.int(first), .integer(Int64(min(end, Int(Int64.max))))]
        ) { row in
            try excerptRow(row)
        }
    }

    public func excerpt(_ id: Int) throws -> ExcerptRow? { try excerpts(from: id, to: id + 1).first }

    private func excerptRow(_ row: SQLiteStatement) throws -> ExcerptRow {
        let blob = row.blob(4), count = row.int(3)
        guard count >= 0, blob.count == 4 * count else {
            throw ActivationStoreError.corrupt(
                path: path,
                reason:
                    "excerpt \(row.int(0)) (table excerpts) has \(blob.count) bytes of token ids for \(count) tokens")
        }
        let ids = blob.withUnsafeBytes { raw in
            (0..<count).map { i -> Int in
                Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        }
        let size = try vocabularySize()
        if let bad = ids.first(where: { $0 >= size }) {
            throw ActivationStoreError.corrupt(
                path: path,
                reason:
                    "excerpt \(row.int(0)) (table excerpts) has token id \(bad), but the vocabulary has \(size) tokens")
        }
        return ExcerptRow(id: row.int(0), documentID: row.int(1), startToken: row.int(2), tokenIDs: ids)
    }

    /// The number of tokens in the vocabulary table.
    public func vocabularySize() throws -> Int {
        if let size = cachedVocabularySize { return size }
        let size = try connection.query("SELECT count(*) FROM vocabulary") { $0.int(0) }.first ?? 0
        cachedVocabularySize = size
        return size
    }

    /// Each token id's text as a viewer shows it (a token that is part of a UTF-8 character shows U+FFFD), indexed
    /// by id: every id in an excerpt read from this database indexes it.
    public func tokenStrings() throws -> [String] {
        try vocabulary().map { String(decoding: $0, as: UTF8.self) }
    }

    /// Tokens in all excerpts.
    public func excerptTokenCount() throws -> Int {
        try connection.query("SELECT coalesce(sum(token_count), 0) FROM excerpts") { $0.int(0) }.first ?? 0
    }

    /// Empties vocabulary, documents, excerpts and resume state: a tokenizing pass starts over.
    public func removeCorpus() throws {
        try connection.execute(
            "DELETE FROM vocabulary; DELETE FROM documents; DELETE FROM excerpts; DELETE FROM progress;")
        cachedVocabularySize = nil
        excerptTokenCounts = nil
    }

    /// Copies vocabulary, documents and excerpts from the database at `path` (a merge's first shard, whose corpus
    /// tables every shard shares), in a transaction of its own (SQLite attaches only outside one).
    public func copyCorpus(fromDatabaseAt path: String) throws {
        try connection.run("ATTACH DATABASE ? AS source", [.text(path)])
        defer { try? connection.execute("DETACH DATABASE source") }
        cachedVocabularySize = nil
        excerptTokenCounts = nil
        do {
            try connection.transaction {
                try connection.execute(
                    """
                    INSERT INTO vocabulary SELECT * FROM source.vocabulary;
                    INSERT INTO documents SELECT * FROM source.documents;
                    INSERT INTO excerpts SELECT * FROM source.excerpts;
                    """)
            }
        } catch let error as SQLiteError where !error.isDiskFull {
            // The source is what failed to read (this file is new): name it, not the merge's temporary output.
            throw ActivationStoreError.corrupt(
                path: path, reason: "its corpus tables cannot be copied (\(error.message))")
        }
    }
}
