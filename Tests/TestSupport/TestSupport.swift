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
public func XCTAssertThrowsMessage<T>(
    _ body: @autoclosure () throws -> T, contains fragments: [String],
    file: StaticString = #filePath, line: UInt = #line
) {
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

/// Scripts/fake-openai-server.py on an ephemeral loopback port. It exits when `stop()` kills it or, whatever
/// happens, when the test process ends (its standard input closes), so it can never outlive the tests.
public final class FakeOpenAIServerProcess {
    public let port: Int
    private let process = Process()
    private let input = Pipe()

    public init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", TestSupport.repositoryRoot.appendingPathComponent("Scripts/fake-openai-server.py").path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        // The first line is "PORT n".
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line += byte
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).replacingOccurrences(of: "PORT ", with: "")) else {
            throw NSError(
                domain: "FakeOpenAIServer", code: 1,
                userInfo: [
                    NSLocalizedDescriptionKey: "the fake server did not start: \(String(decoding: line, as: UTF8.self))"
                ])
        }
        self.port = port
    }

    /// SIGKILL directly: Foundation's terminate() and waitUntilExit() can do nothing or hang in an async test.
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        try? input.fileHandleForWriting.close()
    }
}
