import Foundation

/// Problems with a precompute's or merge's inputs, settings or resume state, each naming what is at fault.
public enum PrecomputeError: LocalizedError, Equatable, Sendable {
    case corpusNotFound(path: String)
    case unsupportedCorpus(path: String, reason: String)
    case unreadableCorpus(path: String, reason: String)
    case emptyCorpus(path: String)
    /// A setting out of its range: "`setting` `requirement`".
    case invalidSetting(String, String)
    case layerOutOfRange(layer: Int, layerCount: Int)
    case contextTooLong(tokens: Int, positions: Int, withBOS: Bool)
    /// The SAEs cannot be recorded together (two on one layer, a hook out of range, disagreeing BOS, …).
    case invalidSAE(path: String, reason: String)
    case tokenizerTooLarge(tokens: Int, vocabularySize: Int)
    /// `layerSplit`: runs of consecutive layers that would each fit (neurons only), when more than one is needed.
    case tooMuchMemory(
        MemoryBudget, allowedBytes: Int, units: Int, recordsPerUnit: Int, excerptTokens: Int, layerSplit: [[Int]]?)
    case modelFileMissing(path: String)
    /// An existing output database was made from other inputs or settings.
    case databaseMismatch(path: String, differences: [String])
    case corruptResumeState(path: String, reason: String)
    case cannotMerge(String)

    public var errorDescription: String? {
        switch self {
        case let .corpusNotFound(path):
            return "\(path): corpus not found. Hint: Scripts/fetch-corpus sotu fetches the demo corpus."
        case let .unsupportedCorpus(path, reason):
            return
                "\(path): unsupported corpus: \(reason). Give a directory of .txt files, a .txt file, or a .jsonl / .jsonl.gz file with a \"text\" field per line."
        case let .unreadableCorpus(path, reason):
            return "\(path): cannot read corpus: \(reason)"
        case let .emptyCorpus(path):
            return "\(path): the corpus yields no excerpt (no document has enough tokens)"
        case let .invalidSetting(setting, requirement):
            return "\(setting) \(requirement)"
        case let .layerOutOfRange(layer, count):
            return "layer \(layer) is out of range: the model has \(count) layers (0–\(count - 1))"
        case let .contextTooLong(tokens, positions, withBOS):
            return withBOS
                ? "contexts of \(tokens) tokens plus the prepended BOS (\(tokens + 1) positions) exceed the model's \(positions) positions. Hint: --context-tokens (or --excerpt-tokens) of at most \(positions - 1), or --prepend-bos off"
                : "contexts of \(tokens) tokens exceed the model's \(positions) positions"
        case let .invalidSAE(path, reason):
            return "\(path): \(reason)"
        case let .tokenizerTooLarge(tokens, vocabularySize):
            return "the tokenizer has \(tokens) tokens but the model's vocab_size is \(vocabularySize)"
        case let .tooMuchMemory(budget, allowed, units, records, tokens, split):
            let hint =
                if let split, split.count > 1 {
                    "record the layers in \(split.count) runs that each fit, layers "
                        + split.map(\.layerListSpelling).joined(separator: ", then ")
                        + " (one database each); or fewer records per unit, or shorter excerpts"
                } else {
                    "record fewer layers, fewer records per unit, smaller SAEs, or shorter excerpts"
                }
            return
                "this run would need about \(Self.bytes(budget.totalBytes)) of memory: samplers \(Self.bytes(budget.samplerBytes)) "
                + "(\(units) units × \(records) records × \(tokens) tokens), model weights \(Self.bytes(budget.weightBytes)), "
                + "forward-pass buffers \(Self.bytes(budget.bufferBytes)); more than the \(Self.bytes(allowed)) allowed. Hint: \(hint)."
        case let .modelFileMissing(path):
            return "\(path): model file not found"
        case let .databaseMismatch(path, differences):
            return
                "\(path) was made with other settings or inputs; refusing to mix them (\(differences.joined(separator: "; "))). Hint: write to another database."
        case let .corruptResumeState(path, reason):
            return "\(path): the resume state is unreadable (\(reason)). Hint: delete the file to start over."
        case let .cannotMerge(reason):
            return "cannot merge: \(reason)"
        }
    }

    static func bytes(_ count: Int) -> String {
        count < 1_000_000_000
            ? String(format: "%.0f MB", Double(count) / 1e6) : String(format: "%.1f GB", Double(count) / 1e9)
    }
}
