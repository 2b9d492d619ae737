import ActivationStore
import ArgumentParser
import Evaluation
import Foundation
import Interop
import Support

/// `neuronbench export`: a database and a run in other tools' formats.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write records and scored explanations in other tools' formats.",
        subcommands: [ExportOpenAICommand.self, ExportNeuronpediaCommand.self])
}

/// `neuronbench export openai`: OpenAI neuron-explainer's `collated-activations` and `explanations` trees.
struct ExportOpenAICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openai",
        abstract:
            "Write OpenAI NeuronRecords (collated-activations/) and, with --run, NeuronSimulationResults (explanations/).",
        discussion: """
            Files: DIR/collated-activations/{layer}/{neuron}.json and, with --run, DIR/explanations/{layer}/{neuron}.jsonl, \
            each with a {neuron}.neuronbench.json sidecar for what OpenAI's format has no field for. Each tree is \
            swapped into place whole. Field by field: Schemas/interop.md.
            """)

    @Option(help: "The activation database (default with --run: the run's own, checked by fingerprint).")
    var db: String?
    @Option(help: "Neurons: all, 3, 2-4, 3:17, 3:100-199, random:N (comma-separated).")
    var neurons: String?
    @Option(name: .customLong("run"), help: "An evaluation run whose simulation scores to write as explanations/.")
    var runDirectory: String?
    @Option(help: "With --run: the simulation scorer to write, e.g. simulation:keyword (default: the run's first).")
    var scorer: String?
    @Option(help: "The directory to write (created if missing).")
    var out: String
    @Option(help: "Seed of random:N in --neurons.")
    var seed: UInt64 = 0

    func validate() throws {
        guard db != nil || runDirectory != nil else { throw ValidationError("Give --db, --run, or both.") }
        if scorer != nil && runDirectory == nil { throw ValidationError("--scorer needs --run.") }
    }

    func run() throws {
        try reportingErrors {
            let contents = try runDirectory.map { try RunContents(directory: $0) }
            let reader =
                if let contents { try openRunDatabase(db, for: contents).0 } else { try NeuronRecordReader(path: db!) }
            let selected = try NeuronSelection.select(neurons, from: try reader.neuronIDs(), seed: seed)
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let display = ProgressDisplay()
            let started = Date()
            let written = try OpenAIExport.records(from: reader, neurons: selected, to: directory) { done, total in
                if done % 256 == 0 || done == total {
                    display.report(
                        ProgressReport(
                            phase: "records", done: done, total: total, unit: "units",
                            elapsed: Date().timeIntervalSince(started)))
                }
            }
            var lines = ["wrote \(directory.path)/\(OpenAIExport.recordsFolder): \(written) NeuronRecords (+ sidecars)"]
            if let contents {
                let s = try OpenAIExport.explanations(
                    run: contents, reader: reader, scorer: scorer, to: directory)
                lines.append(
                    "wrote \(directory.path)/\(OpenAIExport.explanationsFolder): \(s.neurons) neurons, \(s.explanations) scored explanations (\(s.scorer)); \(s.allUndefined) neurons whose every score is undefined (neuron-viewer cannot show them); \(s.leftOut) failed, missing or dead rows left out"
                )
            }
            FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
    }
}

/// `neuronbench export neuronpedia`: a Neuronpedia export (features, activations, explanations).
struct ExportNeuronpediaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neuronpedia",
        abstract:
            "Write a Neuronpedia export: {out}/{model-id}/{source-id}/{features,activations,explanations}/batch-N.jsonl.gz.",
        discussion: """
            One Neuronpedia source per layer: put {layer} in --source-id when the units span layers (Neuronpedia's ids \
            are LAYER-SET, e.g. gpt2-small/6-res-jb/1234). Field by field: Schemas/interop.md.
            """)

    @Option(help: "The activation database (default: the run's own, checked by fingerprint).")
    var db: String?
    @Option(name: .customLong("run"), help: "The evaluation run whose explanations to export.")
    var runDirectory: String
    @Option(help: "Neuronpedia's model id, e.g. gpt2-small.")
    var modelId: String
    @Option(help: "Neuronpedia's source id, {layer} standing for the layer, e.g. {layer}-res-jb.")
    var sourceId: String
    @Option(help: "creatorId and authorId of every object.")
    var creatorId = "neuronbench"
    @Option(help: "Features per batch file.")
    var batchSize = 128
    @Option(help: "Neurons: all, 3, 2-4, 3:17, 3:100-199, random:N (comma-separated).")
    var neurons: String?
    @Option(help: "The directory to write (created if missing).")
    var out: String
    @Option(help: "Seed of random:N in --neurons.")
    var seed: UInt64 = 0

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive.") }
    }

    func run() throws {
        try reportingErrors {
            let contents = try RunContents(directory: runDirectory)
            let (reader, path) = try openRunDatabase(db, for: contents)
            let selected = try NeuronSelection.select(neurons, from: try reader.neuronIDs(), seed: seed)
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var options = NeuronpediaExport.Options(
                modelID: modelId, sourceID: sourceId, createdAt: ISO8601DateFormatter().string(from: Date()))
            options.creatorID = creatorId
            options.batchSize = batchSize
            let s = try NeuronpediaExport.write(
                reader: reader, run: contents, neurons: selected, options: options, to: directory)
            FileHandle.standardError.write(
                Data(
                    "wrote \(directory.path)/{\(s.sources.joined(separator: ", "))}: \(s.features) features, \(s.activations) activations, \(s.explanations) explanations in \(s.batches) batches (from \(path))\n"
                        .utf8))
        }
    }
}

/// The database a run was scored on (or `db`), refused when its fingerprint is not the run's.
func openRunDatabase(_ db: String?, for contents: RunContents) throws -> (NeuronRecordReader, String) {
    let path = db ?? contents.manifest.database
    let reader = try NeuronRecordReader(path: path)
    if let expected = contents.manifest.databaseFingerprint {
        let found = try reader.database.fingerprint()
        guard found == expected else {
            throw InteropError.invalidRequest(
                "\(path) is not the database \(contents.directory) was scored on (fingerprint \(found), the run's \(expected)); give the run's own with --db"
            )
        }
    }
    return (reader, path)
}
