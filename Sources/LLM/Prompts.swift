import Evaluation
import Foundation

/// Every prompt text of the LLM explainer and simulators, in one place. Structure after Bills et al. 2023
/// (method.md §3–4); the wording and the worked examples are this project's own.
public enum Prompts {
    // MARK: Explainer

    static let explainerInstruction = """
        We are studying neurons inside a language model. Each neuron responds to some pattern in text. You will see \
        short excerpts of text with one token per line, each followed by a tab and the neuron's activation on that \
        token, scaled to whole numbers from 0 (inactive) to 10 (its strongest). Describe in a short phrase what the \
        neuron responds to. Reply with the phrase only.
        """

    static let completionPrefix = "the main thing this neuron does is find"

    /// Worked examples: (records as (token, activation) pairs, explanation). Written for this project.
    static let workedExamples: [([[(String, Float)]], String)] = [
        (
            [
                [
                    ("The", 0), (" harvest", 0), (" was", 0), (" sold", 0), (" for", 0), (" 12", 9), (" dollars", 10),
                    (".", 0),
                ],
                [("It", 0), (" cost", 0), (" about", 0), (" 300", 8), (" euros", 9), (" a", 0), (" month", 1)],
            ],
            "amounts of money, especially the currency word after a number"
        ),
        (
            [
                [
                    ("She", 0), (" opened", 0), (" the", 0), (" door", 0), (" and", 0), (" said", 3), (" \"", 10),
                    ("Hello", 2), ("\"", 0),
                ],
                [("\"", 9), ("Wait", 1), (",\"", 0), (" he", 0), (" whispered", 2), (".", 0)],
            ],
            "opening quotation marks that start spoken words"
        ),
    ]

    /// OpenAI's normalisation: v = min(10, floor(10 · max(a, 0) / m)), m the largest positive activation shown.
    public static func normalised(_ records: [[Float]]) -> [[Int]] {
        let peak = records.flatMap { $0 }.map { max($0, 0) }.max() ?? 0
        return records.map { values in
            values.map { peak > 0 ? min(10, Int((10 * max($0, 0) / peak).rounded(.down))) : 0 }
        }
    }

    /// One neuron's records as the explainer sees them: each record between <start> and <end>, a `token<TAB>value`
    /// line per token; when fewer than 20% of the values are non-zero, the block repeats the records listing only
    /// the non-zero tokens.
    static func formatRecords(_ records: [(tokens: [String], activations: [Float])]) -> String {
        let values = normalised(records.map(\.activations))
        var text = ""
        for (record, scaled) in zip(records, values) {
            text +=
                "<start>\n" + zip(record.tokens, scaled).map { "\(visible($0))\t\($1)" }.joined(separator: "\n")
                + "\n<end>\n"
        }
        let all = values.flatMap { $0 }
        if !all.isEmpty && Double(all.filter { $0 > 0 }.count) < 0.2 * Double(all.count) {
            text += "\nThe same excerpts, listing only the tokens with non-zero activation:\n"
            for (record, scaled) in zip(records, values) {
                text +=
                    "<start>\n"
                    + zip(record.tokens, scaled).filter { $0.1 > 0 }.map { "\(visible($0))\t\($1)" }.joined(
                        separator: "\n") + "\n<end>\n"
            }
        }
        return text
    }

    /// A token as one line: line breaks and tabs escaped so that the line structure holds.
    static func visible(_ token: String) -> String {
        token.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\t", with: "\\t")
    }

    /// Chat messages asking for an explanation of the neuron with these (train) records.
    public static func explainer(records: [ActivationRecord]) -> [[String: String]] {
        var messages = [["role": "system", "content": explainerInstruction]]
        for (index, example) in workedExamples.enumerated() {
            let records = example.0.map { (tokens: $0.map(\.0), activations: $0.map(\.1)) }
            messages.append([
                "role": "user",
                "content": "Neuron \(index + 1)\n" + formatRecords(records) + "\nComplete: \(completionPrefix) …",
            ])
            messages.append(["role": "assistant", "content": "\(completionPrefix) \(example.1)."])
        }
        let target = records.map { (tokens: $0.tokens, activations: $0.activations) }
        messages.append([
            "role": "user",
            "content": "Neuron \(workedExamples.count + 1)\n" + formatRecords(target)
                + "\nComplete: \(completionPrefix) …",
        ])
        return messages
    }

    /// The reply reduced to one phrase: the completion prefix, quotes, a trailing period and anything after the
    /// first line removed.
    public static func cleanExplanation(_ reply: String) -> String? {
        var text = reply.trimmingCharacters(in: .whitespacesAndNewlines)
        text = String(text.split(separator: "\n", omittingEmptySubsequences: true).first ?? "")
        for prefix in [
            "the main thing this neuron does is find", "The main thing this neuron does is find", "Explanation:",
        ] where text.hasPrefix(prefix) {
            text = String(text.dropFirst(prefix.count))
        }
        func unwrap(_ text: String) -> String {
            let text = text.trimmingCharacters(in: CharacterSet.whitespaces.union(CharacterSet(charactersIn: "…")))
            for (open, close) in [("\"", "\""), ("'", "'"), ("“", "”")]
            where text.count >= 2 && text.hasPrefix(open) && text.hasSuffix(close) {
                return String(text.dropFirst().dropLast())
            }
            return text
        }
        text = unwrap(text)
        while text.hasSuffix(".") { text.removeLast() }
        text = unwrap(text)
        return text.isEmpty ? nil : text
    }

    // MARK: Simulators

    static let simulatorInstruction = """
        We are studying neurons inside a language model. Each neuron responds to some pattern in text. Given a \
        description of what a neuron responds to, predict its activation on each token of an excerpt, as a whole \
        number from 0 (inactive) to 10 (its strongest). Most tokens are 0.
        """

    /// The all-at-once prompt for the completions endpoint: the excerpt with `unknown` in place of each value. The
    /// model's probabilities for "0"…"10" at each `unknown` give the prediction.
    public static func allAtOnce(explanation: String, tokens: [String]) -> String {
        simulatorInstruction + "\n\nNeuron description: \(explanation)\nActivations:\n<start>\n"
            + tokens.map { "\(visible($0))\tunknown" }.joined(separator: "\n") + "\n<end>\n"
    }

    /// Chat messages asking for a JSON reply with an integer per token.
    public static func json(explanation: String, tokens: [String]) -> [[String: String]] {
        let listing = tokens.enumerated().map { "\($0.offset)\t\(visible($0.element))" }.joined(separator: "\n")
        return [
            ["role": "system", "content": simulatorInstruction],
            [
                "role": "user",
                "content": """
                Neuron description: \(explanation)
                Excerpt, one token per line as index<TAB>token:
                \(listing)
                Reply with JSON only: {"activations": [{"index": 0, "token": "…", "activation": 0}, …]} with one entry per token, in order.
                """,
            ],
        ]
    }
}
