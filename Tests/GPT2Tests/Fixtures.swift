import Foundation
import TestSupport
import XCTest

@testable import GPT2

/// Paths to the committed fixtures and fetched assets, found from this file's location so that tests need no
/// resource bundle and see exactly the files in the repository.
enum Fixtures {
    static let repositoryRoot = TestSupport.repositoryRoot
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

    /// oneMKL where the tests are told where it is (`make test` installs it and sets NEURONBENCH_MKL: a failure to
    /// load it then fails the test); elsewhere skipped unless the loader finds it.
    static func requireMKL() throws {
        if ProcessInfo.processInfo.environment["NEURONBENCH_MKL"] != nil { return try BLASLibrary.mkl.check() }
        do { try BLASLibrary.mkl.check() } catch { throw XCTSkip("oneMKL is not installed here: \(error)") }
    }
}
