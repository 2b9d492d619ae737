import Foundation
import XCTest
@testable import GPT2

/// Each BLAS kernel against its naive reference, and the element-wise kernels against hand-computed values.
final class KernelTests: XCTestCase {
    /// Deterministic values in [-1, 1) (a 64-bit LCG), so failures reproduce.
    func noise(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    func testLinearMatchesNaiveReference() {
        for (m, k, n) in [(1, 1, 1), (7, 13, 5), (33, 48, 200), (2, 64, 192)] {
            let x = noise(m * k, seed: 1), w = noise(k * n, seed: 2), bias = noise(n, seed: 3)
            var out = [Float](repeating: .nan, count: m * n)
            Kernels.linear(x, w, bias, &out, m: m, k: k, n: n)
            let expected = Kernels.referenceLinear(x, w, bias, m: m, k: k, n: n)
            XCTAssertLessThanOrEqual(zip(out, expected).map { abs($0 - $1) }.max()!, 1e-5, "\(m)x\(k)x\(n)")
            var residual = noise(m * n, seed: 4)
            let before = residual
            Kernels.linearAdd(x, w, bias, &residual, m: m, k: k, n: n)
            XCTAssertLessThanOrEqual(zip(residual, zip(before, expected).map(+)).map { abs($0 - $1) }.max()!, 1e-5)
        }
    }

    func testCausalAttentionMatchesNaiveReference() {
        // 300 tokens span five 64-row blocks (the last one partial).
        for (t, c, heads) in [(1, 8, 2), (9, 48, 3), (40, 64, 4), (300, 32, 2)] {
            let qkv = noise(t * 3 * c, seed: UInt64(t))
            var out = [Float](repeating: .nan, count: t * c)
            var workspace = [Float](repeating: .nan, count: Kernels.attentionWorkspace(t: t, c: c, heads: heads))
            let scale = 1 / Float(c / heads).squareRoot()
            Kernels.causalAttention(qkv, &out, workspace: &workspace, t: t, c: c, heads: heads, scale: scale)
            let expected = Kernels.referenceCausalAttention(qkv, t: t, c: c, heads: heads, scale: scale)
            XCTAssertLessThanOrEqual(zip(out, expected).map { abs($0 - $1) }.max()!, 1e-5, "T=\(t) C=\(c) H=\(heads)")
        }
    }

    func testAttentionIsCausal() {
        // Changing the last token's q, k and v must not change any earlier token's output.
        let (t, c, heads) = (6, 8, 2)
        var qkv = noise(t * 3 * c, seed: 9)
        var first = [Float](repeating: 0, count: t * c), second = first
        var workspace = [Float](repeating: 0, count: Kernels.attentionWorkspace(t: t, c: c, heads: heads))
        Kernels.causalAttention(qkv, &first, workspace: &workspace, t: t, c: c, heads: heads, scale: 0.5)
        for j in 0..<(3 * c) { qkv[(t - 1) * 3 * c + j] += 5 }
        Kernels.causalAttention(qkv, &second, workspace: &workspace, t: t, c: c, heads: heads, scale: 0.5)
        XCTAssertEqual(Array(first[..<((t - 1) * c)]), Array(second[..<((t - 1) * c)]))
        XCTAssertNotEqual(Array(first[((t - 1) * c)...]), Array(second[((t - 1) * c)...]))
    }

    /// A token's attention output must not depend on how many tokens follow it (padding or later text): bit for
    /// bit, so that precompute's records do not depend on batching. Linear layers: rows independent of M.
    func testOutputsDoNotDependOnTheSequenceLength() {
        for (short, long, c, heads) in [(17, 64, 32, 4), (40, 64, 32, 4), (100, 128, 64, 2), (200, 300, 64, 2), (500, 1024, 128, 2)] {
            let qkv = noise(long * 3 * c, seed: UInt64(short))
            var a = [Float](repeating: .nan, count: short * c), b = [Float](repeating: .nan, count: long * c)
            var workspace = [Float](repeating: .nan, count: Kernels.attentionWorkspace(t: long, c: c, heads: heads))
            Kernels.causalAttention(qkv, &a, workspace: &workspace, t: short, c: c, heads: heads, scale: 0.3)
            Kernels.causalAttention(qkv, &b, workspace: &workspace, t: long, c: c, heads: heads, scale: 0.3)
            XCTAssertEqual(a, Array(b.prefix(short * c)), "attention, T = \(short) and \(long)")
        }
        for (k, n) in [(32, 96), (768, 3072), (3072, 768)] {
            for (short, long) in [(17, 64), (40, 300), (100, 2048)] {
                let x = noise(long * k, seed: 1), w = noise(k * n, seed: 2), bias = noise(n, seed: 3)
                var a = [Float](repeating: .nan, count: short * n), b = [Float](repeating: .nan, count: long * n)
                Kernels.linear(x, w, bias, &a, m: short, k: k, n: n)
                Kernels.linear(x, w, bias, &b, m: long, k: k, n: n)
                XCTAssertEqual(a, Array(b.prefix(short * n)), "linear \(k)×\(n), M = \(short) and \(long)")
            }
        }
    }

    func testGeluNewAgainstHandComputedValues() {
        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) evaluated in double precision.
        let cases: [(Float, Float)] = [(-3, -0.0036373920817729943), (-1, -0.15880800939172324),
                                       (-0.5, -0.15428599017485606), (0, 0), (0.5, 0.34571400982514394),
                                       (1, 0.8411919906082768), (2, 1.954597694087775), (10, 10)]
        var values = cases.map(\.0)
        Kernels.geluNew(&values, count: values.count)
        for (value, (x, expected)) in zip(values, cases) {
            XCTAssertEqual(value, expected, accuracy: 1e-6, "gelu_new(\(x))")
        }
    }

