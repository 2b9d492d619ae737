import COpenBLAS
import Foundation

/// Which OpenBLAS kernels the matrix multiplies run on. OpenBLAS built with DYNAMIC_ARCH (Debian's) picks them
/// from the CPU's model number when it loads; Debian 12's 0.3.21 does not know Sapphire Rapids-class Intel CPUs and
/// falls back to its Prescott (SSE3) kernels: sgemm at 28 instead of 147 GFLOP/s per core on GPT-2's shapes
/// (measured, BENCHMARKS.md). When OpenBLAS chose an SSE-only core on a CPU with AVX2 or AVX-512 and the user set
/// no `OPENBLAS_CORETYPE`, the kernel table is chosen again for the CPU's features, once, before the first
/// multiply (OpenBLAS's own `gotoblas_dynamic_init`, which honours `OPENBLAS_CORETYPE`).
public enum BLASCore {
    /// The kernels in use, as OpenBLAS names them ("Cooperlake", "Haswell", ...).
    public static var name: String { String(cString: openblas_get_corename()) }

    /// Set when `prepare()` replaced OpenBLAS's own choice: (what it chose, what is used).
    public private(set) nonisolated(unsafe) static var replaced: (detected: String, used: String)?

    /// Single-threaded calls (the parallel loops of `Parallel` are the one thread budget) and the kernel choice;
    /// runs once, when the first model is loaded.
    static let prepared: Void = {
        openblas_set_num_threads(1)
        let detected = name
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
            sseOnlyCores.contains(detected.lowercased()),
            let better = coreType(forCPUFlags: cpuFlags()),
            let quit = symbol("gotoblas_dynamic_quit"), let initialize = symbol("gotoblas_dynamic_init")
        else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        quit()
        initialize()
        unsetenv("OPENBLAS_CORETYPE")
        openblas_set_num_threads(1)
        replaced = (detected, name)
    }()

    /// OpenBLAS's cores without AVX: a choice of one of these on a CPU with AVX2 is a fallback, not a fit.
    static let sseOnlyCores: Set<String> = [
        "katmai", "coppermine", "northwood", "prescott", "banias", "core2", "penryn", "dunnington", "nehalem", "atom",
    ]

    /// The OpenBLAS core type for a CPU with these /proc/cpuinfo flags: AVX-512 with BF16 -> Cooperlake, AVX-512
    /// -> SkylakeX, AVX2 with FMA -> Haswell; nil for older CPUs (OpenBLAS's own choice stands).
    static func coreType(forCPUFlags flags: Set<String>) -> String? {
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"]) { return "COOPERLAKE" }
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SKYLAKEX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "HASWELL" }
        return nil
    }

    /// The first processor's flags in /proc/cpuinfo (empty where there is none).
    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// A `void f(void)` of the loaded OpenBLAS, when it exports one (DYNAMIC_ARCH builds do).
    private static func symbol(_ name: String) -> (@convention(c) () -> Void)? {
        guard let program = dlopen(nil, RTLD_LAZY), let pointer = dlsym(program, name) else { return nil }
        return unsafeBitCast(pointer, to: (@convention(c) () -> Void).self)
    }
}
