import ActivationStore
import Foundation
import Sampling

/// Writes one layer's neurons: a second thread encodes them (statistics to JSON, activations compressed) a chunk
/// ahead while this thread inserts the previous chunk, so compression and SQLite overlap on two cores.
enum NeuronWriter {
    static let chunk = 128

    static func write(_ samplers: LayerSampler, neuronCount: Int, to database: ActivationDatabase) throws {
        let chunks = stride(from: 0, to: neuronCount, by: chunk).map { $0..<min(neuronCount, $0 + chunk) }
        let pipeline = Pipeline(chunks.count)
        let encoder = Thread {
            for (index, range) in chunks.enumerated() {
                pipeline.room.wait()
                if pipeline.isCancelled { break }
                pipeline.put(index, Result { try range.map { try samplers.encodedNeuron($0) } })
            }
        }
        encoder.start()
        defer { pipeline.cancel() }
        for index in chunks.indices {
            for neuron in try pipeline.take(index).get() { try database.write(neuron) }
        }
    }

    /// Chunks handed from the encoder thread to the writer, at most 4 ahead.
    private final class Pipeline: @unchecked Sendable {
        let room = DispatchSemaphore(value: 4)
        private let ready: [DispatchSemaphore]
        private var results: [Result<[ActivationDatabase.EncodedNeuron], any Error>?]
        private let lock = NSLock()
        private var cancelled = false
        var isCancelled: Bool { lock.withLock { cancelled } }

        init(_ count: Int) {
            ready = (0..<count).map { _ in DispatchSemaphore(value: 0) }
            results = Array(repeating: nil, count: count)
        }

        func put(_ index: Int, _ result: Result<[ActivationDatabase.EncodedNeuron], any Error>) {
            lock.withLock { results[index] = result }
            ready[index].signal()
        }

        func take(_ index: Int) -> Result<[ActivationDatabase.EncodedNeuron], any Error> {
            ready[index].wait()
            defer { room.signal() }
            return lock.withLock {
                let result = results[index]!
                results[index] = nil
                return result
            }
        }

        /// Lets the encoder thread finish early (after an error here).
        func cancel() {
            lock.withLock { cancelled = true }
            for _ in 0..<4 { room.signal() }
        }
    }
}
