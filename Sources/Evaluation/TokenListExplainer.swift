/// The paper's token baseline: the tokens with the highest mean activation in the training records, quoted.
///
/// Tokens are grouped by their text without surrounding whitespace (" the" and "the" are one token here) and
/// ranked by mean activation, keeping those with a positive mean. Tokens seen at least `minimumCount` times come
/// first; if fewer than `maximumTokens` of them qualify, rarer tokens whose mean is at least the weakest chosen
/// one's fill the list (so a neuron that fires on several rare words is not reduced to one). Ties go to the
/// alphabetically first token, so the output is a pure function of the records.
/// Example: `the tokens "dollars", "cent" and "$"`.
public struct TokenListExplainer: Explainer {
    public var maximumTokens: Int
    public var minimumCount: Int
    public var name: String { "token-list" }

    public init(maximumTokens: Int = 5, minimumCount: Int = 2) {
        self.maximumTokens = maximumTokens
        self.minimumCount = minimumCount
    }

    public func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>] {
        requests.map { request in
            guard let text = explanation(for: request.records) else {
                return .failure(.explainerFailed("no token has a positive mean activation in the training records"))
            }
            return .success(text)
        }
    }

    public func explanation(for records: [ActivationRecord]) -> String? {
        var sum: [String: Double] = [:], count: [String: Int] = [:]
        for record in records {
            for (token, value) in zip(record.tokens, record.activations) {
                let key = TokenText.display(token)
                sum[key, default: 0] += Double(value)
                count[key, default: 0] += 1
            }
        }
        let means = count.map { ($0.key, sum[$0.key]! / Double($0.value), $0.value) }.filter { $0.1 > 0 }
        let byMean = { (a: (String, Double, Int), b: (String, Double, Int)) in (a.1, b.0) > (b.1, a.0) }
        let qualified = means.filter { $0.2 >= minimumCount }.sorted(by: byMean)
        var chosen = Array(qualified.prefix(maximumTokens))
        if chosen.count < maximumTokens {
            // Too few frequent tokens: rarer ones join if they are at least as strong as the weakest chosen.
            let floor = chosen.last?.1 ?? 0
            chosen = (chosen + means.filter { $0.2 < minimumCount && $0.1 >= floor }).sorted(by: byMean)
        }
        let tokens = chosen.prefix(maximumTokens).map { TokenText.quote($0.0) }
        guard let last = tokens.last else { return nil }
        let list = tokens.count == 1 ? last : tokens.dropLast().joined(separator: ", ") + " and " + last
        return "the token\(tokens.count == 1 ? "" : "s") \(list)"
    }
}

/// How token text is shown in, and matched against, explanations.
enum TokenText {
    /// The token without surrounding whitespace; a whitespace-only token keeps its text.
    static func display(_ token: String) -> String {
        let trimmed = trim(token)
        return trimmed.isEmpty ? token : trimmed
    }

    /// `token` without leading and trailing Unicode whitespace (Foundation's `trimmingCharacters` is far slower on
    /// Linux, and this runs for every token of every simulation).
    static func trim(_ token: String) -> String {
        let scalars = token.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return token }
        return String(scalars[first...last])
    }

    /// Case-insensitive comparison key.
    static func normalize(_ token: String) -> String { display(token).lowercased() }

    /// A double-quoted term with \" \\ \n \t escaped, as the keyword simulator reads it back.
    static func quote(_ text: String) -> String {
        var out = "\""
        for c in text {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.append(c)
            }
        }
        return out + "\""
    }
}
