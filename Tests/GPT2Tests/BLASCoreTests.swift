import Foundation
import XCTest

@testable import GPT2

/// OpenBLAS's kernel choice: a fallback to SSE-only kernels on a CPU with AVX2 or AVX-512 is replaced, the user's
/// OPENBLAS_CORETYPE is honoured, and the replacement computes what the naive reference does.
final class BLASCoreTests: XCTestCase {
    func testCoreTypeFollowsTheCPUFlags() {
        let avx512 = Set(["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"])
        XCTAssertEqual(BLASCore.coreType(forCPUFlags: avx512.union(["avx512_bf16"])), "COOPERLAKE")
        XCTAssertEqual(BLASCore.coreType(forCPUFlags: avx512), "SKYLAKEX")
        XCTAssertEqual(BLASCore.coreType(forCPUFlags: ["sse3", "avx", "avx2", "fma"]), "HASWELL")
        XCTAssertNil(BLASCore.coreType(forCPUFlags: ["sse3", "avx"]), "AVX without AVX2: OpenBLAS's choice stands")
        XCTAssertNil(BLASCore.coreType(forCPUFlags: []))
    }

    /// On this machine: whatever OpenBLAS detected, once a projection exists the kernels are not an SSE-only
    /// fallback on a CPU that has AVX2 (unless OPENBLAS_CORETYPE says so), and a product still equals the
    /// reference.
    func testAFallbackIsReplacedOnThisCPU() throws {
        _ = try DenseLayer(weight: [1], bias: [0], inputs: 1, outputs: 1)
        let flags = BLASCore.cpuFlags()
        XCTAssertFalse(flags.isEmpty, "/proc/cpuinfo lists flags")
        let userChoice = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        if userChoice == nil, BLASCore.coreType(forCPUFlags: flags) != nil {
            XCTAssertFalse(
                BLASCore.sseOnlyCores.contains(BLASCore.name.lowercased()),
                "\(BLASCore.name) kernels on a CPU with \(BLASCore.coreType(forCPUFlags: flags)!)-class features")
        }
        if let replaced = BLASCore.replaced {
            XCTAssertTrue(BLASCore.sseOnlyCores.contains(replaced.detected.lowercased()), "\(replaced)")
            XCTAssertEqual(replaced.used, BLASCore.name)
            XCTAssertNil(userChoice, "never replaced over the user's OPENBLAS_CORETYPE")
            XCTAssertNil(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], "the environment is left as found")
        }
        // The replaced kernels multiply correctly (GPT-2 small's shapes at a few rows).
        let (m, k, n) = (5, 768, 96)
        var state: UInt64 = 7
        let values = (0..<(m * k + k * n + n)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
        let x = Array(values[0..<(m * k)]), w = Array(values[(m * k)..<(m * k + k * n)]), b = Array(values.suffix(n))
        let layer = try DenseLayer(weight: w, bias: b, inputs: k, outputs: n)
        let got = layer.apply(x, rows: m), expected = Kernels.referenceLinear(x, w, b, m: m, k: k, n: n)
        XCTAssertEqual(got.count, expected.count)
        XCTAssertLessThan(zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity, 1e-3)
    }
}