    func testVectorGeluNewMatchesLibmEverywhere() {
        // 20,003 values over [-12, 12] (not a multiple of 16, so both paths run), plus extremes.
        var values = (0..<20_003).map { -12 + 24 * Float($0) / 20_002 } + [-1e6, -90, 90, 1e6, 1e-30, -1e-30]
        let expected = values.map(Kernels.referenceGeluNew)
        Kernels.geluNew(&values, count: values.count)
        for (value, reference) in zip(values, expected) {
            XCTAssertEqual(value, reference, accuracy: 2e-7 * max(1, abs(reference)), "gelu_new: \(value) vs \(reference)")
        }
    }

    func testVectorExpMatchesLibm() {
        var worst: Float = 0
        for start in stride(from: -87.0 as Float, to: 88, by: 0.37) {
            let x = SIMD16<Float>((0..<16).map { start + Float($0) * 0.0231 })
            let y = Kernels.exp(x)
            for lane in 0..<16 {
                let reference = Float(Foundation.exp(Double(x[lane])))
                worst = max(worst, abs(y[lane] - reference) / reference)
            }
        }
        XCTAssertLessThan(worst, 3e-7, "max relative error of the vector exp")
        XCTAssertEqual(Kernels.exp(SIMD16(repeating: -200))[0], Float(Foundation.exp(-87.3)), accuracy: 1e-40, "clamped below")
    }

    func testLayerNormAgainstHandComputedValues() {
        // Row [1, 2, 3, 4]: mean 2.5, biased variance 1.25; weight 2, bias 1.
        let x: [Float] = [1, 2, 3, 4]
        var out = [Float](repeating: 0, count: 4)
        Kernels.layerNorm(x, [2, 2, 2, 2], [1, 1, 1, 1], &out, m: 1, c: 4, epsilon: 1e-5)
        let s = (1.25 + 1e-5).squareRoot()
        for (value, d) in zip(out, [-1.5, -0.5, 0.5, 1.5]) {
            XCTAssertEqual(Double(value), d / s * 2 + 1, accuracy: 1e-5)
        }
    }
}
