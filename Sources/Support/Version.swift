/// The version written into databases, run manifests and `neuronbench --version`.
public enum NeuronbenchVersion {
    public static let current = "0.1.0"
}
