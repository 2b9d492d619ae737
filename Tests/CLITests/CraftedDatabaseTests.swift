import Foundation
import TestSupport
import XCTest

/// Databases travel (Slurm arrays, shared volumes, downloads), so a damaged or crafted one must never corrupt
/// memory: every offset, count and length the readers use is checked, and each failure is one line naming the
/// file and the table. Each case edits a copy of a good database with Python's sqlite3, then runs inspect,
/// evaluate and report on it.
final class CraftedDatabaseTests: XCTestCase {
    private typealias Small = PrecomputeCLITests

    /// Neuron 0:0's packed records (schema version 3: 16 bytes per record; the first is its top record), rewritten.
    private static func records(_ expression: String) -> String {
        "UPDATE neurons SET records = \(expression) WHERE layer = 0 AND neuron = 0"
    }

    /// (what is crafted, the SQL, a fragment of the message). Excerpt damage goes into every excerpt, so that neuron
    /// 0:0's first record meets it.
    private static let cases: [(name: String, sql: String, message: String)] = [
        ("negative excerpt token_count", "UPDATE excerpts SET token_count = -7", "token_count -7"),
        ("huge excerpt token_count", "UPDATE excerpts SET token_count = 1000000000", "token_count"),
        ("records cut inside a record", records("substr(records, 1, 20)"), "not a whole number of 16-byte records"),
        ("records of an unknown kind", records("X'09' || substr(records, 2)"), "record 0 of unknown kind 9"),
        (
            "missing excerpt", records("substr(records, 1, 4) || X'3F420F00' || substr(records, 9)"),
            "not in table excerpts"
        ),
        (
            "bucket out of range", records("substr(records, 1, 1) || X'09' || substr(records, 3)"),
            "bucket or rank out of range"
        ),
        (
            "a record stored twice", records("substr(records, 1, 16) || substr(records, 1, 16) || substr(records, 33)"),
            "is stored twice"
        ),
        ("records missing", records("X''"), "activations of neuron 0:0"),
        (
            "truncated token ids", "UPDATE excerpts SET token_ids = substr(token_ids, 1, 10)",
            "bytes"
        ),
        (
            "token id past the vocabulary",
            "UPDATE excerpts SET token_ids = X'FFFFFF00' || substr(token_ids, 5)",
            "token id 16777215"
        ),
        (
            "garbage activations blob", "UPDATE neurons SET activations = X'0011223344' WHERE layer = 0 AND neuron = 0",
            "activations of neuron 0:0"
        ),
        (
            "empty activations blob", "UPDATE neurons SET activations = X'' WHERE layer = 0 AND neuron = 0",
            "activations of neuron 0:0"
        ),
        (
            "histogram of the wrong length", "UPDATE neurons SET histogram = '[1,2]' WHERE layer = 0 AND neuron = 0",
            "arrays of the wrong length"
        ),
        (
            "quantile boundaries missing",
            "UPDATE neurons SET quantile_boundaries = '[]' WHERE layer = 0 AND neuron = 0",
            "arrays of the wrong length"
        ),
        (
            "histogram not JSON", "UPDATE neurons SET histogram = '[1,2' WHERE layer = 0 AND neuron = 0",
            "not valid JSON"
        ),
        (
            "vocabulary ids with a gap", "UPDATE vocabulary SET id = id + 100000 WHERE id = 5",
            "vocabulary ids are not consecutive"
        ),
    ]

    func testEveryReaderRefusesEveryCraftedOffsetAndCountWithOneLine() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let good = directory.appendingPathComponent("good.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(good)).status, 0)
        let run = directory.appendingPathComponent("run").path
        let evaluated = try runCLI([
            "evaluate", "--db", good, "--neurons", "0:0-3", "--explainer", "token-list", "--simulator", "keyword",
            "--out", run,
        ])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)

