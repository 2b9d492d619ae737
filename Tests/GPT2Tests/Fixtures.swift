import Foundation
import XCTest
@testable import GPT2

/// Paths to the committed fixtures and fetched assets, found from this file's location so that tests need no
/// resource bundle and see exactly the files in the repository.
enum Fixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let resources = repositoryRoot.appendingPathComponent("Tests/GPT2Tests/Resources")
    static let tokenizerDirectory = repositoryRoot.appendingPathComponent("Models/gpt2-tokenizer")

    static func checkpoint(_ name: String) -> URL { resources.appendingPathComponent("checkpoints/\(name)") }

    /// GPT-2's tokenizer; fails the test with a hint when Scripts/fetch-assets has not been run.
    static func tokenizer() throws -> GPT2Tokenizer {
        do {
            return try GPT2Tokenizer(directory: tokenizerDirectory)
        } catch {
            XCTFail("\(error.localizedDescription) (run `make test`, which fetches them)")
            throw error
        }
    }

    /// A fresh temporary directory, removed when the test ends.
    static func temporaryDirectory(_ testCase: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("neuronbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// Asserts that `body` throws an error whose message contains every one of `fragments`.
func XCTAssertThrowsMessage<T>(_ body: @autoclosure () throws -> T, contains fragments: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch {
        let message = error.localizedDescription
        for fragment in fragments where !message.contains(fragment) {
            XCTFail("error message \"\(message)\" does not contain \"\(fragment)\"", file: file, line: line)
        }
    }
}
