import CZlib
import Foundation
import SQLite
import Support
import TestSupport
import XCTest

@testable import ActivationStore

final class ActivationStoreTests: XCTestCase {
    static let root = TestSupport.repositoryRoot

    func temporaryPath(_ name: String = "test.db") throws -> String {
        try TestSupport.temporaryDirectory(self).appendingPathComponent(name).path
    }

    func testSchemaFileIsTheSchemaTheCodeCreates() throws {
        let file = try String(contentsOf: Self.root.appendingPathComponent("Schemas/activations.sql"), encoding: .utf8)
        XCTAssertEqual(
            file, ActivationSchema.sql, "regenerate with: swift run neuronbench schema > Schemas/activations.sql")
    }

    /// What `openForWriting` promises about the file: 4 KB pages, incremental auto-vacuum (read back by SQLite).
    func testANewDatabaseHasFourKilobytePagesAndIncrementalVacuum() throws {
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("a.db").path
        _ = try ActivationDatabase.openForWriting(path: path)
        let connection = try SQLiteDatabase(path: path, readOnly: true)
        XCTAssertEqual(try connection.query("PRAGMA page_size") { $0.int(0) }, [4_096])
        XCTAssertEqual(try connection.query("PRAGMA auto_vacuum") { $0.int(0) }, [2], "2 = incremental")
    }

    func testCodecRoundTripsFloat16ValuesExactly() throws {
        let values: [Float] = [0, -0.17004, 1, 3.14159, 65504, -2.5e-5, 0.1]
        let decoded = try RecordCodec.decode(try RecordCodec.encode(values), count: values.count)
        XCTAssertEqual(decoded, values.map { Float(Float16($0)) })
        XCTAssertEqual(try RecordCodec.decode(try RecordCodec.encode([]), count: 0), [])
        // Little-endian float16 inside zlib: 1.0 is 0x3C00, stored as 00 3C.
        let blob = try RecordCodec.encode([1])
        XCTAssertEqual(blob.first, 0x78)  // zlib header
    }

