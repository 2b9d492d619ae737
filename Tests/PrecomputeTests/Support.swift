import ActivationStore
import Foundation
import GPT2
import SQLite
import TestSupport
import XCTest

enum Paths {
    static let root = TestSupport.repositoryRoot
    /// The fixture checkpoint with GPT-2's real vocabulary (2 layers × 32 neurons, 64 positions).
    static let model = root.appendingPathComponent("Tests/GPT2Tests/Resources/checkpoints/f16-prefixed")
    static let tokenizer = root.appendingPathComponent("Models/gpt2-tokenizer")
    static let testCorpus = root.appendingPathComponent("Corpora/test-corpus").path
}

/// Database comparisons shared by the precompute tests.
extension XCTestCase {
    /// Every excerpt's activations straight from the model, one sequence at a time: [excerpt][layer] -> [T][N].
    /// The sequence is the excerpt's document from its context start (`contextTokens` blocks) to its last token,
    /// rebuilt from the stored excerpts.
    func directActivations(
        _ database: ActivationDatabase, contextTokens: Int? = nil,
        precision: MatrixPrecision = .float32, blas: BLASLibrary = .openBLAS
    ) throws -> [[[[Float]]]] {
        let model = try GPT2Model(directory: Paths.model, precision: precision, blas: blas)
        let n = model.config.neuronCount
        let excerpts = try database.excerpts()
        return try excerpts.map { excerpt in
            let blockStart = contextTokens.map { excerpt.startToken - excerpt.startToken % $0 } ?? excerpt.startToken
            let prefix = excerpts.filter {
                $0.documentID == excerpt.documentID && $0.startToken >= blockStart && $0.startToken < excerpt.startToken
            }
            .sorted { $0.startToken < $1.startToken }.flatMap(\.tokenIDs)
            XCTAssertEqual(
                prefix.count, excerpt.startToken - blockStart, "the context before excerpt \(excerpt.id) is stored")
            let layers = try model.mlpActivations(prefix + excerpt.tokenIDs)
            return (0..<model.config.layerCount).map { layer in
                (prefix.count..<(prefix.count + excerpt.tokenIDs.count)).map { t in
                    Array(layers[layer]![(t * n)..<((t + 1) * n)])
                }
            }
        }
    }

    func metadataText(_ path: String, _ key: String) throws -> String {
        try XCTUnwrap(
            try SQLiteDatabase(path: path, readOnly: true).query(
                "SELECT value FROM metadata WHERE key = ?", [.text(key)]
            ) { $0.string(0) }.first)
    }

    func dump(_ path: String, _ table: String) throws -> [String] {
        let database = try SQLiteDatabase(path: path, readOnly: true)
        let columns = try database.query("SELECT name FROM pragma_table_info(?)", [.text(table)]) { $0.string(0) }
        let row = columns.map { "quote(\"\($0)\")" }.joined(separator: " || ',' || ")
        return try database.query("SELECT \(row) FROM \(table) ORDER BY 1") { $0.string(0) }
    }

    /// Every unit's packed records (which excerpts, of which kind, bucket and rank, their maxima and minima), in
    /// unit order.
    func recordsDump(_ path: String) throws -> [String] {
        try SQLiteDatabase(path: path, readOnly: true).query(
            "SELECT layer || ':' || neuron || ' ' || hex(records) FROM neurons ORDER BY layer, neuron"
        ) { $0.string(0) }
    }

    func assertSameNeurons(
        _ a: String, _ b: String, exactStatistics: Bool, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let first = try ActivationDatabase.openForReading(path: a),
            second = try ActivationDatabase.openForReading(path: b)
        XCTAssertEqual(try first.neuronIDs(), try second.neuronIDs(), file: file, line: line)
        for id in try first.neuronIDs() {
            let x = try first.neuron(id), y = try second.neuron(id)
            XCTAssertEqual(x.records, y.records, "\(id)", file: file, line: line)
            if exactStatistics {
                XCTAssertEqual(x.statistics, y.statistics, "\(id)", file: file, line: line)
            } else {
                var s = x.statistics, t = y.statistics
                for (u, v) in [
                    (s.sum, t.sum), (s.sumSquares, t.sumSquares), (s.sumCubes, t.sumCubes),
                    (s.sumFourthPowers, t.sumFourthPowers),
                ] {
                    XCTAssertEqual(u, v, accuracy: 1e-9 * max(1, abs(u)), "\(id)", file: file, line: line)
                }
                s.sum = 0; s.sumSquares = 0; s.sumCubes = 0; s.sumFourthPowers = 0
                t.sum = 0; t.sumSquares = 0; t.sumCubes = 0; t.sumFourthPowers = 0
                XCTAssertEqual(s, t, "counts, extremes, histogram and boundaries of \(id)", file: file, line: line)
            }
        }
    }
}
