import Foundation
import TestSupport
import XCTest

@testable import Support

/// SHA-256 (OpenSSL's libcrypto) against FIPS 180-2's test vectors and coreutils' `sha256sum`.
final class SHA256HexTests: XCTestCase {
    func testFIPSVectorsInOneUpdateAndInPieces() {
        XCTAssertEqual(
            SHA256Hex.digest(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256Hex.digest(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        var pieces = SHA256Hex()
        for piece in long.split(separator: "m", omittingEmptySubsequences: false).enumerated() {
            pieces.update(Data(((piece.offset == 0 ? "" : "m") + piece.element).utf8))
        }
        let digest = pieces.finalize()
        XCTAssertEqual(digest, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // A value of several regions (DispatchData) is hashed region by region, in order.
        var data = DispatchData.empty
        for part in ["abcdbcdecdefdefgefghfghigh", "ijhijkijkljklmklmnlmnomnopnopq"] {
            part.utf8CString.dropLast().withUnsafeBytes { data.append(DispatchData(bytes: $0)) }
        }
        XCTAssertGreaterThan(data.regions.count, 1)
        XCTAssertEqual(SHA256Hex.digest(data), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testFilesLargerThanOneChunkEqualSha256sum() throws {
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("blob").path
        var generator = SplitMix64(seed: 7)
        let bytes = (0..<((1 << 22) * 2 + 12_345)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(try SHA256Hex.digest(ofFile: path), String(printed.prefix(64)))
        XCTAssertThrowsError(try SHA256Hex.digest(ofFile: "/dev/zero"))
    }
}
