import ActivationStore
import Foundation
import Sampling

/// Writes one layer's neurons: one encoder thread per core encodes them (statistics to JSON, activations
/// compressed: most of the write's CPU once records are packed) up to 4 chunks ahead, while this thread inserts the
/// chunks in order, so compression runs on every core and SQLite overlaps it.
enum NeuronWriter {
    static let chunk = 128

    static func write(_ samplers: LayerSampler, neuronCount: Int, to database: ActivationDatabase) throws {
        let chunks = stride(from: 0, to: neuronCount, by: chunk).map { $0..<min(neuronCount, $0 + chunk) }
        let pipeline = Pipeline(chunks.count)
        for _ in 0..<max(1, ProcessInfo.processInfo.activeProcessorCount) {
            // Room first, then the next chunk: the chunks holding room are always the lowest unfinished ones, so
            // the one the writer waits for is being encoded (no deadlock however the threads interleave).
            Thread {
                while true {
                    pipeline.room.wait()
                    guard !pipeline.isCancelled, let index = pipeline.claim() else { break }
                    pipeline.put(index, Result { try chunks[index].map { try samplers.encodedNeuron($0) } })
                }
            }.start()
        }
        defer { pipeline.cancel() }
        for index in chunks.indices {
            for neuron in try pipeline.take(index).get() { try database.write(neuron) }
        }
    }

    /// Chunks handed from the encoder threads to the writer, at most 4 ahead.
    private final class Pipeline: @unchecked Sendable {
        let room = DispatchSemaphore(value: 4)
        private let ready: [DispatchSemaphore]
        private var results: [Result<[ActivationDatabase.EncodedNeuron], any Error>?]
        private let lock = NSLock()
        private var cancelled = false
        private var claimed = 0
        var isCancelled: Bool { lock.withLock { cancelled } }

        /// The next chunk no encoder has taken, if any.
        func claim() -> Int? {
            lock.withLock {
                guard claimed < results.count else { return nil }
                defer { claimed += 1 }
                return claimed
            }
        }

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

        /// Lets the encoder threads finish (early, after an error here): each waiting one wakes and stops.
        func cancel() {
            lock.withLock { cancelled = true }
            for _ in 0..<(4 + ProcessInfo.processInfo.activeProcessorCount) { room.signal() }
        }
    }
}
