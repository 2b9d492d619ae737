import Foundation

/// A deterministic simulator that reads any explanation, not only token lists, and predicts 10 on the tokens the
/// explanation quotes or names and 0 elsewhere.
///
/// Terms, in order of precedence:
/// 1. Quoted spans: "…", “…”, `…`, and '…' / ‘…’ when the quote is not an apostrophe inside a word. Inside double
///    quotes, \" \\ \n \t \r are escapes (as the token-list explainer writes them).
/// 2. If nothing is quoted: the explanation's words, less function words and words that describe rather than name
///    ("tokens", "related", "mentions", …; see `stopWords`).
/// 3. Categories named anywhere: numbers (numbers, digits, numerals, years, …) match tokens made of digits (with
///    , or . inside); capitalised words (capitalised, capitalized, uppercase, proper nouns, names) match tokens
///    starting with an upper-case letter; punctuation matches tokens of punctuation only; newlines match tokens
///    containing a line break.
/// Matching: case-insensitive, surrounding whitespace ignored (so "the" matches " The"); a term matches a run of
/// consecutive tokens whose concatenated text equals it (sub-word pieces " Lo" "vel" "ace" for "Lovelace", and
/// phrases such as "United States"), every token of the run predicted 10; a term and a token also match when one
/// is the other plus a final "s" (plurals).
public struct KeywordSimulator: Simulator {
    public var name: String { "keyword" }

    public init() {}

    public func simulate(_ requests: [SimulationRequest]) async -> [Result<[Double], EvaluationError>] {
        var cache: [String: Terms] = [:]
        var forms = TokenForms.Cache()
        return requests.map { request in
            let terms = cache[request.explanation] ?? Self.terms(of: request.explanation)
            cache[request.explanation] = terms
            return .success(Self.predict(terms, request.tokens, forms: &forms))
        }
    }

    /// A token's forms used in matching, computed once per distinct token text.
    struct TokenForms {
        typealias Cache = [String: TokenForms]
        var trimmed: String
        var lowered: String
        var normalized: String

        init(_ token: String) {
            trimmed = TokenText.trim(token)
            lowered = token.lowercased()
            normalized = trimmed.isEmpty ? lowered : trimmed.lowercased()
        }
    }

    struct Terms: Equatable {
        var words: [String]  // normalised (lower case, trimmed)
        var numbers = false
        var capitalised = false
        var punctuation = false
        var newlines = false
    }

    static let stopWords: Set<String> = [
        "a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "with", "by", "from", "as", "is", "are",
        "be", "it", "its", "this", "that", "these", "those", "such", "like", "e", "g", "eg", "ie", "i", "etc",
        "token", "tokens", "word", "words", "phrase", "phrases", "term", "terms", "text", "mention", "mentions",
        "mentioning", "reference", "references", "referring", "related", "relating", "about", "concept", "concepts",
        "neuron", "looking", "look", "find", "finds", "main", "thing", "does", "various", "different", "especially",
        "particularly", "often", "usually", "typically", "context", "contexts", "including", "specific", "certain",
        "other", "some", "any", "all", "when", "after", "before", "following", "preceding", "within", "forms", "form",
    ]

    static func terms(of explanation: String) -> Terms {
        let quoted = quotedSpans(explanation)
        var words = quoted.map { TokenText.normalize($0) }.filter { !$0.isEmpty }
        let lower = explanation.lowercased()
        let plain = lower.components(separatedBy: CharacterSet.alphanumerics.inverted).filter { !$0.isEmpty }
        if quoted.isEmpty {
            words = plain.filter { $0.count >= 2 && !stopWords.contains($0) }
        }
        var terms = Terms(words: Array(Set(words)).sorted())
        let named = Set(plain)
        terms.numbers = !named.isDisjoint(with: [
            "number", "numbers", "numeral", "numerals", "digit", "digits", "numeric", "year", "years", "numerical",
        ])
        terms.capitalised = !named.isDisjoint(with: [
            "capitalised", "capitalized", "capital", "uppercase", "names", "proper",
        ])
        terms.punctuation = named.contains("punctuation")
        terms.newlines =
            !named.isDisjoint(with: ["newline", "newlines", "linebreak", "linebreaks"]) || lower.contains("line break")
        if !quoted.isEmpty { terms.words = terms.words.filter { !$0.isEmpty } }
        return terms
    }

