import COpenBLAS
import Foundation

/// The library that runs the float32 matrix products (bf16 products run on neuronbench's own kernel). Its choice
/// changes results in their last bits, so a precompute stores it with its settings and never mixes two.
public enum BLASLibrary: String, CaseIterable, Codable, Sendable {
    /// OpenBLAS, linked (Debian's libopenblas): the default, on every CPU.
    case openBLAS = "openblas"
    /// Intel oneMKL's single dynamic library `libmkl_rt`, loaded at run time when asked for (`pip install mkl`
    /// installs it): its sgemm was 15–20% faster than OpenBLAS's on GPT-2's shapes on an Intel AVX-512 CPU
    /// (BENCHMARKS.md). It runs sequential (neuronbench's row blocks are the one thread budget) and in its
    /// conditional-numerical-reproducibility strict mode: without it MKL picks kernels by the matrix's shape, and a
    /// row's result depends on how many rows share the call (973,434 of 6.3M values differed, measured), which
    /// would make records depend on the batch size.
    case mkl

    /// `cblas_sgemm`'s C signature (C enums are ints, so one pointer type fits both libraries).
    typealias SGEMM =
        @convention(c) (
            CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
            UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
        ) -> Void

    /// This library's sgemm, loading it on first use; throws if it cannot be loaded here.
    func sgemm() throws -> SGEMM {
        switch self {
        case .openBLAS:
            BLASCore.prepared
            return cblas_sgemm
        case .mkl: return try MKLLibrary.loaded.get().sgemm
        }
    }

    /// Throws unless this library can run here (the check a model makes before it is built).
    public func check() throws { _ = try sgemm() }

    /// MKL's products on weights packed once (`Float32Matrix`); nil for OpenBLAS, which has no such interface.
    func packedProducts() throws -> MKLPackedProducts? {
        switch self {
        case .openBLAS: return nil
        case .mkl: return try MKLLibrary.loaded.get().packedProducts
        }
    }

    /// What runs the products, for summaries: "OpenBLAS 0.3.21 (SkylakeX kernels)", "oneMKL 2026.2 (sequential,
    /// CNR strict)"; nil where the library cannot be loaded.
    public var details: String? {
        switch self {
        case .openBLAS:
            BLASCore.prepared
            return "OpenBLAS (\(BLASCore.name) kernels)"
        case .mkl: return (try? MKLLibrary.loaded.get()).map { "\($0.version) (sequential, CNR strict)" }
        }
    }
}

/// Intel oneMKL, found and set up once: `NEURONBENCH_MKL` (a path to libmkl_rt.so) if set, else the dynamic
/// loader's search (`LD_LIBRARY_PATH`, the system's directories) for libmkl_rt.so.3, .so.2 (pip's `mkl` puts
/// one of them in its environment's lib/) or .so.
private struct MKLLibrary: Sendable {
    let sgemm: BLASLibrary.SGEMM
    let packedProducts: MKLPackedProducts
    let version: String

    static let loaded: Result<MKLLibrary, GPT2Error> = Result { try load() }.mapError { $0 as! GPT2Error }

    private static let lp64Interface: Int32 = 0  // MKL_INTERFACE_LP64: 32-bit integers, as the C signatures here
    private static let sequentialThreading: Int32 = 1  // MKL_THREADING_SEQUENTIAL
    private static let reproducibleAuto: Int32 = 2 | 0x10000  // MKL_CBWR_AUTO | MKL_CBWR_STRICT

