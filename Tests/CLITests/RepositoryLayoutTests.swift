import Foundation
import TestSupport
import XCTest

/// README's Layout section stays true to the tree (as Schemas/activations.sql stays true to the schema).
final class RepositoryLayoutTests: XCTestCase {
    /// The Layout code block: each entry begins with a path at the start of a line, its description runs until the next.
    func layoutEntries() throws -> [(path: String, text: String)] {
        let readme = try String(contentsOf: CLI.root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try XCTUnwrap(readme.components(separatedBy: "## Layout\n").dropFirst().first)
        let block = try XCTUnwrap(section.components(separatedBy: "```").dropFirst().first)
        var entries: [(path: String, text: String)] = []
        for line in block.split(separator: "\n") {
            if line.first == " " {
                entries[entries.count - 1].text += " " + line.trimmingCharacters(in: .whitespaces)
            } else {
                let path = String(line.split(separator: " ").first ?? "")
                entries.append((path, String(line)))
            }
        }
        return entries
    }

    func testEveryModuleAndEverySourceFileIsInTheLayout() throws {
        let entries = try layoutEntries()
        let text = entries.map(\.text).joined(separator: " ")
        let manager = FileManager.default
        for top in ["Sources", "Tests"] {
            for name in try manager.contentsOfDirectory(atPath: CLI.root.appendingPathComponent(top).path) {
                XCTAssertTrue(text.contains(name), "README's Layout does not name \(top)/\(name)")
            }
        }
        for entry in entries where entry.path.hasPrefix("Sources/") && entry.path.hasSuffix("/") {
            let directory = CLI.root.appendingPathComponent(entry.path)
            var isDirectory: ObjCBool = false
            XCTAssertTrue(
                manager.fileExists(atPath: directory.path, isDirectory: &isDirectory) && isDirectory.boolValue,
                "README's Layout names \(entry.path), which does not exist")
            let files =
                manager.enumerator(atPath: directory.path)?.compactMap { $0 as? String }.filter {
                    $0.hasSuffix(".swift")
                } ?? []
            let words = Set(entry.text.split { !($0.isLetter || $0.isNumber || $0 == "+") }.map(String.init))
            for file in files {
                let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                XCTAssertTrue(words.contains(stem), "README's Layout entry \(entry.path) does not name \(file)")
            }
        }
        for path in entries.map(\.path) where path.hasSuffix("/") || path.hasSuffix(".swift") {
            XCTAssertTrue(
                manager.fileExists(atPath: CLI.root.appendingPathComponent(path).path),
                "README's Layout names \(path), which does not exist")
        }
    }
}
