import Dispatch

/// Work spread over the machine's cores with Dispatch (one thread per core; the matrix multiplies' OpenBLAS
/// threads are idle while this runs, so the two never oversubscribe the cores).
enum Parallel {
    /// `body(0..<count)` on all cores, results in order; the first error (by index) is rethrown. `body` must be
    /// safe to call concurrently for different indices (it may only write to index-disjoint state).
    static func map<T>(_ count: Int, _ body: (Int) throws -> T) throws -> [T] {
        var results = [Result<T, any Error>?](repeating: nil, count: count)
        withoutActuallyEscaping(body) { body in
            let work = Unchecked(value: body)
            results.withUnsafeMutableBufferPointer { buffer in
                let out = Unchecked(value: buffer)
                DispatchQueue.concurrentPerform(iterations: count) { i in out.value[i] = Result { try work.value(i) } }
            }
        }
        return try results.map { try $0!.get() }
    }
}

/// Hands a value to concurrently running closures; the caller guarantees they touch disjoint parts of it.
struct Unchecked<T>: @unchecked Sendable {
    let value: T
}
