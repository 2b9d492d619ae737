import Foundation
import SQLite

/// The unit side of the database: one row of statistics and compressed activations per neuron, and its records.
extension ActivationDatabase {
    /// A neuron's row values with the costly parts done (statistics as JSON text, activations compressed), so
    /// that many can be encoded in parallel and then inserted by the one writer.
    public struct EncodedNeuron: Sendable {
        let data: NeuronData
        let values: [SQLiteValue]

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
            let total = lengths.reduce(0, +)
            guard total == halfBits.count, lengths.count == data.records.count else {
                throw ActivationStoreError.invalidArgument(
                    "neuron \(data.id): \(data.records.count) records with \(lengths.count) lengths totalling \(total) values, but \(halfBits.count) values given"
                )
            }
            func optional(_ x: Double) -> SQLiteValue { x.isFinite ? .real(x) : .null }
            values = [
                .int(data.id.layer), .int(data.id.neuron), .int(s.tokenCount), .int(s.excerptCount), .real(s.sum),
                .real(s.sumSquares), .real(s.sumCubes), .real(s.sumFourthPowers), .real(s.mean), .real(s.variance),
                optional(s.skewness), optional(s.kurtosis), .real(Double(s.min)), .real(Double(s.max)),
                .int(s.positiveCount), .real(s.fractionPositive), s.activeExcerptCount.map { .int($0) } ?? .null,
                .text(s.quantilePopulation.rawValue), .text(Self.json(s.histogramEdges.map(Double.init))),
                .text(Self.json(s.histogram.map(Double.init))), .text(Self.json(s.quantileBoundaries.map(Double.init))),
                .text(Self.json(s.excerptsBelowBoundaries.map(Double.init))),
                .blob(try RecordCodec.encode(halfBits: halfBits)),
                .blob(try PackedRecords.encode(data.records, unit: data.id)),
            ]
            self.data = data
        }