    /// The encoder is libdeflate, the decoder zlib: zlib's own `uncompress` (what Python's zlib.decompress calls) reads
    /// its blobs back to the exact little-endian float16 bytes; they are no larger than zlib's level 6 would make
    /// them (the reason for the switch, BENCHMARKS.md); and blobs encoded on several threads at once (one
    /// compressor per thread) equal those encoded on one.
    func testCodecWritesZlibStreamsAsSmallAsZlibsLevelSixFromAnyThread() throws {
        var generator = SplitMix64(seed: 7)
        // 200 records of 64 tokens of GELU-shaped activations: mostly small negative values, a few large ones.
        let values: [Float] = (0..<12_800).map { _ in
            let u = Float(generator.next() >> 40) / Float(1 << 24), v = Float(generator.next() >> 40) / Float(1 << 24)
            let normal = (-2 * log(max(u, 1e-7))).squareRoot() * cos(2 * .pi * v)
            return 0.5 * normal * (1 + tanh(0.797_884_6 * (normal + 0.044_715 * normal * normal * normal)))
        }
        let raw = values.flatMap { value -> [UInt8] in
            let bits = Float16(value).bitPattern
            return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        let blob = try RecordCodec.encode(values)
        var out = [UInt8](repeating: 0, count: raw.count + 16)
        var length = uLong(out.count)
        XCTAssertEqual(uncompress(&out, &length, blob, uLong(blob.count)), Z_OK)
        XCTAssertEqual(Array(out.prefix(Int(length))), raw)

        var bound = compressBound(uLong(raw.count))
        var zlibBlob = [UInt8](repeating: 0, count: Int(bound))
        XCTAssertEqual(compress2(&zlibBlob, &bound, raw, uLong(raw.count), 6), Z_OK)
        XCTAssertLessThanOrEqual(blob.count, Int(bound), "libdeflate level 1 against zlib level 6")

        let chunks = (0..<8).map { Array(values[($0 * 1_600)..<(($0 + 1) * 1_600)]) }
        let serial = try chunks.map { try RecordCodec.encode($0) }
        let results = EncodedBlobs(count: chunks.count)
        DispatchQueue.concurrentPerform(iterations: chunks.count) { index in
            results.set(index, try? RecordCodec.encode(chunks[index]))
        }
        XCTAssertEqual(results.all, serial)
    }

    /// Blobs written by concurrent encoders, each into its own place.
    private final class EncodedBlobs: @unchecked Sendable {
        private let lock = NSLock()
        private var blobs: [[UInt8]?]
        init(count: Int) { blobs = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ blob: [UInt8]?) { lock.withLock { blobs[index] = blob } }
        var all: [[UInt8]] { lock.withLock { blobs.map { $0 ?? [] } } }
    }

    func testCodecRejectsCorruptOrMisSizedBlobs() throws {
        let blob = try RecordCodec.encode([1, 2, 3])
        XCTAssertThrowsError(try RecordCodec.decode(blob, count: 4))
        XCTAssertThrowsError(try RecordCodec.decode(blob, count: 2))
        XCTAssertThrowsError(try RecordCodec.decode([1, 2, 3, 4], count: 3))
    }

    func testMomentsMatchScipy() {
        // numpy/scipy: mean, var (ddof 0), stats.skew, stats.kurtosis (Fisher, biased) of each sample.
        let cases: [([Double], Double, Double, Double, Double)] = [
            ([1, 2, 3, 4, 10], 4.0, 10.0, 1.1384199576606167, -0.21199999999999974),
            (
                [-0.17, 0, 0.5, 2.25, 0.125, -0.05], 0.44250000000000006, 0.6974479166666666, 1.555895760109746,
                0.7421158424917902
            ),
        ]
        for (sample, mean, variance, skewness, kurtosis) in cases {
            var s = NeuronStatistics()
            s.tokenCount = sample.count
            s.sum = sample.reduce(0, +)
            s.sumSquares = sample.map { $0 * $0 }.reduce(0, +)
            s.sumCubes = sample.map { $0 * $0 * $0 }.reduce(0, +)
            s.sumFourthPowers = sample.map { $0 * $0 * $0 * $0 }.reduce(0, +)
            XCTAssertEqual(s.mean, mean, accuracy: 1e-12)
            XCTAssertEqual(s.variance, variance, accuracy: 1e-12)
            XCTAssertEqual(s.skewness, skewness, accuracy: 1e-9)
            XCTAssertEqual(s.kurtosis, kurtosis, accuracy: 1e-9)
        }
        var constant = NeuronStatistics()
        constant.tokenCount = 3; constant.sum = 6; constant.sumSquares = 12; constant.sumCubes = 24;
        constant.sumFourthPowers = 48
        XCTAssertTrue(constant.skewness.isNaN)
        XCTAssertTrue(constant.kurtosis.isNaN)
    }

    func sampleNeuron() -> NeuronData {
        var s = NeuronStatistics()
        s.tokenCount = 10; s.excerptCount = 2; s.sum = 3; s.sumSquares = 5; s.sumCubes = 7; s.sumFourthPowers = 11
        s.min = -0.17; s.max = 2.5; s.positiveCount = 6; s.histogramEdges = [0, 1, 2]; s.histogram = [1, 2, 3, 4]
        s.quantileBoundaries = [0.5, 1, 1.5, 2]; s.excerptsBelowBoundaries = [1, 1, 2, 2]
        return NeuronData(
            id: NeuronID(layer: 1, neuron: 7), statistics: s,
            records: [
                StoredRecord(
                    kind: .top, bucket: 0, rank: 0, excerptID: 1, maxActivation: 2.5, minActivation: 0,
                    activations: [0, 2.5, 1]),
                StoredRecord(
                    kind: .random, bucket: 0, rank: 0, excerptID: 0, maxActivation: 1, minActivation: -0.17,
                    activations: [1, -0.169921875]),
                StoredRecord(
                    kind: .quantile, bucket: 2, rank: 0, excerptID: 0, maxActivation: 1, minActivation: -0.17,
                    activations: [1, -0.169921875]),
                StoredRecord(
                    kind: .bottom, bucket: 0, rank: 0, excerptID: 0, maxActivation: 1, minActivation: -0.17,
                    activations: [1, -0.169921875]),
            ])
    }

    func writeSampleDatabase(_ path: String, complete: Bool) throws {
        let database = try ActivationDatabase.openForWriting(path: path)
        try database.transaction {
            try database.writeVocabulary([Array("a".utf8), Array(" b".utf8), [0xE2]])
            try database.insert(
                DocumentRow(
                    id: 0, source: "doc.txt", line: nil, byteCount: 5, tokenCount: 5, invalidUTF8Replaced: 0,
                    nulRemoved: 0))
            try database.insert(ExcerptRow(id: 0, documentID: 0, startToken: 0, tokenIDs: [0, 1]))
            try database.insert(ExcerptRow(id: 1, documentID: 0, startToken: 2, tokenIDs: [1, 0, 2]))
            try database.write(sampleNeuron())
            if complete { try database.markComplete() }
        }
    }

    func testNeuronRoundTrip() throws {
        let path = try temporaryPath()
        try writeSampleDatabase(path, complete: true)
        let database = try ActivationDatabase.openForReading(path: path)
        XCTAssertEqual(try database.neuron(NeuronID(layer: 1, neuron: 7)), sampleNeuron())
        XCTAssertEqual(try database.neuronIDs(), [NeuronID(layer: 1, neuron: 7)])
        XCTAssertEqual(try database.excerpt(1)?.tokenIDs, [1, 0, 2])
        XCTAssertEqual(try database.tokenStrings(), ["a", " b", "\u{FFFD}"])
        XCTAssertThrowsMessage(try database.neuron(NeuronID(layer: 0, neuron: 0)), contains: ["no neuron 0:0"])
    }

    /// Schema version 3 packs a unit's records into its row, 16 little-endian bytes each, in the order of their values
    /// (Schemas/activations.md); the bytes here are written out by hand from that table.
    func testRecordsArePackedAsTheSchemaSays() throws {
        let path = try temporaryPath()
        try writeSampleDatabase(path, complete: true)
        let packed = try SQLiteDatabase(path: path, readOnly: true).query(
            "SELECT records FROM neurons WHERE layer = 1 AND neuron = 7"
        ) { $0.blob(0) }
        // kind, bucket, rank (2), excerpt id (4), max (float32 bits), min: 2.5 = 0x40200000, 1 = 0x3F800000,
        // -0.17 = 0xBE2E147B (Float(-0.17).bitPattern).
        let minimum: [UInt8] = [0x7B, 0x14, 0x2E, 0xBE]
        let expected: [[UInt8]] = [
            [0, 0, 0, 0, 1, 0, 0, 0, 0x00, 0x00, 0x20, 0x40, 0, 0, 0, 0],
            [1, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x80, 0x3F] + minimum,
            [2, 2, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x80, 0x3F] + minimum,
            [3, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x80, 0x3F] + minimum,
        ]
        XCTAssertEqual(packed, [expected.flatMap { $0 }])
        XCTAssertEqual(Float(-0.17).bitPattern, 0xBE2E_147B)
        XCTAssertEqual(try ActivationDatabase.openForReading(path: path).storedCounts().records, 4)

        let big = StoredRecord(
            kind: .top, bucket: 0, rank: 65_536, excerptID: 0, maxActivation: 0, minActivation: 0, activations: [])
        XCTAssertThrowsMessage(
            try PackedRecords.encode([big], unit: NeuronID(layer: 0, neuron: 1)), contains: ["0/65536", "unit 0:1"])
    }

    func testReadersRefuseAnIncompleteDatabase() throws {
        let path = try temporaryPath()
        try writeSampleDatabase(path, complete: false)
        XCTAssertThrowsMessage(
            try ActivationDatabase.openForReading(path: path), contains: [path, "has not finished", "status: running"])
        XCTAssertNoThrow(try ActivationDatabase.openForReading(path: path, allowIncomplete: true))
    }

    func testNotADatabaseAndMissingFile() throws {
        let path = try temporaryPath()
        XCTAssertThrowsMessage(try ActivationDatabase.openForReading(path: path), contains: [path, "file not found"])
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsMessage(
            try ActivationDatabase.openForReading(path: path),
            contains: [path, "not a neuronbench activation database"])
        let other = try temporaryPath("other.db")
        try SQLiteDatabase(path: other).execute("CREATE TABLE t (x)")
        XCTAssertThrowsMessage(try ActivationDatabase.openForReading(path: other), contains: ["no metadata table"])
    }

    func testCorruptActivationBlobIsReported() throws {
        let path = try temporaryPath()
        try writeSampleDatabase(path, complete: true)
        try SQLiteDatabase(path: path).execute("UPDATE neurons SET activations = x'0102030405'")
        let database = try ActivationDatabase.openForReading(path: path)
        XCTAssertThrowsMessage(
            try database.neuron(NeuronID(layer: 1, neuron: 7)), contains: [path, "corrupt", "neuron 1:7"])
    }

    func testTransactionRollsBackOnError() throws {
        let database = try SQLiteDatabase(path: try temporaryPath())
        try database.execute("CREATE TABLE t (x INTEGER)")
        struct Failure: Error {}
        XCTAssertThrowsError(
            try database.transaction {
                try database.run("INSERT INTO t VALUES (1)")
                throw Failure()
            })
        XCTAssertEqual(try database.query("SELECT count(*) FROM t") { $0.int(0) }, [0])
        XCTAssertThrowsMessage(try database.execute("SELEC nonsense"), contains: ["SQLite error", "SELEC nonsense"])
    }

    func testNeuronIDParsing() {
        XCTAssertEqual(NeuronID("3:1024"), NeuronID(layer: 3, neuron: 1024))
        XCTAssertNil(NeuronID("3"))
        XCTAssertNil(NeuronID("a:b"))
        XCTAssertNil(NeuronID("-1:2"))
    }
}
