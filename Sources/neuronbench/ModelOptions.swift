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
