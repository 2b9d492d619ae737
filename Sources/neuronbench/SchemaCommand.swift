import ActivationStore
import ArgumentParser

/// `neuronbench schema`: the activation database's SQL (what Schemas/activations.sql holds).
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Print the activation database schema (SQL).")

    func run() { print(ActivationSchema.sql, terminator: "") }
}
