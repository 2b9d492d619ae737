import ActivationStore
import ArgumentParser
import Foundation
import Precompute
import Support

@main
struct NeuronBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neuronbench",
        abstract:
            "Automated neuron interpretability for GPT-2: record MLP neurons, explain them, score the explanations.",
        version: "neuronbench \(NeuronbenchVersion.current)",
        subcommands: [
            TokenizeCommand.self, ActivationsCommand.self, PrecomputeCommand.self, InspectCommand.self,
            MergeCommand.self, SchemaCommand.self, EvaluateCommand.self, CompareCommand.self, TableCommand.self,
            ExportCommand.self,
            PuzzlesCommand.self,
            ReportCommand.self,
        ]
    )
}

/// Runs a command body, turning any error into one line on stderr and exit status 1 (no stack trace).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        throw reported(error)
    }
}

func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        throw reported(error)
    }
}

private func reported(_ error: Error) -> Error {
    if error is ExitCode || error is ValidationError { return error }
    let line = TerminalText.escaped(
        SecretRedaction.redact("\(error.localizedDescription)\(flagHint(error))"), newline: " ")
    FileHandle.standardError.write(Data("neuronbench: error: \(line)\n".utf8))
    return ExitCode.failure
}

/// Where a library error has a remedy that is a command-line flag, the CLI names it (libraries do not).
private func flagHint(_ error: Error) -> String {
    switch error {
    case ActivationStoreError.incomplete: return " `neuronbench inspect --allow-incomplete` reads it anyway."
    case let PrecomputeError.tooMuchMemory(_, _, _, _, _, split?) where split.count > 1:
        return " Flags: " + split.map { "--layers \($0.layerListSpelling)" }.joined(separator: ", then ")
            + "; --max-memory-gb sets the limit."
    case PrecomputeError.tooMuchMemory:
        return
            " Flags: --layers, --top-k, --random-k, --quantile-k, --bottom-k, --excerpt-tokens; --max-memory-gb sets the limit."
    case PrecomputeError.databaseMismatch: return " Use another --out file."
    default: return ""
    }
}

/// Writes `value` as one line of JSON to stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
}
