import Foundation
import TestSupport
import XCTest

@testable import GPT2

final class TokenizerTests: XCTestCase {
    struct Case: Decodable { let text: String; let ids: [Int] }
    struct Fixture: Decodable { let reference: String; let cases: [Case] }

    func testMatchesTiktokenOnEveryFixtureString() throws {
        let tokenizer = try Fixtures.tokenizer()
        let data = try Data(contentsOf: Fixtures.resources.appendingPathComponent("tokenizer-fixture.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 300)
        XCTAssertTrue(fixture.cases.contains { $0.text.utf8.count >= 20_000 })
        var mismatches = 0
        for (index, testCase) in fixture.cases.enumerated() {
            let ids = tokenizer.encode(testCase.text)
            if ids != testCase.ids {
                mismatches += 1
                if mismatches <= 5 {
                    XCTFail(
                        "case \(index) \(testCase.text.prefix(80).debugDescription): got \(ids.prefix(40)), \(fixture.reference) gives \(testCase.ids.prefix(40))"
                    )
                }
            }
            XCTAssertEqual(
                try tokenizer.decodeBytes(testCase.ids), Array(testCase.text.utf8), "decode of case \(index)")
        }
        XCTAssertEqual(mismatches, 0, "\(mismatches) of \(fixture.cases.count) strings differ from tiktoken")
    }

    func testPublishedExamples() throws {
        let tokenizer = try Fixtures.tokenizer()
        XCTAssertEqual(tokenizer.vocabularySize, 50257)
        XCTAssertEqual(tokenizer.encode("Hello world"), [15496, 995])
        XCTAssertEqual(
            tokenizer.encode("The quick brown fox jumps over the lazy dog."),
            [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13])
        XCTAssertEqual(try tokenizer.decode([50256]), "<|endoftext|>")
    }

    func testDecodingAPartialCharacterKeepsItsBytes() throws {
        let tokenizer = try Fixtures.tokenizer()
        let ids = tokenizer.encode("😀")  // four bytes, more than one token
        XCTAssertGreaterThan(ids.count, 1)
        let partial = Array(ids.dropLast())
        let bytes = try tokenizer.decodeBytes(partial)
        XCTAssertEqual(bytes, Array(Array("😀".utf8).prefix(bytes.count)))
        XCTAssertLessThan(bytes.count, 4)
        XCTAssertEqual(try tokenizer.decode(partial).unicodeScalars.last, "\u{FFFD}")
        XCTAssertEqual(try tokenizer.tokenStrings(ids).count, ids.count)
    }

    func testUnknownIDIsAnError() throws {
        let tokenizer = try Fixtures.tokenizer()
        XCTAssertThrowsMessage(try tokenizer.decode([50257]), contains: ["50257", "vocabulary"])
        XCTAssertThrowsMessage(try tokenizer.decode([-1]), contains: ["-1"])
    }

    func testMissingOrMalformedFilesNameTheFile() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        XCTAssertThrowsMessage(
            try GPT2Tokenizer(directory: directory),
            contains: ["vocab.json", "file not found", "fetch-assets"])
        try FileManager.default.copyItem(
            at: Fixtures.tokenizerDirectory.appendingPathComponent("vocab.json"),
            to: directory.appendingPathComponent("vocab.json"))
        try "#version: 0.2\nĠ t\nnot-a-token x\n".write(
            to: directory.appendingPathComponent("merges.txt"),
            atomically: true, encoding: .utf8)
        XCTAssertThrowsMessage(try GPT2Tokenizer(directory: directory), contains: ["merges.txt:3"])
        try "[1, 2]".write(to: directory.appendingPathComponent("vocab.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsMessage(try GPT2Tokenizer(directory: directory), contains: ["vocab.json", "JSON object"])
    }
}
