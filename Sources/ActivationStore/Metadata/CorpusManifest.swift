/// The corpus a database was recorded from (metadata "corpus"): where it was, what it held, and its SHA-256,
/// which is what resume and merge compare.
public struct CorpusManifest: Codable, Equatable, Sendable {
    public var path: String
    /// `Corpus.Format`'s name: "txt-directory", "txt", "jsonl" or "jsonl.gz".
    public var format: String
    public var files: Int
    public var sha256: String
    public var documents: Int
    public var excerpts: Int
    public var tokensInExcerpts: Int
    public var tokensDropped: Int
    public var issues: CorpusIssues
    /// true when the maximum token count was reached before the end of the corpus: reading stopped there, so
    /// `sha256`, `documents`, `tokensDropped` and `issues` cover the documents read (absent otherwise).
    public var stoppedAtMaxTokens: Bool?

    public init(
        path: String, format: String, files: Int, sha256: String, documents: Int, excerpts: Int,
        tokensInExcerpts: Int, tokensDropped: Int, issues: CorpusIssues, stoppedAtMaxTokens: Bool?
    ) {
        self.path = path
        self.format = format
        self.files = files
        self.sha256 = sha256
        self.documents = documents
        self.excerpts = excerpts
        self.tokensInExcerpts = tokensInExcerpts
        self.tokensDropped = tokensDropped
        self.issues = issues
        self.stoppedAtMaxTokens = stoppedAtMaxTokens
    }
}

/// What a corpus reader met that was not a usable document. Reported in the run summary.
public struct CorpusIssues: Equatable, Sendable, Codable {
    public var emptyDocuments = 0
    public var invalidUTF8Replaced = 0
    public var nulBytesRemoved = 0
    public var malformedJSONLines = 0
    public var linesWithoutText = 0
    /// "file:line: reason" of the first few malformed lines.
    public var examples: [String] = []

    public init() {}

    public mutating func note(_ example: String) { if examples.count < 5 { examples.append(example) } }
}
