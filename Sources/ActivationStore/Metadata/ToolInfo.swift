/// The program that wrote a database (metadata "tool").
public struct ToolInfo: Codable, Equatable, Sendable {
    public var name: String
    public var version: String

    public init(name: String = "neuronbench", version: String) {
        self.name = name
        self.version = version
    }
}
