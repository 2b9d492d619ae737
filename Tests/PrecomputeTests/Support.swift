import Foundation
import XCTest

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The fixture checkpoint with GPT-2's real vocabulary (2 layers × 32 neurons, 64 positions).
    static let model = root.appendingPathComponent("Tests/GPT2Tests/Resources/checkpoints/f16-prefixed")
    static let tokenizer = root.appendingPathComponent("Models/gpt2-tokenizer")
    static let testCorpus = root.appendingPathComponent("Corpora/test-corpus").path

    static func temporaryDirectory(_ testCase: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nb-precompute-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

func XCTAssertThrowsErrorMessage<T>(_ body: @autoclosure () throws -> T, contains fragments: [String],
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
