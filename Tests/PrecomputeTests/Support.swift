import Foundation
import TestSupport

enum Paths {
    static let root = TestSupport.repositoryRoot
    /// The fixture checkpoint with GPT-2's real vocabulary (2 layers × 32 neurons, 64 positions).
    static let model = root.appendingPathComponent("Tests/GPT2Tests/Resources/checkpoints/f16-prefixed")
    static let tokenizer = root.appendingPathComponent("Models/gpt2-tokenizer")
    static let testCorpus = root.appendingPathComponent("Corpora/test-corpus").path
}
