// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "neuronbench",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "neuronbench", targets: ["neuronbench"]),
        .library(name: "GPT2", targets: ["GPT2"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System library: Debian's libopenblas-dev (cblas.h + libopenblas.so).
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Tokenizer, safetensors reader, checkpoint loader and the forward pass.
        .target(
            name: "GPT2",
            dependencies: ["COpenBLAS"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // Thin command-line front end.
        .executableTarget(
            name: "neuronbench",
            dependencies: [
                "GPT2",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Release-mode micro benchmarks driven by Scripts/bench-*.
        .executableTarget(
            name: "neuronbench-bench",
            dependencies: ["GPT2"]
        ),
        .testTarget(
            name: "GPT2Tests",
            dependencies: ["GPT2"],
            exclude: ["Resources"]
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["neuronbench"]
        ),
    ]
)
