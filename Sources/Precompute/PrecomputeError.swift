import Foundation

/// Problems with a precompute's inputs or settings.
public enum PrecomputeError: LocalizedError, Equatable, Sendable {
    case corpusNotFound(path: String)
    case unsupportedCorpus(path: String, reason: String)
    case unreadableCorpus(path: String, reason: String)
    case emptyCorpus(path: String)
    case invalidSettings(String)
    case cannotMerge(String)

    public var errorDescription: String? {
        switch self {
        case let .corpusNotFound(path):
            return "\(path): corpus not found. Hint: Scripts/fetch-corpus sotu fetches the demo corpus."
        case let .unsupportedCorpus(path, reason):
            return "\(path): unsupported corpus: \(reason). Give a directory of .txt files, a .txt file, or a .jsonl / .jsonl.gz file with a \"text\" field per line."
        case let .unreadableCorpus(path, reason):
            return "\(path): cannot read corpus: \(reason)"
        case let .emptyCorpus(path):
            return "\(path): the corpus yields no excerpt (no document has enough tokens)"
        case let .invalidSettings(reason):
            return reason
        case let .cannotMerge(reason):
            return "cannot merge: \(reason)"
        }
    }
}
