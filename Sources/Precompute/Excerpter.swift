/// How documents are cut into excerpts.
///
/// Rule: each document's tokens are cut from its first token into consecutive, non-overlapping windows of
/// `tokens`; an excerpt never spans two documents. The remainder at a document's end becomes a shorter excerpt if
/// it has at least `minimumTokens`, otherwise it is dropped (and counted). Every excerpt is run through the model
/// as its own context, starting at position 0, with no beginning-of-text token.
public struct Excerpter: Codable, Equatable, Sendable {
    public var tokens: Int
    public var minimumTokens: Int

    public init(tokens: Int = 64, minimumTokens: Int? = nil) {
        self.tokens = tokens
        self.minimumTokens = minimumTokens ?? tokens
    }

    /// (start, count) of each excerpt of a document with `tokenCount` tokens.
    public func windows(tokenCount: Int) -> [(start: Int, count: Int)] {
        stride(from: 0, to: tokenCount, by: tokens).compactMap { start in
            let count = Swift.min(tokens, tokenCount - start)
            return count >= minimumTokens ? (start, count) : nil
        }
    }
}
