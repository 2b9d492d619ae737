import BFloat16GEMM
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

    func testLinearMatchesNaiveReference() throws {
        for (m, k, n) in [(1, 1, 1), (7, 13, 5), (33, 48, 200), (2, 64, 192)] {
            let x = noise(m * k, seed: 1), w = noise(k * n, seed: 2), bias = noise(n, seed: 3)
            var out = [Float](repeating: .nan, count: m * n)
            try Kernels.linear(x, w, bias, &out, m: m, k: k, n: n)
            let expected = Kernels.referenceLinear(x, w, bias, m: m, k: k, n: n)
            XCTAssertLessThanOrEqual(zip(out, expected).map { abs($0 - $1) }.max()!, 1e-5, "\(m)x\(k)x\(n)")
            var residual = noise(m * n, seed: 4)
            let before = residual
            try Kernels.linear(x, w, bias, &residual, m: m, k: k, n: n, adding: true)
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

    /// Packing a strided view (attention's keys, transposed, and values, read in place) gives exactly the packing
    /// of the same matrix copied out, for every shape the vector path's edges meet (partial panels, odd k).
    func testStridedPackingEqualsPackingTheCopiedMatrix() {
        for (k, n) in [(1, 1), (7, 5), (64, 1_024), (33, 70), (1_023, 64), (17, 16)] {
            let rowStride = n + 3, storage = noise(k * rowStride + 8, seed: UInt64(k * n))
            let matrix = (0..<(k * n)).map { storage[($0 / n) * rowStride + $0 % n] }
            let count = nb_bf16_packed_count(Int32(k), Int32(n))
            var expected = [UInt16](repeating: 1, count: count), rows = expected, columns = expected
            nb_bf16_pack(matrix, Int32(k), Int32(n), &expected)
            nb_bf16_pack_strided(storage, rowStride, 1, Int32(k), Int32(n), &rows)
            XCTAssertEqual(rows, expected, "\(k)×\(n), rows in place")
            // The transpose: w[r, c] = t[c, r], t stored with row stride k + 5.
            let transposed = (0..<(n * (k + 5))).map { i in
                i % (k + 5) < k ? matrix[(i % (k + 5)) * n + i / (k + 5)] : .nan
            }
            nb_bf16_pack_strided(transposed, 1, k + 5, Int32(k), Int32(n), &columns)
            XCTAssertEqual(columns, expected, "\(k)×\(n), transposed in place")
        }
    }

    /// Attention with bf16 products against the naive Double reference on bf16-rounded Q, K and V: within the
    /// rounding of the softmax weights to bf16 (at most a relative 2⁻⁸ each, |v| ≤ 1 here), and off the float32 result by
    /// more than float32's error, so the bf16 kernel really ran. Shapes cover partial blocks and panels, head widths
    /// 4 to 64, and a 1,024-token context whose weights·values product spans two 768-key blocks.
    func testBFloat16AttentionMatchesTheReferenceOnRoundedInputs() throws {
        try XCTSkipUnless(MatrixPrecision.bfloat16.isSupported, "this CPU has no AVX-512")
        let rounded = { (x: Float) in Float(bitPattern: UInt32(nb_bf16_from_float(x)) << 16) }
        for (t, c, heads) in [(1, 8, 2), (9, 48, 3), (40, 128, 2), (300, 64, 2), (1_024, 128, 2)] {
            let qkv = noise(t * 3 * c, seed: UInt64(t) + 5)
            let scale = 1 / Float(c / heads).squareRoot()
            var out = [Float](repeating: .nan, count: t * c)
            Kernels.batchedCausalAttention(
                qkv, &out, batch: 1, t: t, c: c, heads: heads, scale: scale, precision: .bfloat16)
            let expected = Kernels.referenceCausalAttention(qkv.map(rounded), t: t, c: c, heads: heads, scale: scale)
            let float32 = Kernels.referenceCausalAttention(qkv, t: t, c: c, heads: heads, scale: scale)
            let error = zip(out, expected).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(error, 0.0040, "T=\(t) C=\(c) H=\(heads)")
            XCTAssertGreaterThan(zip(out, float32).map { abs($0 - $1) }.max()!, 1e-4, "T=\(t): bf16 really ran")
        }
    }

    /// A token's attention output must not depend on how many tokens follow it (padding or later text): bit for
    /// bit, so that precompute's records do not depend on batching. Linear layers: rows independent of M.
    func testOutputsDoNotDependOnTheSequenceLength() throws {
        for (short, long, c, heads) in [
            (17, 64, 32, 4), (40, 64, 32, 4), (100, 128, 64, 2), (200, 300, 64, 2), (500, 1024, 128, 2),
        ] {
            let qkv = noise(long * 3 * c, seed: UInt64(short))
            var a = [Float](repeating: .nan, count: short * c), b = [Float](repeating: .nan, count: long * c)
            var workspace = [Float](repeating: .nan, count: Kernels.attentionWorkspace(t: long, c: c, heads: heads))
            Kernels.causalAttention(qkv, &a, workspace: &workspace, t: short, c: c, heads: heads, scale: 0.3)
            Kernels.causalAttention(qkv, &b, workspace: &workspace, t: long, c: c, heads: heads, scale: 0.3)
            XCTAssertEqual(a, Array(b.prefix(short * c)), "attention, T = \(short) and \(long)")
            guard MatrixPrecision.bfloat16.isSupported else { continue }
            Kernels.batchedCausalAttention(
                qkv, &a, batch: 1, t: short, c: c, heads: heads, scale: 0.3, precision: .bfloat16)
            Kernels.batchedCausalAttention(
                qkv, &b, batch: 1, t: long, c: c, heads: heads, scale: 0.3, precision: .bfloat16)
            XCTAssertEqual(a, Array(b.prefix(short * c)), "bf16 attention, T = \(short) and \(long)")
        }
        for (k, n) in [(32, 96), (768, 3072), (3072, 768)] {
            for (short, long) in [(17, 64), (40, 300), (100, 2048)] {
                let x = noise(long * k, seed: 1), w = noise(k * n, seed: 2), bias = noise(n, seed: 3)
                var a = [Float](repeating: .nan, count: short * n), b = [Float](repeating: .nan, count: long * n)
                try Kernels.linear(x, w, bias, &a, m: short, k: k, n: n)
                try Kernels.linear(x, w, bias, &b, m: long, k: k, n: n)
                XCTAssertEqual(a, Array(b.prefix(short * n)), "linear \(k)×\(n), M = \(short) and \(long)")
            }
        }
    }

    func testGeluNewAgainstHandComputedValues() {
        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) evaluated in double precision.
        let cases: [(Float, Float)] = [
            (-3, -0.0036373920817729943), (-1, -0.15880800939172324),
            (-0.5, -0.15428599017485606), (0, 0), (0.5, 0.34571400982514394),
            (1, 0.8411919906082768), (2, 1.954597694087775), (10, 10),
        ]
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
            XCTAssertEqual(
                value, reference, accuracy: 2e-7 * max(1, abs(reference)), "gelu_new: \(value) vs \(reference)")
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
        XCTAssertEqual(
            Kernels.exp(SIMD16(repeating: -200))[0], Float(Foundation.exp(-87.3)),
            accuracy: Float(Foundation.exp(-87.3)) * 1e-5, "clamped below (to e^-87.3, not 0)")
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

    /// bfloat16 rounding (round to nearest, ties to even) on hand-worked bit patterns.
    func testBFloat16RoundingAgainstHandComputedValues() {
        func bits(_ pattern: UInt32) -> UInt16 { nb_bf16_from_float(Float(bitPattern: pattern)) }
        XCTAssertEqual(nb_bf16_from_float(1), 0x3F80)
        XCTAssertEqual(nb_bf16_from_float(-2.5), 0xC020)
        XCTAssertEqual(bits(0x3F80_8000), 0x3F80, "1 + 2⁻⁸ is a tie: to the even 1")
        XCTAssertEqual(bits(0x3F81_8000), 0x3F82, "1 + 3·2⁻⁸ is a tie: to the even 1 + 2⁻⁶")
        XCTAssertEqual(bits(0x3F80_8001), 0x3F81, "just above the tie rounds up")
        XCTAssertEqual(bits(0x3F80_7FFF), 0x3F80, "just below the tie rounds down")
        XCTAssertEqual(bits(0x7F7F_FFFF), 0x7F80, "the largest float rounds to infinity")
        XCTAssertEqual(nb_bf16_from_float(.infinity), 0x7F80)
        let nan = bits(0x7F80_0001)
        XCTAssertTrue(Float(bitPattern: UInt32(nan) << 16).isNaN, "a NaN whose payload is in the low bits stays NaN")
    }

    /// The bf16 projection against the naive Double reference on bf16-rounded inputs and weights: equal up to
    /// float32 accumulation. Shapes cover partial row tiles, partial 32-column panels, odd K and K beyond one
    /// 768-k block; rows do not depend on how many rows are multiplied with them.
    func testBFloat16LinearMatchesReferenceOnRoundedInputs() throws {
        try XCTSkipUnless(MatrixPrecision.bfloat16.isSupported, "this CPU has no AVX-512")
        func rounded(_ values: [Float]) -> [Float] {
            values.map { Float(bitPattern: UInt32(nb_bf16_from_float($0)) << 16) }
        }
        for (m, k, n) in [(1, 1, 1), (7, 13, 5), (37, 77, 45), (13, 800, 33), (200, 64, 96), (25, 1_537, 70)] {
            let x = noise(m * k, seed: 11), w = noise(k * n, seed: 12), bias = noise(n, seed: 13)
            let matrix = BFloat16Matrix(w, rows: k, columns: n)
            let expected = Kernels.referenceLinear(rounded(x), rounded(w), bias, m: m, k: k, n: n)
            let tolerance = 2e-7 * Float(k) + 1e-6
            var out = [Float](repeating: .nan, count: m * n)
            Kernels.bfloat16Linear(x, matrix, bias, &out, m: m, adding: false)
            XCTAssertLessThanOrEqual(zip(out, expected).map { abs($0 - $1) }.max()!, tolerance, "\(m)x\(k)x\(n)")
            var residual = noise(m * n, seed: 14)
            let before = residual
            Kernels.bfloat16Linear(x, matrix, bias, &residual, m: m, adding: true)
            XCTAssertLessThanOrEqual(zip(residual, zip(before, expected).map(+)).map { abs($0 - $1) }.max()!, tolerance)
            // Unrounded inputs are off by bf16's error, not float32's: the rounding really happens.
            let unrounded = Kernels.referenceLinear(x, w, bias, m: m, k: k, n: n)
            if k >= 13 {
                XCTAssertGreaterThan(zip(out, unrounded).map { abs($0 - $1) }.max()!, 10 * tolerance, "\(m)x\(k)x\(n)")
            }
            if m > 1 {
                var fewer = [Float](repeating: .nan, count: (m / 2) * n)
                Kernels.bfloat16Linear(x, matrix, bias, &fewer, m: m / 2, adding: false)
                XCTAssertEqual(fewer, Array(out[..<((m / 2) * n)]), "rows are independent of M, bit for bit")
            }
        }
    }
    /// Without AVX-512 BF16 the kernel emulates `vdpbf16ps` as Intel defines it (per k-pair: acc += a[odd]·b[odd],
    /// then acc += a[even]·b[even], each sum rounded to nearest; bf16 products are exact in float32): bit for bit
    /// equal to that definition computed here scalar, per 768-k block added to the bias, for partial tiles, odd K
    /// and K beyond one block. On CPUs with the instructions the hardware computes it (checked to bf16's accuracy
    /// by `testBFloat16LinearMatchesReferenceOnRoundedInputs`).
    func testEmulatedBFloat16KernelIsVdpbf16psBitForBit() throws {
        try XCTSkipUnless(MatrixPrecision.bfloat16.isSupported, "this CPU has no AVX-512")
        try XCTSkipIf(nb_bf16_native() != 0, "this CPU runs bf16 on its own instructions, not the emulation")
        let rounded = { (x: Float) in Float(bitPattern: UInt32(nb_bf16_from_float(x)) << 16) }
        for (m, k, n) in [(1, 1, 1), (13, 7, 33), (37, 77, 45), (25, 1_537, 70), (100, 3_072, 64)] {
            let x = noise(m * k, seed: 21), w = noise(k * n, seed: 22), bias = noise(n, seed: 23)
            var out = [Float](repeating: .nan, count: m * n)
            Kernels.bfloat16Linear(x, BFloat16Matrix(w, rows: k, columns: n), bias, &out, m: m, adding: false)
            var expected = [Float](repeating: 0, count: m * n)
            for i in 0..<m {
                for j in 0..<n {
                    var total = bias[j]
                    for block in stride(from: 0, to: k, by: 768) {
                        var sum: Float = 0
                        for even in stride(from: block, to: min(k, block + 768), by: 2) {
                            if even + 1 < min(k, block + 768) {
                                sum = sum.addingProduct(rounded(x[i * k + even + 1]), rounded(w[(even + 1) * n + j]))
                            }
                            sum = sum.addingProduct(rounded(x[i * k + even]), rounded(w[even * n + j]))
                        }
                        total += sum
                    }
                    expected[i * n + j] = total
                }
            }
            XCTAssertEqual(out, expected, "\(m)x\(k)x\(n)")
        }
    }
}

extension Kernels {
    /// out[M, N] (+)= x[M, K] · w[K, N] + bias[N] through the float32 path the model takes (`Float32Matrix` on
    /// `blas`, rows split over the cores).
    static func linear(
        _ x: [Float], _ w: [Float], _ bias: [Float], _ out: inout [Float], m: Int, k: Int, n: Int,
        adding: Bool = false, blas: BLASLibrary = .openBLAS
    ) throws {
        let matrix = try Float32Matrix(w, rows: k, columns: n, blas: blas)
        float32Linear(x, matrix, bias, &out, m: m, adding: adding)
    }
}
