// swift-tools-version:6.0
import PackageDescription

// Data flows one way: GPT2 (tokenizer, model) -> Precompute (corpus, excerpts, samplers) -> ActivationStore
// (the SQLite file) -> Evaluation (explainers, simulators, scores) -> Reports (HTML) -> neuronbench (CLI). ActivationStore knows
// nothing of GPT-2 or of sampling; Evaluation reads the store and nothing upstream of it.

// Release builds of the numeric modules assume an x86-64 CPU with AVX2, FMA and F16C (Intel Haswell, 2013, and
// AMD Zen or later): float16 conversion becomes one instruction (vcvtps2ph) instead of a library call, and SIMD
// code uses 256-bit registers. Debug builds (and the tests) use the generic x86-64 baseline.
#if arch(x86_64)
let numericRelease: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release))]
#else
let numericRelease: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
#endif
let package = Package(
    name: "neuronbench",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "neuronbench", targets: ["neuronbench"]),
        .library(name: "GPT2", targets: ["GPT2"]),
        .library(name: "ActivationStore", targets: ["ActivationStore"]),
        .library(name: "Precompute", targets: ["Precompute"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Reports", targets: ["Reports"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    ],
    targets: [
        // System libraries from Debian's -dev packages (Scripts/bootstrap installs them).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // bfloat16 matrix multiply (AVX-512 BF16 intrinsics, checked at run time), always optimised: the tests
        // run it on real shapes.
        .target(
            name: "BFloat16GEMM",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        // Tokenizer, safetensors reader, checkpoint loader and the forward pass.
        .target(
            name: "GPT2",
            dependencies: ["COpenBLAS", "BFloat16GEMM"],
            swiftSettings: numericRelease
        ),
        // The activation database: schema v1, SQLite access, fp16 + zlib record codec.
        .target(
            name: "ActivationStore",
            dependencies: ["CSQLite", "CZlib"],
            swiftSettings: numericRelease
        ),
        // Corpus -> excerpts -> forward pass -> per-neuron samplers -> ActivationStore.
        .target(
            name: "Precompute",
            dependencies: ["GPT2", "ActivationStore", "CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: numericRelease
        ),
        // Records -> explanations -> simulations -> scores -> CSV reports. Reads the store, never writes it.
        .target(
            name: "Evaluation",
            dependencies: ["ActivationStore", "CZlib"]
        ),
        // A self-contained HTML report of an evaluation run (reads run directories and the store).
        .target(
            name: "Reports",
            dependencies: ["Evaluation", "ActivationStore"]
        ),
        // Explainer and simulators over any OpenAI-compatible API: client, cache, prompts.
        .target(
            name: "LLM",
            dependencies: ["Evaluation", "ActivationStore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Thin command-line front end.
        .executableTarget(
            name: "neuronbench",
            dependencies: [
                "GPT2", "ActivationStore", "Precompute", "Evaluation", "LLM", "Reports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Release-mode micro benchmarks driven by Scripts/bench-*.
        .executableTarget(name: "neuronbench-bench", dependencies: ["GPT2"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "GPT2Tests", dependencies: ["GPT2", "TestSupport"], exclude: ["Resources"]),
        .testTarget(name: "ActivationStoreTests", dependencies: ["ActivationStore", "TestSupport"]),
        .testTarget(name: "PrecomputeTests", dependencies: ["Precompute", "GPT2", "ActivationStore", "CZlib", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "ActivationStore", "TestSupport"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Evaluation", "ActivationStore", "TestSupport"]),
        .testTarget(name: "LLMTests", dependencies: ["LLM", "Evaluation", "ActivationStore", "TestSupport"], exclude: ["Resources"]),
        .testTarget(name: "CLITests", dependencies: ["neuronbench", "TestSupport"]),
    ]
)
