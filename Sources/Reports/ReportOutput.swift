import Evaluation
import Foundation
import Support

/// Which paths a report may be written to: never over its database, the run directory or the run's own files (a
/// report inside the run directory is fine: a new run carries it over), and over an existing file only
/// if that file is itself a neuronbench report (recognised by its generator tag, or by the title that reports
/// had before the tag).
enum ReportOutput {
    static let generator = "neuronbench \(NeuronbenchVersion.current)"
    private static let markers = ["<meta name=\"generator\" content=\"neuronbench", "<title>neuronbench report:"]

    static func check(_ path: String, runDirectory: String, databasePath: String) throws {
        let output = realPath(path)
        let database = realPath(databasePath)
        for input in [database] + ["-wal", "-shm", "-journal", ".lock"].map({ database + $0 }) where output == input {
            throw ReportError.cannotWrite(path: path, reason: "it is the report's database (\(databasePath))")
        }
        let run = realPath(runDirectory)
        if output == run {
            throw ReportError.cannotWrite(path: path, reason: "it is the run directory; name a file")
        }
        let runFiles = RunFile.allCases.map { run + "/" + $0.rawValue }
        if runFiles.contains(output) {
            throw ReportError.cannotWrite(path: path, reason: "it is one of the run's files (\(runDirectory))")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) else { return }
        guard !isDirectory.boolValue else { throw ReportError.cannotWrite(path: path, reason: "it is a directory") }
        let handle = FileHandle(forReadingAtPath: output)
        defer { try? handle?.close() }
        let text = String(decoding: (try? handle?.read(upToCount: 4096)) ?? Data(), as: UTF8.self)
        guard markers.contains(where: text.contains) else {
            throw ReportError.cannotWrite(
                path: path,
                reason: "the file exists and is not a neuronbench report; remove it or write the report elsewhere")
        }
    }

    /// The path with symbolic links resolved, also for a file that does not exist yet (its folder is resolved).
    static func realPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: url.path) { return url.resolvingSymlinksInPath().path }
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent)
            .path
    }
}
