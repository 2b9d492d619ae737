import Dispatch
import Foundation

/// The one thread budget: every parallel loop in neuronbench (matrix multiplies split by rows, attention by
/// sequence and head, activations, samplers, compression) runs on Dispatch's pool of one thread per core (GPT2
/// holds OpenBLAS to one thread per call). Two thread pools on the same cores would oversubscribe them: OpenBLAS's
/// idle workers spin (sched_yield) while the other pool works.
public enum Parallel {
    /// Worker count: the cores this process may use.
    public static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(i)` for i in 0..<count on all cores. `body` must only write index-disjoint state.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count == 1 { body(0); return }
        withoutActuallyEscaping(body) { body in
            let work = Unchecked(value: body)
            DispatchQueue.concurrentPerform(iterations: count) { work.value($0) }
        }
    }

    /// `body(0..<count)` on all cores, results in order; the first error (by index) is rethrown. `body` must only
    /// write index-disjoint state.
    public static func map<T>(_ count: Int, _ body: (Int) throws -> T) throws -> [T] {
        var results = [Result<T, any Error>?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buffer in
            let out = Unchecked(value: buffer)
            forEach(count) { i in out.value[i] = Result { try body(i) } }
        }
        return try results.map { try $0!.get() }
    }
}

/// Hands a value to concurrently running closures; the caller guarantees they touch disjoint parts of it.
public struct Unchecked<T>: @unchecked Sendable {
    public let value: T
    public init(value: T) { self.value = value }
}
