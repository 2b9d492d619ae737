import Foundation

/// A test hook: with `NEURONBENCH_KILL_AFTER_COMMIT=N` in the environment, the process sends itself SIGKILL right
/// after its N-th commit (an SQLite transaction, or a run-directory file put in place), so tests can kill a
/// precompute, merge or evaluation at a known point instead of racing a timer. Unset, it does nothing.
public enum KillSwitch {
    private static let limit: Int? = ProcessInfo.processInfo.environment["NEURONBENCH_KILL_AFTER_COMMIT"].flatMap {
        Int($0)
    }
    private static let counter = Counter()

    /// Call after each commit.
    public static func committed() {
        guard let limit else { return }
        if counter.increment() == limit { kill(getpid(), SIGKILL) }
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() -> Int {
            lock.withLock {
                count += 1; return count
            }
        }
    }
}
