import Evaluation
import Foundation

/// `detection:llm`, `fuzzing:llm` and `intruder:llm`: the judge over a chat-completions API (any OpenAI-compatible server), with
/// the client's retries, cache, concurrency limit and cost ledger. Each call asks for `top_logprobs` so that the
/// answer tokens' probabilities give graded confidences for AUROC where the server returns them; a server that
/// does not still gives yes/no answers (AUROC is then undefined, with that reason).
public struct LLMJudge: Judge {
    public let client: LLMClient
    public var name: String { "llm(\(client.configuration.model))" }

    public init(client: LLMClient) { self.client = client }

    public func judge(_ requests: [JudgeRequest]) async -> [Result<[JudgeAnswer], EvaluationError>] {
        await concurrently(requests) { request in
            await judge(request).mapError { .judgeFailed($0.localizedDescription) }
        }
    }

    /// The request body of one judge call (also what `--dry-run` counts).
    public func body(_ request: JudgeRequest) -> [String: Any] {
        var fields: [String: Any] = [
            "messages": Prompts.judge(task: request.task, explanation: request.explanation, examples: request.examples),
            "max_tokens": 12 + 4 * request.examples.count, "logprobs": true, "top_logprobs": 5,
        ]
        fields["response_format"] = client.configuration.structuredOutput.responseFormat(
            name: "answers", schema: ReplySchema.judgeAnswers(count: request.examples.count), needsJSONMode: false)
        return client.configuration.body(fields)
    }

    func judge(_ request: JudgeRequest) async -> Result<[JudgeAnswer], LLMError> {
        await client.post("chat/completions", body(request), neuron: request.neuron) { object in
            guard let content = LLMSimulator.chatContent(object) else {
                return .failure(.invalidReply("the reply has no message content"))
            }
            return Prompts.judgeAnswers(content, count: request.examples.count).map { answers in
                let confidences = Prompts.judgeConfidences(object, count: answers.count)
                return answers.enumerated().map { JudgeAnswer(yes: $1, confidence: confidences?[$0]) }
            }
        }
    }

    public func pickIntruder(_ requests: [IntruderRequest]) async -> [Result<Int, EvaluationError>] {
        await concurrently(requests) { request in
            var fields: [String: Any] = ["messages": Prompts.intruder(examples: request.examples), "max_tokens": 12]
            fields["response_format"] = client.configuration.structuredOutput.responseFormat(
                name: "intruder", schema: ReplySchema.intruder(count: request.examples.count), needsJSONMode: false)
            let body = client.configuration.body(fields)
            let pick = await client.post("chat/completions", body, neuron: request.neuron) {
                object -> Result<Int, LLMError> in
                guard let content = LLMSimulator.chatContent(object) else {
                    return .failure(.invalidReply("the reply has no message content"))
                }
                return Prompts.intruderAnswer(content, count: request.examples.count)
            }
            return pick.mapError { .judgeFailed($0.localizedDescription) }
        }
    }
}
