// swift-tools-version:6.0
import PackageDescription

// Data flows one way; a target imports only those before it:
//   Support (threads, gzip, SHA-256, seeded RNG, progress, version)   SQLite (connection, statements, transactions)
//   GPT2 (tokenizer, model, hook points; Support)   SAE (SAELens-format sparse autoencoders; GPT2)
//   ActivationStore (the database file and its metadata; SQLite, Support)
//   Sampling (per-neuron samplers; ActivationStore)
//   Precompute (corpus -> excerpts -> model -> samplers -> store; GPT2, ActivationStore, Sampling)
//   Evaluation (records -> explainers -> simulators -> scores -> run directory; ActivationStore)
//   LLM (OpenAI-compatible explainer and simulators; Evaluation, SQLite for its reply cache)
//   Reports (HTML; Evaluation, ActivationStore)   Interop (OpenAI's and Neuronpedia's files; Evaluation, ActivationStore)
//   neuronbench (the CLI over all of them)
// ActivationStore knows nothing of GPT-2 or of sampling; Evaluation reads the store and nothing upstream of it.

// Release builds of the numeric modules assume an x86-64 CPU with AVX2, FMA and F16C (Intel Haswell, 2013, and
// AMD Zen or later): float16 conversion becomes one instruction (vcvtps2ph) instead of a library call, and SIMD
// code uses 256-bit registers. Debug builds (and the tests) use the generic x86-64 baseline.
// Modules that read files (databases, checkpoints, resume state, safetensors, tokenizers: any of which may be
// damaged or crafted) keep Swift's bounds and overflow checks, so a missed validation stops the process instead of
// reading or writing outside an array. Only Sampling, which reads no file, is built with -Ounchecked: without it
// the main pass runs ~25% slower (BENCHMARKS.md).
#if arch(x86_64)
let numericRelease: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release))]
let samplingRelease: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release))
]
#else
let numericRelease: [SwiftSetting] = []
let samplingRelease: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
#endif
// The project's own targets treat warnings as errors in debug builds (what the tests build), so a new warning
// fails `make test`. Release builds are left alone: the optimiser can add warnings that debug builds do not have.
let projectSettings: [SwiftSetting] = [.unsafeFlags(["-warnings-as-errors"], .when(configuration: .debug))]