    /// The quoted spans of an explanation, unescaped.
    static func quotedSpans(_ text: String) -> [String] {
        let characters = Array(text)
        var spans: [String] = []
        var i = 0
        let pairs: [Character: Character] = ["\"": "\"", "“": "”", "`": "`", "'": "'", "‘": "’"]
        while i < characters.count {
            let c = characters[i]
            guard let close = pairs[c] else { i += 1; continue }
            // An apostrophe inside a word (neuron's, don't) opens nothing.
            if c == "'" || c == "‘", i > 0, characters[i - 1].isLetter || characters[i - 1].isNumber {
                i += 1; continue
            }
            var span = "", j = i + 1, closed = false
            while j < characters.count {
                let d = characters[j]
                if c == "\"" && d == "\\" && j + 1 < characters.count {
                    let next = characters[j + 1]
                    span.append(next == "n" ? "\n" : next == "t" ? "\t" : next == "r" ? "\r" : next)
                    j += 2
                    continue
                }
                if d == close
                    && !((close == "'" || close == "’") && j + 1 < characters.count && characters[j + 1].isLetter)
                {
                    closed = true
                    break
                }
                span.append(d)
                j += 1
            }
            if closed {
                spans.append(span)
                i = j + 1
            } else {
                i += 1
            }
        }
        return spans
    }

    static func predict(_ terms: Terms, _ tokens: [String]) -> [Double] {
        var forms = TokenForms.Cache()
        return predict(terms, tokens, forms: &forms)
    }

    static func predict(_ terms: Terms, _ tokens: [String], forms cache: inout TokenForms.Cache) -> [Double] {
        var prediction = [Double](repeating: 0, count: tokens.count)
        let forms = tokens.map { token -> TokenForms in
            if let known = cache[token] { return known }
            let computed = TokenForms(token)
            cache[token] = computed
            return computed
        }
        let trimmed = forms.map(\.trimmed), lowered = forms.map(\.lowered), normalized = forms.map(\.normalized)
        let wordSet = Set(terms.words)
        for i in tokens.indices {
            let n = normalized[i], t = trimmed[i]
            if wordSet.contains(n)
                || (n.count >= 3
                    && (wordSet.contains(n + "s") || (n.hasSuffix("s") && wordSet.contains(String(n.dropLast())))))
            {
                prediction[i] = 10
                continue
            }
            if terms.numbers, let first = t.first, first.isNumber,
                t.allSatisfy({ $0.isNumber || $0 == "," || $0 == "." })
            {
                prediction[i] = 10
            }
            if terms.capitalised, let first = t.first, first.isUppercase { prediction[i] = 10 }
            if terms.punctuation, !t.isEmpty,
                t.unicodeScalars.allSatisfy({ CharacterSet.punctuationCharacters.contains($0) })
            {
                prediction[i] = 10
            }
            if terms.newlines, tokens[i].contains("\n") { prediction[i] = 10 }
        }
        // Runs of tokens that spell a term: sub-word pieces and phrases. A run starts where a token (without its
        // leading space) begins the term and continues with the following tokens' full text.
        for term in terms.words where term.count >= 2 {
            for start in tokens.indices
            where !normalized[start].isEmpty && normalized[start] != term && term.hasPrefix(normalized[start]) {
                var text = normalized[start]
                for end in (start + 1)..<max(start + 1, tokens.count) {
                    text += lowered[end]
                    if text == term {
                        for k in start...end { prediction[k] = 10 }
                        break
                    }
                    if !term.hasPrefix(text) { break }
                }
            }
        }
        return prediction
    }
}