        /// A JSON array of numbers as JSONEncoder writes them (integers without a fraction, floats round-trip).
        static func json(_ numbers: [Double]) -> String {
            "["
                + numbers.map { x -> String in
                    if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
                    return x.isFinite ? "\(x)" : "null"
                }.joined(separator: ",") + "]"
        }
    }

    /// Writes a neuron's statistics, records and their activations blob (replacing any earlier row).
    public func write(_ data: NeuronData) throws { try write(try EncodedNeuron(data)) }

    /// Writes an encoded neuron (replacing any earlier row).
    public func write(_ encoded: EncodedNeuron) throws {
        try statement(
            &insertNeuron,
            """
            INSERT OR REPLACE INTO neurons (layer, neuron, token_count, excerpt_count, sum, sum_squares, sum_cubes,
                sum_fourth_powers, mean, variance, skewness, kurtosis, min, max, positive_count, fraction_positive,
                active_excerpt_count, quantile_population, histogram_edges, histogram, quantile_boundaries,
                excerpts_below_boundaries, activations, records)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ) {
            try $0.bind(encoded.values); _ = try $0.step()
        }
    }

    /// Runs `body` with a cached prepared statement (prepared on first use).
    private func statement(
        _ cache: inout SQLiteStatement?, _ sql: String, _ body: (SQLiteStatement) throws -> Void
    ) throws {
        if cache == nil { cache = try connection.prepare(sql) }
        try body(cache!)
    }

    /// Every neuron in the database, in (layer, neuron) order.
    public func neuronIDs() throws -> [NeuronID] {
        try connection.query("SELECT layer, neuron FROM neurons ORDER BY layer, neuron") {
            NeuronID(layer: $0.int(0), neuron: $0.int(1))
        }
    }

    /// The distinct excerpts that any record comes from, in id order.
    public func recordedExcerptIDs() throws -> [Int] {
        guard schemaVersion >= 3 else {
            return try connection.query("SELECT DISTINCT excerpt_id FROM records ORDER BY 1") { $0.int(0) }
        }
        // One unit's blob at a time: all of GPT-2 XL's would be about 1 GB.
        var ids = Set<Int>()
        let units = try connection.prepare("SELECT layer, neuron, records FROM neurons")
        while try units.step() {
            let id = NeuronID(layer: units.int(0), neuron: units.int(1))
            switch PackedRecords.decode(units.blob(2)) {
            case .success(let records): ids.formUnion(records.map(\.excerptID))
            case .failure(let damage):
                throw ActivationStoreError.corrupt(
                    path: path, reason: "records of neuron \(id) (table neurons) \(damage.reason)")
            }
        }
        return ids.sorted()
    }

    /// The columns a version-1 file lacks, as they read there: not counted, and OpenAI's population.
    private var versionTwoColumns: String {
        schemaVersion >= 2 ? "active_excerpt_count, quantile_population" : "NULL, 'all'"
    }

    /// A neuron's statistics and records with their activations (float16 precision).
    public func neuron(_ id: NeuronID) throws -> NeuronData {
        let rows = try connection.query(
            """
            SELECT token_count, excerpt_count, sum, sum_squares, sum_cubes, sum_fourth_powers, min, max, positive_count,
                   histogram, quantile_boundaries, excerpts_below_boundaries, activations, histogram_edges,
                   \(versionTwoColumns), \(schemaVersion >= 3 ? "records" : "NULL")
            FROM neurons WHERE layer = ? AND neuron = ?
            """, [.int(id.layer), .int(id.neuron)]
        ) { row -> (NeuronStatistics, [UInt8], [UInt8]) in
            var s = NeuronStatistics()
            s.tokenCount = row.int(0); s.excerptCount = row.int(1)
            s.sum = row.double(2); s.sumSquares = row.double(3); s.sumCubes = row.double(4);
            s.sumFourthPowers = row.double(5)
            s.min = Float(row.double(6)); s.max = Float(row.double(7)); s.positiveCount = row.int(8)
            s.histogram = try decodeJSON([Int].self, row.string(9), what: "histogram of neuron \(id)")
            s.quantileBoundaries = try decodeJSON(
                [Double].self, row.string(10), what: "quantile_boundaries of neuron \(id)"
            ).map { Float($0) }
            s.excerptsBelowBoundaries = try decodeJSON(
                [Int].self, row.string(11), what: "excerpts_below_boundaries of neuron \(id)")
            s.histogramEdges = try decodeJSON([Double].self, row.string(13), what: "histogram_edges of neuron \(id)")
                .map { Float($0) }
            s.activeExcerptCount = row.isNull(14) ? nil : row.int(14)
            guard let population = QuantilePopulation(rawValue: row.string(15)) else {
                throw ActivationStoreError.corrupt(
                    path: path, reason: "neuron \(id) (table neurons) has an unknown quantile_population")
            }
            s.quantilePopulation = population
            return (s, row.blob(12), row.blob(16))
        }
        guard let (statistics, blob, packed) = rows.first else {
            throw ActivationStoreError.neuronNotFound(path: path, layer: id.layer, neuron: id.neuron)
        }
        try checkStatistics(statistics, of: id)
        let records = schemaVersion >= 3 ? try packedRecords(packed, of: id) : try tableRecords(of: id)
        // The writer lays the records' values end to end in offset order: anything else (a negative, overlapping
        // or far-off offset, a negative token count) is a crafted or damaged file, refused before any slicing.
        var total = 0
        var keys = Set<[Int]>()
        for (record, offset, count) in records {
            let name = "record \(record.kind.rawValue) \(record.bucket)/\(record.rank) of neuron \(id)"
            let buckets = record.kind == .quantile ? QuantileBuckets.count : 1
            guard (0..<buckets).contains(record.bucket), record.rank >= 0 else {
                throw ActivationStoreError.corrupt(path: path, reason: "\(name) has bucket or rank out of range")
            }
            guard keys.insert([Int(record.kind.code), record.bucket, record.rank]).inserted else {
                throw ActivationStoreError.corrupt(path: path, reason: "\(name) is stored twice")
            }
            guard offset == total, count >= 0, count <= Self.maximumExcerptTokens else {
                throw ActivationStoreError.corrupt(
                    path: path,
                    reason:
                        "\(name) has value_offset \(offset) and excerpt \(record.excerptID) has token_count \(count), but its values should start at \(total)"
                )
            }
            total += count
        }
        let values: [Float]
        do {
            values = try RecordCodec.decode(blob, count: total)
        } catch {
            throw ActivationStoreError.corrupt(
                path: path, reason: "activations of neuron \(id) (table neurons): \(error.localizedDescription)")
        }
        let stored = records.map { record, offset, count -> StoredRecord in
            var record = record
            record.activations = Array(values[offset..<(offset + count)])
            return record
        }
        let order = Dictionary(uniqueKeysWithValues: RecordKind.allCases.enumerated().map { ($1, $0) })
        return NeuronData(
            id: id, statistics: statistics,
            records: stored.sorted {
                (order[$0.kind]!, $0.bucket, $0.rank) < (order[$1.kind]!, $1.bucket, $1.rank)
            })
    }

    /// A version-3 unit's records blob, each record with where its values start and how many there are (its
    /// excerpt's token count).
    private func packedRecords(_ packed: [UInt8], of id: NeuronID) throws -> [(StoredRecord, Int, Int)] {
        let records: [StoredRecord]
        switch PackedRecords.decode(packed) {
        case .success(let decoded): records = decoded
        case .failure(let damage):
            throw ActivationStoreError.corrupt(
                path: path, reason: "records of neuron \(id) (table neurons) \(damage.reason)")
        }
        if excerptTokenCounts == nil {
            excerptTokenCounts = Dictionary(
                try connection.query("SELECT id, token_count FROM excerpts") { ($0.int(0), $0.int(1)) },
                uniquingKeysWith: { first, _ in first })
        }
        var offset = 0
        return try records.map { record in
            guard let count = excerptTokenCounts?[record.excerptID] else {
                throw ActivationStoreError.corrupt(
                    path: path,
                    reason:
                        "record \(record.kind.rawValue) \(record.bucket)/\(record.rank) of neuron \(id) names excerpt \(record.excerptID), which is not in table excerpts"
                )
            }
            defer { offset += count }
            return (record, offset, count)
        }
    }

    /// A version-1 or -2 unit's rows of the records table, each with its value offset and its excerpt's token count.
    private func tableRecords(of id: NeuronID) throws -> [(StoredRecord, Int, Int)] {
        // LEFT JOIN: a record whose excerpt is missing is an error, not a row that silently disappears.
        try connection.query(
            """
            SELECT r.kind, r.bucket, r.rank, r.excerpt_id, r.max_activation, r.min_activation, r.value_offset, e.token_count
            FROM records r LEFT JOIN excerpts e ON e.id = r.excerpt_id
            WHERE r.layer = ? AND r.neuron = ?
            ORDER BY r.value_offset
            """, [.int(id.layer), .int(id.neuron)]
        ) { row -> (StoredRecord, Int, Int) in
            let record = "record \(row.string(0)) \(row.int(1))/\(row.int(2)) of neuron \(id) (table records)"
            guard let kind = RecordKind(rawValue: row.string(0)) else {
                throw ActivationStoreError.corrupt(path: path, reason: "\(record) has an unknown kind")
            }
            guard !row.isNull(7) else {
                throw ActivationStoreError.corrupt(
                    path: path, reason: "\(record) names excerpt \(row.int(3)), which is not in table excerpts")
            }
            return (
                StoredRecord(
                    kind: kind, bucket: row.int(1), rank: row.int(2), excerptID: row.int(3),
                    maxActivation: Float(row.double(4)), minActivation: Float(row.double(5)), activations: []),
                row.int(6), row.int(7)
            )
        }
    }

    /// No GPT-2 has contexts longer than this; a larger token count is damage, not data.
    static let maximumExcerptTokens = 1 << 20

    /// The statistics' arrays have the lengths the readers index them by.
    private func checkStatistics(_ s: NeuronStatistics, of id: NeuronID) throws {
        let counts = [s.tokenCount, s.excerptCount, s.positiveCount, s.activeExcerptCount ?? 0]
        guard counts.allSatisfy({ $0 >= 0 }), s.quantileBoundaries.count == QuantileBuckets.count,
            s.excerptsBelowBoundaries.count == QuantileBuckets.count,
            s.histogramEdges.isEmpty ? s.histogram.isEmpty : s.histogram.count == s.histogramEdges.count + 1
        else {
            throw ActivationStoreError.corrupt(
                path: path,
                reason:
                    "the statistics of neuron \(id) (table neurons) have negative counts or arrays of the wrong length"
            )
        }
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String, what: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw ActivationStoreError.corrupt(path: path, reason: "\(what) is not valid JSON")
        }
    }

    /// Counts read back from the written neurons: neurons, records, compressed activation bytes, dead and dense
    /// units, and each quantile boundary's error (median and maximum over units of |true quantile of the estimate −
    /// its target| within the unit's quantile population; units with an empty population have no error).
    public func storedCounts() throws -> DatabaseSummary {
        var summary = DatabaseSummary()
        let recordCount =
            schemaVersion >= 3
            ? "SELECT coalesce(sum(length(records)), 0) / \(PackedRecords.entryBytes) FROM neurons"
            : "SELECT count(*) FROM records"
        summary.records = try connection.query(recordCount) { $0.int(0) }.first ?? 0
        summary.activationBytes =
            try connection.query("SELECT coalesce(sum(length(activations)), 0) FROM neurons") { $0.int(0) }.first ?? 0
        summary.bytesPerRecord = summary.records > 0 ? Double(summary.activationBytes) / Double(summary.records) : 0
        let edges = QuantileBuckets.upperEdges
        var errors = edges.map { _ in [Double]() }
        let population =
            schemaVersion >= 2
            ? "CASE quantile_population WHEN 'all' THEN excerpt_count ELSE active_excerpt_count END" : "excerpt_count"
        for (excerpts, below) in try connection.query(
            "SELECT \(population), excerpts_below_boundaries FROM neurons",
            row: { ($0.isNull(0) ? 0 : $0.int(0), $0.string(1)) })
        {
            summary.neurons += 1
            guard excerpts > 0, let counts = try? JSONDecoder().decode([Int].self, from: Data(below.utf8)),
                counts.count == edges.count
            else { continue }
            for j in edges.indices { errors[j].append(abs(Double(counts[j]) / Double(excerpts) - edges[j])) }
        }
        if !errors[0].isEmpty {
            summary.boundaryErrorMedian = errors.map { $0.sorted()[$0.count / 2] }
            summary.boundaryErrorMax = errors.map { $0.max()! }
        }
        func census(_ condition: String) throws -> UnitCensus {
            let count =
                try connection.query("SELECT count(*) FROM neurons WHERE \(condition)") { $0.int(0) }.first ?? 0
            let examples = try connection.query(
                "SELECT layer, neuron FROM neurons WHERE \(condition) ORDER BY layer, neuron LIMIT ?",
                [.int(UnitCensus.exampleCount)]
            ) { "\($0.int(0)):\($0.int(1))" }
            return UnitCensus(count: count, examples: examples)
        }
        summary.dead = try census("positive_count = 0")
        summary.dense = try census("fraction_positive > \(UnitCensus.denseFraction)")
        return summary
    }
}