let package = Package(
    name: "neuronbench",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "neuronbench", targets: ["neuronbench"]),
        .library(name: "Support", targets: ["Support"]),
        .library(name: "GPT2", targets: ["GPT2"]),
        .library(name: "SAE", targets: ["SAE"]),
        .library(name: "ActivationStore", targets: ["ActivationStore"]),
        .library(name: "Sampling", targets: ["Sampling"]),
        .library(name: "Precompute", targets: ["Precompute"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Interop", targets: ["Interop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // System libraries from Debian's -dev packages (Scripts/bootstrap installs them).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // libdeflate: the record codec's compressor (zlib's format, about three times zlib's speed; BENCHMARKS.md).
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", providers: [.apt(["libssl-dev"])]),
        // bfloat16 matrix multiply (AVX-512 BF16 intrinsics, checked at run time), always optimised: the tests
        // run it on real shapes.
        .target(
            name: "BFloat16GEMM",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        // What several modules need: the thread budget, gzip, SHA-256 hex digests, a seeded generator, progress
        // reports, the version, the test kill switch.
        .target(
            name: "Support",
            dependencies: ["CZlib", "COpenSSL"],
            swiftSettings: projectSettings
        ),
        // The generic SQLite layer (connection, statements, errors, transactions), as GRDB shapes it.
        .target(
            name: "SQLite",
            dependencies: ["CSQLite", "Support"],
            swiftSettings: numericRelease + projectSettings
        ),
        // Tokenizer, safetensors reader, checkpoint loader and the forward pass.
        .target(
            name: "GPT2",
            dependencies: ["COpenBLAS", "BFloat16GEMM", "Support"],
            swiftSettings: numericRelease + projectSettings
        ),
        // Sparse autoencoders in SAELens' format, applied to the model's hook points.
        .target(
            name: "SAE",
            dependencies: ["GPT2", "Support"],
            swiftSettings: numericRelease + projectSettings
        ),
        // The activation database: schema v1, its typed metadata, fp16 + zlib record codec. The only module that
        // runs SQL on it.
        .target(
            name: "ActivationStore",
            dependencies: ["SQLite", "CZlib", "CDeflate", "Support"],
            swiftSettings: numericRelease + projectSettings
        ),
        // The per-neuron samplers of the main pass (statistics, top / bottom / random / quantile selections): the
        // hottest loops of a precompute, and the one module built with -Ounchecked. It reads no file: its
        // checkpoints come to it through Support's bounds-checked BinaryReader, and every value restored from one
        // is checked explicitly (guards are kept under -Ounchecked) before anything indexes with it.
        .target(
            name: "Sampling",
            dependencies: ["ActivationStore", "Support"],
            swiftSettings: samplingRelease + projectSettings
        ),
        // Corpus -> excerpts -> forward pass -> units (neurons or SAE latents) -> samplers -> ActivationStore.
        .target(
            name: "Precompute",
            dependencies: ["GPT2", "SAE", "ActivationStore", "Sampling", "Support"],
            swiftSettings: numericRelease + projectSettings
        ),
        // Records -> explanations -> simulations -> scores -> the run directory, whose files it alone reads and
        // writes. Reads the store, never writes it.
        .target(
            name: "Evaluation",
            dependencies: ["ActivationStore", "Support"],
            swiftSettings: projectSettings
        ),
        // A self-contained HTML report of an evaluation run (reads run directories and the store).
        .target(
            name: "Reports",
            dependencies: ["Evaluation", "ActivationStore", "Support"],
            swiftSettings: projectSettings
        ),
        // OpenAI neuron-explainer's and Neuronpedia's files: the one owner of their formats (export, import, a record
        // source over OpenAI's published records).
        .target(
            name: "Interop",
            dependencies: ["Evaluation", "ActivationStore", "Support"],
            swiftSettings: projectSettings
        ),
        // Explainer and simulators over any OpenAI-compatible API: client, reply cache, prompts.
        .target(
            name: "LLM",
            dependencies: ["Evaluation", "ActivationStore", "SQLite", "Support"],
            swiftSettings: projectSettings
        ),
        // Thin command-line front end.
        .executableTarget(
            name: "neuronbench",
            dependencies: [
                "Support", "GPT2", "SAE", "ActivationStore", "Precompute", "Evaluation", "LLM", "Reports", "Interop",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: projectSettings
        ),
        // Release-mode micro benchmarks driven by Scripts/bench-*.
        .executableTarget(
            name: "neuronbench-bench", dependencies: ["GPT2", "Support"], swiftSettings: projectSettings),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SupportTests", dependencies: ["Support", "TestSupport"]),
        .testTarget(name: "GPT2Tests", dependencies: ["GPT2", "TestSupport"], exclude: ["Resources"]),
        .testTarget(name: "SAETests", dependencies: ["SAE", "GPT2", "Support", "TestSupport"], exclude: ["Resources"]),
        .testTarget(
            name: "ActivationStoreTests",
            dependencies: ["ActivationStore", "SQLite", "Support", "CZlib", "TestSupport"]),
        .testTarget(
            name: "PrecomputeTests",
            dependencies: [
                "Precompute", "Sampling", "GPT2", "SAE", "ActivationStore", "SQLite", "Support", "CZlib", "TestSupport",
            ],
            exclude: ["Resources"]),
        .testTarget(
            name: "EvaluationTests", dependencies: ["Evaluation", "ActivationStore", "Support", "TestSupport"],
            exclude: ["Resources"]),
        .testTarget(name: "InteropTests", dependencies: ["Interop", "Evaluation", "ActivationStore", "TestSupport"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Evaluation", "ActivationStore", "TestSupport"]),
        .testTarget(
            name: "LLMTests", dependencies: ["LLM", "Evaluation", "ActivationStore", "Support", "TestSupport"],
            exclude: ["Resources"]),
        .testTarget(name: "CLITests", dependencies: ["neuronbench", "Support", "TestSupport"]),
    ]
)
