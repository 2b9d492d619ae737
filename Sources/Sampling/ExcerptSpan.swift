/// The rows of one excerpt inside a forward pass's activations ([rows, neurons]).
public struct ExcerptSpan: Equatable, Sendable {
    public var excerpt: Int
    public var firstRow: Int
    public var length: Int

    public init(excerpt: Int, firstRow: Int, length: Int) {
        self.excerpt = excerpt
        self.firstRow = firstRow
        self.length = length
    }
}
