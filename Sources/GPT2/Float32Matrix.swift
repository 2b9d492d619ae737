import COpenBLAS

/// A weight matrix [K, N] (Conv1D layout) for float32 products, held in the form its library multiplies fastest.
/// OpenBLAS multiplies it as it is. oneMKL multiplies a copy packed once into its own panel layout
/// (`cblas_sgemm_pack`): `cblas_sgemm` re-packs the weights in every call, on every core (5.6% of the main pass's
/// CPU at GPT-2 small's shapes), and `cblas_sgemm_compute` on the packed copy gives the same bits in MKL's strict
/// mode whatever the row count (measured; `BLASLibraryTests`). The packed copy replaces the plain one: MKL writes
/// only its K × N values of the buffer it asks for, so resident memory stays that of the weights.
final class Float32Matrix: @unchecked Sendable {  // immutable after init
    let rows: Int, columns: Int
    private let storage: Storage

    private enum Storage {
        case plain([Float], BLASLibrary.SGEMM)
        case packed(UnsafeMutableRawPointer, MKLPackedProducts)
    }

    /// `matrix` [rows, columns], row-major; throws if `blas` cannot be loaded here.
    init(_ matrix: [Float], rows: Int, columns: Int, blas: BLASLibrary) throws {
        precondition(matrix.count == rows * columns)
        self.rows = rows
        self.columns = columns
        if let products = try blas.packedProducts() {
            storage = .packed(products.pack(matrix, rows: rows, columns: columns), products)
        } else {
            storage = .plain(matrix, try blas.sgemm())
        }
    }

    deinit {
        if case let .packed(buffer, _) = storage { buffer.deallocate() }
    }

    /// out[M, N] += x[M, K] · W (beta = 1), single-threaded: callers split the rows over the cores.
    func accumulate(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, rows m: Int) {
        let (k, n) = (Int32(rows), Int32(columns))
        switch storage {
        case let .plain(w, sgemm):
            w.withUnsafeBufferPointer {
                sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), n, k, 1, x, k, $0.baseAddress, n, 1, out, n)
            }
        case let .packed(buffer, products):
            products.compute(Int32(m), n, k, x, buffer.assumingMemoryBound(to: Float.self), 1, out)
        }
    }
}
