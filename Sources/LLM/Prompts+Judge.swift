import Evaluation
import Foundation

/// The LLM judge's prompts (detection, fuzzing, intruder) and the strict reading of its replies. The task follows Paulo
/// et al. 2024 (delphi): a batch of excerpts, one 0/1 answer each as a bracketed list; the wording and the worked
/// examples are this project's own.
extension Prompts {
    static let detectionInstruction = """
        We are studying neurons inside a language model. Each neuron responds to some pattern in text. You will be \
        given a description of what one neuron responds to and a numbered list of text excerpts. For each excerpt, \
        decide whether the neuron is active anywhere in it: answer 1 if the excerpt contains what the description \
        describes, 0 if it does not. Reply with the answers only, as one list in order, e.g. [1, 0, 0, 1, 0].
        """

    static let fuzzingInstruction = """
        We are studying neurons inside a language model. Each neuron responds to some pattern in text. You will be \
        given a description of what one neuron responds to and a numbered list of text excerpts in which some \
        tokens are marked <<like this>>. For each excerpt, decide whether the marked tokens are the ones the \
        description describes: answer 1 if they are, 0 if the marking is off. Reply with the answers only, as one \
        list in order, e.g. [1, 0, 0, 1, 0].
        """

    static let intruderInstruction = """
        We are studying neurons inside a language model. Each neuron responds to some pattern in text. You will see \
        a numbered list of text excerpts in which some tokens are marked <<like this>>. In all but one of them, the \
        marked tokens are where one neuron is active, so they share a pattern; the remaining excerpt is an \
        intruder that does not fit. Name the intruder: reply with its number only.
        """

    static let intruderExample: ([([String], [Int])], Int) = (
        [
            (["It", " cost", " 12", " dollars"], [3]), (["She", " paid", " in", " euros"], [3]),
            (["The", " river", " was", " cold"], [1]), (["About", " 300", " pounds", " a", " week"], [2]),
        ],
        3
    )

    /// Chat messages asking which of the examples is the intruder.
    public static func intruder(examples: [JudgeExample]) -> [[String: String]] {
        func question(_ lines: [String]) -> String {
            "\(numbered(lines))\n\nThe intruder is excerpt number (1–\(lines.count)):"
        }
        return [
            ["role": "system", "content": intruderInstruction],
            ["role": "user", "content": question(intruderExample.0.map { excerptLine($0.0, highlighted: $0.1) })],
            ["role": "assistant", "content": "\(intruderExample.1)"],
            [
                "role": "user",
                "content": question(examples.map { excerptLine($0.tokens, highlighted: $0.highlighted) }),
            ],
        ]
    }

    /// The intruder's index (0-based), read strictly: the reply must hold exactly one whole number, from 1 to
    /// `count`.
    public static func intruderAnswer(_ reply: String, count: Int) -> Result<Int, LLMError> {
        let numbers = reply.split { !$0.isNumber }.map(String.init)
        guard numbers.count == 1, let number = Int(numbers[0]) else {
            return .failure(
                .invalidReply(
                    numbers.isEmpty
                        ? "the reply names no excerpt number" : "the reply has \(numbers.count) numbers, not one"))
        }
        guard (1...count).contains(number) else {
            return .failure(.invalidReply("the reply names excerpt \(number), not one of 1–\(count)"))
        }
        return .success(number - 1)
    }

    /// Worked examples: (description, excerpts as (tokens, highlighted positions), answers). Written for this
    /// project.
    static let detectionExample: (String, [[String]], [Int]) = (
        "amounts of money, especially the currency word after a number",
        [
            ["The", " harvest", " was", " sold", " for", " 12", " dollars", "."],
            ["She", " opened", " the", " door", " slowly", "."],
            ["It", " cost", " about", " 300", " euros", " a", " month"],
        ],
        [1, 0, 1]
    )
    static let fuzzingExample: (String, [([String], [Int])], [Int]) = (
        "opening quotation marks that start spoken words",
        [
            (["She", " said", " \"", "Hello", "\"", " and", " left"], [2]),
            (["He", " whispered", " \"", "Wait", ",\"", " then", " ran"], [5]),
            (["\"", "Stop", "!\"", " they", " shouted"], [0]),
        ],
        [1, 0, 1]
    )

    /// An excerpt as one line: tokens joined, line breaks and tabs escaped, highlighted runs wrapped in << >>.
    static func excerptLine(_ tokens: [String], highlighted: [Int] = []) -> String {
        let marked = Set(highlighted)
        var text = ""
        for (i, token) in tokens.enumerated() {
            let opens = marked.contains(i) && !marked.contains(i - 1)
            let closes = marked.contains(i) && !marked.contains(i + 1)
            text += (opens ? "<<" : "") + visible(token) + (closes ? ">>" : "")
        }
        return text
    }