        for (index, crafted) in Self.cases.enumerated() {
            let database = directory.appendingPathComponent("crafted-\(index).db").path
            try FileManager.default.copyItem(atPath: good, toPath: database)
            try sqlite(database, crafted.sql)
            let commands: [(String, [String])] = [
                ("inspect", ["inspect", "--db", database, "--neuron", "0:0"]),
                (
                    "evaluate",
                    [
                        "evaluate", "--db", database, "--neurons", "0:0", "--explainer", "token-list", "--simulator",
                        "keyword", "--out", directory.appendingPathComponent("out-\(index)").path,
                    ]
                ),
                (
                    "report",
                    [
                        "report", run, "--db", database, "--out",
                        directory.appendingPathComponent("r-\(index).html").path,
                    ]
                ),
            ]
            for (command, arguments) in commands {
                let result = try runCLI(arguments)
                let context = "\(crafted.name), \(command): status \(result.status): \(result.stderr)"
                XCTAssertEqual(result.status, 1, context)
                XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, context)
                XCTAssertTrue(result.stderr.contains("\(database): corrupt database: "), context)
                XCTAssertTrue(result.stderr.contains(crafted.message), context)
            }
        }
    }

    /// An SQLite failure inside a multi-line statement is still one line (the statement's whitespace collapsed).
    func testAnSQLiteErrorInAMultiLineStatementIsOneLine() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("d.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(database)).status, 0)
        try sqlite(database, "ALTER TABLE neurons DROP COLUMN records")
        let result = try runCLI(["inspect", "--db", database, "--neuron", "0:0"])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(database): SQLite error 1: no such column: records"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    /// Schema versions 1 and 2 keep each record as a row of a records table: a crafted row of a version-2 file
    /// (`schema-v2.db`) is refused as before version 3, one line naming the file.
    func testCraftedRecordRowsOfAVersionTwoFileAreRefused() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let fixture = CLI.root.appendingPathComponent("Tests/PrecomputeTests/Resources/schema-v2.db").path
        let top = "layer = 0 AND neuron = 0 AND kind = 'top' AND rank = 0"
        let cases = [
            ("negative value_offset", "UPDATE records SET value_offset = -100000 WHERE \(top)", "value_offset"),
            ("far value_offset", "UPDATE records SET value_offset = 100000 WHERE \(top)", "value_offset"),
            (
                "overlapping value_offset",
                "UPDATE records SET value_offset = 1 WHERE layer = 0 AND neuron = 0 AND kind = 'top' AND rank = 1",
                "value_offset"
            ),
            ("missing excerpt", "UPDATE records SET excerpt_id = 999999 WHERE \(top)", "not in table excerpts"),
            (
                "unknown kind", "PRAGMA ignore_check_constraints = ON; UPDATE records SET kind = 'best' WHERE \(top)",
                "has an unknown kind"
            ),
            (
                "quantile bucket out of range",
                "UPDATE records SET bucket = 9 WHERE layer = 0 AND neuron = 0 AND kind = 'quantile' AND bucket = 0",
                "bucket or rank"
            ),
        ]
        let untouched = try runCLI(["inspect", "--db", fixture, "--neuron", "0:0"])
        XCTAssertEqual(untouched.status, 0, untouched.stderr)
        for (index, (name, sql, message)) in cases.enumerated() {
            let database = directory.appendingPathComponent("v2-\(index).db").path
            try FileManager.default.copyItem(atPath: fixture, toPath: database)
            try sqlite(database, sql)
            let result = try runCLI(["inspect", "--db", database, "--neuron", "0:0"])
            let context = "\(name): status \(result.status): \(result.stderr)"
            XCTAssertEqual(result.status, 1, context)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, context)
            XCTAssertTrue(result.stderr.contains("\(database): corrupt database: "), context)
            XCTAssertTrue(result.stderr.contains(message), context)
        }
    }

    /// A crafted resume state (pilot estimates, sampler slots and lengths) is refused by the resuming precompute
    /// before the samplers index with it.
    func testACraftedResumeStateIsRefusedBeforeUse() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let crafts: [(name: String, script: String)] = [
            ("pilot histogram range NaN", Self.pilotNaN),
            ("top slot out of range", Self.samplerField(field: "slots", value: 1_000_000)),
            ("top length past the excerpt", Self.samplerField(field: "lengths", value: 1_000_000)),
        ]
        for (index, craft) in crafts.enumerated() {
            let database = directory.appendingPathComponent("resume-\(index).db").path
            let arguments = Small.precomputeArguments(database)
            let killed = try runCLI(arguments, environment: ["NEURONBENCH_KILL_AFTER_COMMIT": "4"])
            XCTAssertEqual(killed.status, SIGKILL, killed.stderr)
            try python(craft.script, database)
            let resumed = try runCLI(arguments)
            let context = "\(craft.name): status \(resumed.status): \(resumed.stderr)"
            XCTAssertEqual(resumed.status, 1, context)
            XCTAssertTrue(resumed.stderr.contains("\(database)"), context)
            XCTAssertTrue(resumed.stderr.contains("resume state"), context)
            XCTAssertEqual(resumed.stderr.split(separator: "\n").count, 1, context)
        }
    }

    /// Layer 0's pilot: every histogram low becomes NaN (arrays: u64 count, then the values; the pilot's excerpt
    /// count, then per layer boundaries, lows, highs, population flags).
    private static let pilotNaN = """
        import sqlite3, struct, sys
        c = sqlite3.connect(sys.argv[1])
        blob = bytearray(c.execute("SELECT value FROM progress WHERE key = 'pilot'").fetchone()[0])
        (n,) = struct.unpack_from('<Q', blob, 16)
        at = 16 + 8 + 4 * n
        (lows,) = struct.unpack_from('<Q', blob, at)
        for i in range(lows):
            struct.pack_into('<f', blob, at + 8 + 4 * i, float('nan'))
        c.execute("UPDATE progress SET value = ? WHERE key = 'pilot'", (bytes(blob),))
        c.commit()
        """

    /// Layer 0's first sampler part: the first entry of the top selection's `field` set to `value`. The part is
    /// NeuronRangeSampler.serialize's arrays (u64 count, then values): tokenCount, excerptCount, sums, minimum,
    /// maximum, positive, activeExcerpts, histogram, below, then the top BestKSelection's count, worstKey, worstID, keys,
    /// excerptIDs, maxima, minima, lengths, slots, activations.
    private static func samplerField(field: String, value: Int) -> String {
        """
        import sqlite3, struct, sys
        c = sqlite3.connect(sys.argv[1])
        blob = bytearray(c.execute("SELECT value FROM progress WHERE key = 'state.0'").fetchone()[0])
        at = 8 + 8 + 8  # the part's length (an array of one Int64), then the part's byte array's count
        names = ['tokenCount', 'excerptCount', 'sums', 'minimum', 'maximum', 'positive', 'activeExcerpts',
                 'histogram', 'below', 'count', 'worstKey', 'worstID', 'keys', 'excerptIDs', 'maxima', 'minima',
                 'lengths', 'slots']
        strides = [8, 8, 8, 4, 4, 8, 8, 8, 8, 4, 8, 4, 8, 4, 4, 4, 4, 4]
        for name, stride in zip(names, strides):
            (n,) = struct.unpack_from('<Q', blob, at)
            if name == '\(field)':
                struct.pack_into('<i', blob, at + 8, \(value))
                break
            at += 8 + stride * n
        else:
            sys.exit('field not found')
        c.execute("UPDATE progress SET value = ? WHERE key = 'state.0'", (bytes(blob),))
        c.commit()
        """
    }
}
