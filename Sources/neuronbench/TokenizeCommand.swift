import ArgumentParser
import GPT2

/// `neuronbench tokenize`: GPT-2 token ids and token strings of a text.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Print the GPT-2 tokens of a text.")

    @OptionGroup var options: ModelOptions
    @Flag(help: "Print {\"ids\": [...], \"tokens\": [...]} instead of one token per line.")
    var json = false
    @Argument(help: "The text to tokenize.")
    var text: String

    struct Output: Encodable { let ids: [Int]; let tokens: [String] }

    func run() throws {
        try reportingErrors {
            let tokenizer = try options.loadTokenizer()
            let ids = tokenizer.encode(text)
            let tokens = try tokenizer.tokenStrings(ids)
            if json {
                try printJSON(Output(ids: ids, tokens: tokens))
            } else {
                for (id, token) in zip(ids, tokens) { print("\(id)\t\(token.debugDescription)") }
            }
        }
    }
}