    static func numbered(_ lines: [String]) -> String {
        lines.enumerated().map { "Excerpt \($0.offset + 1): \($0.element)" }.joined(separator: "\n")
    }

    static func judgeQuestion(_ explanation: String, _ lines: [String]) -> String {
        "Neuron description: \(explanation)\n\n\(numbered(lines))\n\nAnswers (\(lines.count), in order):"
    }

    /// Chat messages asking whether the neuron fires on each example (detection) or whether each example's
    /// highlighted tokens are the described ones (fuzzing).
    public static func judge(task: JudgeTask, explanation: String, examples: [JudgeExample]) -> [[String: String]] {
        let lines = examples.map { excerptLine($0.tokens, highlighted: task == .fuzzing ? $0.highlighted : []) }
        let (instruction, exampleDescription, exampleLines, exampleAnswers): (String, String, [String], [Int])
        switch task {
        case .detection:
            (instruction, exampleDescription, exampleLines, exampleAnswers) = (
                detectionInstruction, detectionExample.0, detectionExample.1.map { excerptLine($0) },
                detectionExample.2
            )
        case .fuzzing:
            (instruction, exampleDescription, exampleLines, exampleAnswers) = (
                fuzzingInstruction, fuzzingExample.0,
                fuzzingExample.1.map { excerptLine($0.0, highlighted: $0.1) }, fuzzingExample.2
            )
        }
        return [
            ["role": "system", "content": instruction],
            ["role": "user", "content": judgeQuestion(exampleDescription, exampleLines)],
            ["role": "assistant", "content": "[" + exampleAnswers.map(String.init).joined(separator: ", ") + "]"],
            ["role": "user", "content": judgeQuestion(explanation, lines)],
        ]
    }

    /// The judge's answers, read strictly: the first bracketed list in the reply must hold exactly `count`
    /// entries, each 0 or 1. Anything else is an error with the reason, never a guess.
    public static func judgeAnswers(_ reply: String, count: Int) -> Result<[Bool], LLMError> {
        guard let open = reply.firstIndex(of: "["), let close = reply[open...].firstIndex(of: "]") else {
            return .failure(.invalidReply("the reply has no [..] list of answers"))
        }
        let inside = reply[reply.index(after: open)..<close]
        let entries = inside.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if entries.count == 1 && entries[0].isEmpty {
            return .failure(.invalidReply("the reply's list is empty, for \(count) examples"))
        }
        guard entries.count == count else {
            return .failure(.invalidReply("the reply has \(entries.count) answers for \(count) examples"))
        }
        var answers: [Bool] = []
        for (index, entry) in entries.enumerated() {
            guard entry == "0" || entry == "1" else {
                return .failure(.invalidReply("answer \(index + 1) is \"\(entry)\", not 0 or 1"))
            }
            answers.append(entry == "1")
        }
        return .success(answers)
    }

    /// P("1") / (P("0") + P("1")) at each answer token, from chat `logprobs.content` (each position's
    /// `top_logprobs`). Nil when the reply has no log-probabilities, or when their answer tokens do not line up
    /// with the `count` answers (then AUROC is undefined for the unit; the answers still count).
    public static func judgeConfidences(_ object: [String: Any], count: Int) -> [Double]? {
        guard let choice = (object["choices"] as? [[String: Any]])?.first,
            let content = (choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]]
        else { return nil }
        // Tokenizers may fuse an answer with its punctuation ("[1", " 0", "1,"): compare what is left without it.
        func core(_ token: String) -> String { token.filter { !" [],\n".contains($0) } }
        var confidences: [Double] = [], inList = false
        for position in content {
            guard let token = position["token"] as? String else { return nil }
            if token.contains("[") { inList = true }
            let answer = core(token)
            if inList && (answer == "0" || answer == "1") {
                var p0 = 0.0, p1 = 0.0
                for alternative in position["top_logprobs"] as? [[String: Any]] ?? [] {
                    guard let candidate = (alternative["token"] as? String).map(core),
                        let logprob = (alternative["logprob"] as? NSNumber)?.doubleValue
                    else { continue }
                    if candidate == "0" { p0 += exp(logprob) }
                    if candidate == "1" { p1 += exp(logprob) }
                }
                guard p0 + p1 > 0 else { return nil }
                confidences.append(p1 / (p0 + p1))
            }
            if inList && token.contains("]") { break }
        }
        return confidences.count == count ? confidences : nil
    }
}