    private static func load() throws -> MKLLibrary {
        let explicit = ProcessInfo.processInfo.environment["NEURONBENCH_MKL"].flatMap { $0.isEmpty ? nil : $0 }
        let candidates = explicit.map { [$0] } ?? ["libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"]
        guard let handle = candidates.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_LOCAL) }).first else {
            let reason = String(cString: dlerror())
            throw GPT2Error.unsupportedLibrary(
                "mkl",
                reason: explicit.map { "NEURONBENCH_MKL=\($0) does not load (\(reason))" }
                    ?? "libmkl_rt.so is not on the loader's path",
                hint:
                    "install it (pip install mkl) and set NEURONBENCH_MKL to the libmkl_rt.so.* it put in lib/, or use openblas"
            )
        }
        func symbol<T>(_ name: String, as type: T.Type) throws -> T {
            guard let pointer = dlsym(handle, name) else {
                throw GPT2Error.unsupportedLibrary(
                    "mkl", reason: "the loaded libmkl_rt has no \(name)", hint: "use a oneMKL of 2019 or later")
            }
            return unsafeBitCast(pointer, to: type)
        }
        typealias SetInt = @convention(c) (Int32) -> Int32
        typealias GetInt = @convention(c) () -> Int32
        typealias VersionString = @convention(c) (UnsafeMutablePointer<CChar>?, Int32) -> Void
        // MKL's C names (its lower-case ones are the Fortran interface, arguments by pointer). All settings before
        // the first product: MKL reads them once.
        _ = try symbol("MKL_Set_Interface_Layer", as: SetInt.self)(lp64Interface)
        _ = try symbol("MKL_Set_Threading_Layer", as: SetInt.self)(sequentialThreading)
        let status = try symbol("MKL_CBWR_Set", as: SetInt.self)(reproducibleAuto)
        guard status == 0, try symbol("MKL_Get_Max_Threads", as: GetInt.self)() == 1 else {
            throw GPT2Error.unsupportedLibrary(
                "mkl", reason: "MKL refused sequential, reproducible mode (MKL_CBWR_Set returned \(status))",
                hint: "unset MKL_CBWR and MKL_THREADING_LAYER, or use openblas")
        }
        var text = [CChar](repeating: 0, count: 256)
        try symbol("MKL_Get_Version_String", as: VersionString.self)(&text, Int32(text.count - 1))
        // "Intel(R) oneAPI Math Kernel Library Version 2026.2-Product Build ..." -> "oneMKL 2026.2"
        let bytes = text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let number = String(decoding: bytes, as: UTF8.self).components(separatedBy: "Version ").dropFirst().first
        let version =
            "oneMKL" + (number.map { " " + ($0.split(whereSeparator: { $0 == "-" || $0 == " " }).first ?? "") } ?? "")
        return MKLLibrary(
            sgemm: try symbol("cblas_sgemm", as: BLASLibrary.SGEMM.self),
            packedProducts: MKLPackedProducts(
                size: try symbol("cblas_sgemm_pack_get_size", as: MKLPackedProducts.Size.self),
                packing: try symbol("cblas_sgemm_pack", as: MKLPackedProducts.Pack.self),
                product: try symbol("cblas_sgemm_compute", as: MKLPackedProducts.Compute.self)),
            version: version)
    }
}

/// oneMKL's packed-matrix interface (`cblas_sgemm_pack_get_size`, `cblas_sgemm_pack`, `cblas_sgemm_compute`), for
/// weights [K, N] packed once as the B operand of row-major products.
struct MKLPackedProducts: Sendable {
    typealias Size = @convention(c) (Int32, Int32, Int32, Int32) -> Int
    typealias Pack =
        @convention(c) (
            CBLAS_ORDER, Int32, CBLAS_TRANSPOSE, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
            UnsafeMutablePointer<Float>?
        ) -> Void
    typealias Compute =
        @convention(c) (
            CBLAS_ORDER, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
            Float, UnsafeMutablePointer<Float>?, Int32
        ) -> Void

    let size: Size, packing: Pack, product: Compute

    private static let bMatrix: Int32 = 162  // CblasBMatrix
    private static let packed: Int32 = 151  // CblasPacked
    /// The row count MKL is told at packing time: a hint for its blocking only; products of any row count on the
    /// packed matrix were bit for bit those of cblas_sgemm (1 to 2,048 rows, GPT-2 small's four shapes, strict mode).
    private static let rowHint: Int32 = 1_024

    /// `matrix` [rows, columns] packed into a new buffer the caller owns (64-byte aligned).
    func pack(_ matrix: [Float], rows: Int, columns: Int) -> UnsafeMutableRawPointer {
        let (k, n) = (Int32(rows), Int32(columns))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size(Self.bMatrix, Self.rowHint, n, k), alignment: 64)
        packing(
            CblasRowMajor, Self.bMatrix, CblasNoTrans, Self.rowHint, n, k, 1, matrix, n,
            buffer.assumingMemoryBound(to: Float.self))
        return buffer
    }

    /// c[M, N] = x[M, K] · packed + beta · c.
    func compute(
        _ m: Int32, _ n: Int32, _ k: Int32, _ x: UnsafePointer<Float>, _ packedMatrix: UnsafePointer<Float>,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>
    ) {
        product(
            CblasRowMajor, Int32(CblasNoTrans.rawValue), Self.packed, m, n, k, x, k, packedMatrix, n, beta, c, n)
    }
}
