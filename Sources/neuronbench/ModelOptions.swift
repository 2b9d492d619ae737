import ArgumentParser
import Foundation
import GPT2

/// `--model DIR` and `--tokenizer DIR`, shared by every command that reads a checkpoint.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A Hugging Face GPT-2 directory (config.json, model.safetensors).")
    var model: String

    @Option(name: .long, help: "Directory with vocab.json and merges.txt (default: the model directory).")
    var tokenizer: String?

    var modelURL: URL { URL(fileURLWithPath: model) }

    func loadTokenizer() throws -> GPT2Tokenizer {
        let directory = tokenizer ?? model
        guard FileManager.default.fileExists(atPath: directory) else {
            throw GPT2Error.fileNotFound(path: directory, hint: "Expected a directory with vocab.json and merges.txt.")
        }
        return try GPT2Tokenizer(directory: URL(fileURLWithPath: directory))
    }
}

/// `--precision fp32|bf16` and `--blas openblas|mkl`, for the commands that run the model.
struct PrecisionOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Matrix precision of the forward pass: fp32, or bf16 (CPUs with AVX-512: faster than fp32 on AMD Zen 4, slower on Intel Sapphire Rapids, as fast on AVX-512 CPUs without BF16 instructions; activations off by ~1% of their scale).",
            discussion:
                "bf16 rounds the inputs and weights of the four projections per block to bfloat16 and accumulates in float32. See BENCHMARKS.md for its measured error."
        ),
        transform: parseChoice("--precision"))
    var precision: MatrixPrecision = .float32

    @Option(
        help: ArgumentHelp(
            "Library of the float32 matrix products: openblas, or mkl (Intel oneMKL's libmkl_rt, loaded at run time: `pip install mkl`, then NEURONBENCH_MKL=<its lib/libmkl_rt.so.N> if it is not on the loader's path; 15-20% faster on Intel AVX-512 CPUs).",
            discussion:
                "Results differ from openblas's in their last bits (a precompute stores the choice and resumes only with the same); with either, they do not depend on --batch."
        ),
        transform: parseChoice("--blas"))
    var blas: BLASLibrary = .openBLAS
}

/// An option whose value names one case of `T` by its raw value; anything else is refused with the choices named.
func parseChoice<T: RawRepresentable & CaseIterable & Sendable>(_ flag: String) -> @Sendable (String) throws -> T
where T.RawValue == String, T.AllCases: Sendable {
    { text in
        guard let choice = T(rawValue: text) else {
            throw ValidationError(
                "\(flag) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(text)\"")
        }
        return choice
    }
}

/// `--sae DIR` (repeatable) and `--sae-center on|off`, for the commands that read SAE latents.
struct SAEOptions: ParsableArguments {
    @Option(help: "An SAELens-format SAE directory (cfg.json + sae_weights.safetensors); repeatable.")
    var sae: [String] = []
    @Option(help: "Centre the hook vectors before encoding: on, off (default: as each SAE's cfg.json says).")
    var saeCenter: String?

    /// The centring override: nil to follow each SAE's cfg.json.
    var centering: Bool? { saeCenter.map { $0 == "on" } }

    func validate() throws {
        guard saeCenter == nil || ["on", "off"].contains(saeCenter!) else {
            throw ValidationError("--sae-center must be on or off.")
        }
        guard saeCenter == nil || !sae.isEmpty else { throw ValidationError("--sae-center needs --sae.") }
    }
}
