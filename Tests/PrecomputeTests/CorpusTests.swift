import ActivationStore
import CZlib
import Foundation
import TestSupport
import XCTest

@testable import Precompute

final class CorpusTests: XCTestCase {
    func documents(_ path: String) throws -> ([CorpusDocument], CorpusIssues, String) {
        var documents: [CorpusDocument] = []
        let (sha, issues) = try Corpus(path: path).forEachDocument {
            documents.append($0); return true
        }
        return (documents, issues, sha)
    }

    func testDirectoryOfTextFiles() throws {
        let (docs, issues, sha) = try documents(Paths.testCorpus)
        XCTAssertEqual(docs.count, 16)  // 17 files, one empty
        XCTAssertEqual(docs.first?.source, "code.txt")  // byte-wise sorted paths
        XCTAssertEqual(issues.emptyDocuments, 1)
        XCTAssertEqual(issues.nulBytesRemoved, 1)
        XCTAssertEqual(issues.invalidUTF8Replaced, 3)  // \xe9 (truncated sequence), \xff, \xfe
        let invalid = try XCTUnwrap(docs.first { $0.source == "invalid-utf8.txt" })
        XCTAssertTrue(invalid.text.hasPrefix("Caf\u{FFFD} au lait costs \u{FFFD}\u{FFFD} 3 dollars."))
        XCTAssertEqual(invalid.invalidUTF8Replaced, 3)
        XCTAssertNil(invalid.line)
        XCTAssertEqual(sha.count, 64)
        XCTAssertEqual(try documents(Paths.testCorpus).2, sha)  // stable
    }

    func testJSONLinesWithBadLines() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let path = directory.appendingPathComponent("corpus.jsonl").path
        let lines = [
            #"{"text": "first document"}"#, "not json", #"{"title": "no text"}"#, "", #"{"text": ""}"#,
            #"{"text": "last\u0000 one", "id": 5}"#,
        ]
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let (docs, issues, _) = try documents(path)
        XCTAssertEqual(docs.map(\.text), ["first document", "last one"])
        XCTAssertEqual(docs.map(\.line), [1, 6])
        XCTAssertEqual(docs.map(\.source), ["corpus.jsonl", "corpus.jsonl"])
        XCTAssertEqual(issues.malformedJSONLines, 1)
        XCTAssertEqual(issues.linesWithoutText, 1)
        XCTAssertEqual(issues.emptyDocuments, 1)
        XCTAssertEqual(issues.nulBytesRemoved, 1)
        XCTAssertEqual(
            issues.examples, ["corpus.jsonl:2: not a JSON object", "corpus.jsonl:3: no string field \"text\""])
    }

    func testGzipJSONLinesAndTruncatedGzip() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let path = directory.appendingPathComponent("corpus.jsonl.gz").path
        let text = (0..<1000).map { #"{"text": "document \#($0)"}"# }.joined(separator: "\n") + "\n"
        let file = try XCTUnwrap(gzopen(path, "wb"))
        XCTAssertEqual(Int(gzwrite(file, text, UInt32(text.utf8.count))), text.utf8.count)
        gzclose(file)
        let (docs, _, _) = try documents(path)
        XCTAssertEqual(docs.count, 1000)
        XCTAssertEqual(docs.last?.text, "document 999")
        XCTAssertEqual(docs.last?.line, 1000)

        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsMessage(try documents(path), contains: [path])
    }

    func testFiftyMegabyteSingleLineDocument() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let path = directory.appendingPathComponent("big.jsonl").path
        let body = String(repeating: "all work and no play ", count: 50_000_000 / 21)
        try (#"{"text": ""# + body + #""}"# + "\n" + #"{"text": "after"}"#).write(
            toFile: path, atomically: false, encoding: .utf8)
        let (docs, _, _) = try documents(path)
        XCTAssertEqual(docs.count, 2)
        XCTAssertEqual(docs[0].text.utf8.count, body.utf8.count)
        XCTAssertEqual(docs[1].text, "after")
        XCTAssertEqual(docs[1].line, 2)
    }

    func testUnsupportedAndMissingCorpora() throws {
        XCTAssertThrowsMessage(
            try Corpus(path: "/no/such/corpus"), contains: ["/no/such/corpus", "not found", "fetch-corpus"])
        let directory = try TestSupport.temporaryDirectory(self)
        XCTAssertThrowsMessage(try Corpus(path: directory.path), contains: ["no .txt files"])
        let csv = directory.appendingPathComponent("data.csv").path
        try "a,b".write(toFile: csv, atomically: true, encoding: .utf8)
        XCTAssertThrowsMessage(try Corpus(path: csv), contains: ["unknown file type", ".jsonl"])
    }
}
