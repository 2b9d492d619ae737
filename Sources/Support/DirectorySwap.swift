import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Puts a directory built aside in the place of another in one step, so that readers see the old contents or the
/// new, never a mixture and never nothing: Linux's `renameat2(RENAME_EXCHANGE)` swaps the two names atomically.
/// Where it is missing (old kernels, other systems, some file systems) the old directory is renamed aside first,
/// which leaves a moment without one; a crash in that moment leaves the old contents under `staged`.
public enum DirectorySwap {
    /// Moves `staged` to `destination`; an existing `destination` is replaced and removed.
    public static func replace(_ destination: String, with staged: String) throws {
        guard FileManager.default.fileExists(atPath: destination) else {
            try rename(staged, destination)
            return
        }
        if exchange(staged, destination) {
            // `staged` now names the old directory.
            try? FileManager.default.removeItem(atPath: staged)
            return
        }
        let aside = staged + ".previous"
        try? FileManager.default.removeItem(atPath: aside)
        try rename(destination, aside)
        try rename(staged, destination)
        try? FileManager.default.removeItem(atPath: aside)
    }

    private static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw SupportError.writeFailed(
                path: to, reason: "cannot rename \(from) to it (\(String(cString: strerror(errno))))")
        }
    }

    private typealias RenameAt2 =
        @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32

    /// glibc ≥ 2.28 has `renameat2`, but Swift's Glibc module does not declare it: looked up at run time.
    private static let renameAt2: RenameAt2? = dlsym(nil, "renameat2").map { unsafeBitCast($0, to: RenameAt2.self) }

    private static func exchange(_ a: String, _ b: String) -> Bool {
        guard let renameAt2 else { return false }
        let exchangeFlag: UInt32 = 2  // RENAME_EXCHANGE
        return renameAt2(AT_FDCWD, a, AT_FDCWD, b, exchangeFlag) == 0
    }
}
