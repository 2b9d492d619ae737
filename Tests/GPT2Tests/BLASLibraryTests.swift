import COpenBLAS
import Foundation
import XCTest

@testable import GPT2

/// `--blas mkl` at GPT-2 small's own widths (the fixtures' checkpoints are too narrow for MKL to choose its
/// shape-dependent kernels): a row's product is the same bit for bit whatever the rows around it, so records do not
/// depend on --batch (without MKL's strict reproducible mode both tests fail); and the products agree with
/// OpenBLAS's and the reference within float32's rounding.
final class BLASLibraryTests: XCTestCase {
    func testMKLRowsDoNotDependOnTheRowCount() throws {
        try Fixtures.requireMKL()
        let (m, k, n) = (512, 768, 3_072)  // 8 × 64 tokens through c_fc
        var state: UInt64 = 5
        func values(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
            }
        }
        let x = values(m * k), w = values(k * n), bias = values(n)
        func product(_ blas: BLASLibrary, rows: Range<Int>) throws -> [Float] {
            var out = [Float](repeating: 0, count: rows.count * n)
            try Kernels.linear(
                Array(x[(rows.lowerBound * k)..<(rows.upperBound * k)]), w, bias, &out, m: rows.count, k: k, n: n,
                blas: blas)
            return out
        }
        let all = try product(.mkl, rows: 0..<m)
        for rows in [0..<1, 5..<8, 100..<131, 64..<128, 200..<457, 256..<512] {
            XCTAssertEqual(
                try product(.mkl, rows: rows), Array(all[(rows.lowerBound * n)..<(rows.upperBound * n)]),
                "rows \(rows) alone vs in all \(m)")
        }
        let reference = try product(.openBLAS, rows: 0..<m)
        XCTAssertLessThan(zip(all, reference).map { abs($0 - $1) }.max()!, 1e-3, "|MKL - OpenBLAS| (|values| < 768)")
    }

    /// The weights MKL packs once (`Float32Matrix`) give the bits of MKL's plain `cblas_sgemm` on the same rows,
    /// at each of GPT-2 small's four projection shapes and at row counts from 1 to 2,048: packing changes speed only.
    func testMKLPackedWeightsGiveThePlainProductsBits() throws {
        try Fixtures.requireMKL()
        let sgemm = try BLASLibrary.mkl.sgemm()
        var state: UInt64 = 11
        func values(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
            }
        }
        for (k, n) in [(768, 2_304), (768, 768), (768, 3_072), (3_072, 768)] {
            let w = values(k * n), matrix = try Float32Matrix(w, rows: k, columns: n, blas: .mkl)
            for m in [1, 37, 1_024, 2_048] {
                let x = values(m * k), start = values(m * n)
                var packed = start, plain = start
                matrix.accumulate(x, into: &packed, rows: m)
                sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, x, Int32(k), w,
                    Int32(n), 1, &plain, Int32(n))
                XCTAssertEqual(packed, plain, "\(m) × \(k) · \(k) × \(n)")
            }
        }
    }

    /// Attention's two products per head go through the same library, with rows per block that change with T.
    func testMKLAttentionRowsDoNotDependOnTheLength() throws {
        try Fixtures.requireMKL()
        let sgemm = try BLASLibrary.mkl.sgemm()
        let (t, c, heads) = (300, 768, 12)
        var state: UInt64 = 9
        let qkv = (0..<(t * 3 * c)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
        func attention(_ length: Int) -> [Float] {
            var out = [Float](repeating: 0, count: length * c)
            var workspace = [Float](repeating: 0, count: Kernels.attentionWorkspace(t: length, c: c, heads: heads))
            Kernels.causalAttention(
                qkv.prefix(length * 3 * c).map { $0 }, &out, workspace: &workspace, t: length, c: c, heads: heads,
                scale: 0.125, sgemm: sgemm)
            return out
        }
        let full = attention(t)
        for length in [1, 63, 64, 65, 200] {
            XCTAssertEqual(attention(length), Array(full.prefix(length * c)), "the first \(length) tokens alone")
        }
        let reference = Kernels.referenceCausalAttention(qkv, t: t, c: c, heads: heads, scale: 0.125)
        XCTAssertLessThan(zip(full, reference).map { abs($0 - $1) }.max()!, 1e-4)
    }
}
