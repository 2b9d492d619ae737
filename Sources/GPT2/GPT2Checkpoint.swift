import Foundation

/// A Hugging Face GPT-2 checkpoint directory: `config.json` plus `model.safetensors`, or a sharded
/// `model.safetensors.index.json` whose `weight_map` names the shard holding each tensor.
///
/// Tensor names are looked up with or without the `transformer.` prefix that `GPT2LMHeadModel` checkpoints carry;
/// keys that GPT-2's neurons do not need (`lm_head.weight`, `attn.bias` buffers, …) are ignored.
public struct GPT2Checkpoint: Sendable {
    public let directory: URL
    public let config: GPT2Config
    /// Each tensor's file, by its name without prefix.
    private let files: [String: SafeTensorsFile]
    private let prefixes: [String: String]

    public init(directory: URL) throws {
        self.directory = directory
        let hint = "Expected a Hugging Face GPT-2 directory (config.json, model.safetensors)."
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw GPT2Error.fileNotFound(path: directory.path, hint: hint)
        }
        config = try GPT2Config(contentsOf: directory.appendingPathComponent("config.json"))

        let single = directory.appendingPathComponent("model.safetensors")
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        var shards: [SafeTensorsFile]
        if FileManager.default.fileExists(atPath: single.path) || !FileManager.default.fileExists(atPath: index.path) {
            shards = [try SafeTensorsFile(url: single)]
        } else {
            let data = try readFile(index, hint: hint)
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let weightMap = object["weight_map"] as? [String: String]
            else {
                throw GPT2Error.invalidSafetensors(
                    path: index.path,
                    reason: "expected a JSON object with a \"weight_map\" of tensor name to shard file")
            }
            shards = try Set(weightMap.values).sorted().map { name in
                guard !name.contains("/") else {
                    throw GPT2Error.invalidSafetensors(
                        path: index.path, reason: "shard name \"\(name)\" must be a file in the same directory")
                }
                return try SafeTensorsFile(url: directory.appendingPathComponent(name))
            }
        }
        var files: [String: SafeTensorsFile] = [:]
        var prefixes: [String: String] = [:]
        for shard in shards {
            for key in shard.tensors.keys {
                let name = key.hasPrefix("transformer.") ? String(key.dropFirst("transformer.".count)) : key
                files[name] = shard
                prefixes[name] = key.hasPrefix("transformer.") ? "transformer." : ""
            }
        }
        self.files = files
        self.prefixes = prefixes
    }

    /// The tensor `name` (without prefix) as Float32, after checking that its shape is `shape`.
    public func tensor(_ name: String, shape: [Int]) throws -> [Float] {
        let (file, key) = try checkTensor(name, shape: shape)
        return try file.floats(key)
    }

    /// Checks that tensor `name` (without prefix) exists with shape `shape`; returns its file and full name.
    @discardableResult
    public func checkTensor(_ name: String, shape: [Int]) throws -> (file: SafeTensorsFile, key: String) {
        guard let file = files[name], let prefix = prefixes[name], let info = file.tensors[prefix + name] else {
            throw GPT2Error.missingTensor(name: name, path: directory.path)
        }
        guard info.shape == shape else {
            throw GPT2Error.tensorShapeMismatch(
                name: prefix + name, path: file.url.path, expected: shape, actual: info.shape)
        }
        return (file, prefix + name)
    }
}
