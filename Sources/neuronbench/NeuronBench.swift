import ArgumentParser

@main
struct NeuronBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "neuronbench")
}
