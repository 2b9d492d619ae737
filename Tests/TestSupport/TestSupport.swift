import Foundation
import XCTest

/// Helpers shared by every test target.
public enum TestSupport {
    /// The repository's root, found from this file's location: tests read committed fixtures in place.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A fresh temporary directory, removed when the test ends.
    public static func temporaryDirectory(_ testCase: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("neuronbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// Asserts that `body` throws an error whose message contains every one of `fragments`.
public func XCTAssertThrowsMessage<T>(_ body: @autoclosure () throws -> T, contains fragments: [String],
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
