/// How documents are cut into excerpts, and how much of its document the model reads before each one.
///
/// Rule: each document's tokens are cut from its first token into consecutive, non-overlapping windows of
/// `tokens`; an excerpt never spans two documents. The remainder at a document's end becomes a shorter excerpt if
/// it has at least `minimumTokens`, otherwise it is dropped (and counted).
///
/// Context: the model reads each document in consecutive, non-overlapping blocks of `contextTokens` tokens (a
/// multiple of `tokens`; default `tokens`), each block from position 0 with no beginning-of-text token. An
/// excerpt's activations are those of its block's forward pass, so its first token has seen
/// `startToken % contextTokens` earlier tokens of the document. With the default every excerpt is its own
/// context; with e.g. 1,024 the model sees long contexts while records stay 64-token excerpts.
public struct Excerpter: Codable, Equatable, Sendable {
    public var tokens: Int
    public var minimumTokens: Int
    /// nil means `tokens` (and is left out of the stored settings, so older databases still match).
    public var contextTokens: Int?

    public init(tokens: Int = 64, minimumTokens: Int? = nil, contextTokens: Int? = nil) {
        self.tokens = tokens
        self.minimumTokens = minimumTokens ?? tokens
        self.contextTokens = contextTokens == tokens ? nil : contextTokens
    }

    /// Tokens per model context.
    public var context: Int { contextTokens ?? tokens }

    /// (start, count) of each excerpt of a document with `tokenCount` tokens.
    public func windows(tokenCount: Int) -> [(start: Int, count: Int)] {
        stride(from: 0, to: tokenCount, by: tokens).compactMap { start in
            let count = Swift.min(tokens, tokenCount - start)
            return count >= minimumTokens ? (start, count) : nil
        }
    }

    /// The document token at which the context of an excerpt starting at `startToken` begins.
    public func contextStart(ofExcerptAt startToken: Int) -> Int {
        startToken - startToken % context
    }
}
