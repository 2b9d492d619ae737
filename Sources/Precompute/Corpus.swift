import ActivationStore
import Foundation
import Support

/// One document of a corpus, cleaned: NUL bytes removed and invalid UTF-8 replaced by U+FFFD, both counted.
public struct CorpusDocument: Sendable {
    /// File, relative to the corpus path (the file's own name for a single-file corpus).
    public var source: String
    /// 1-based line of a .jsonl corpus; nil for .txt.
    public var line: Int?
    public var text: String
    public var invalidUTF8Replaced: Int
    public var nulRemoved: Int
}

/// A text corpus on disk: a directory of .txt files (one document each, in sorted path order, recursively), a
/// single .txt file, or a .jsonl / .jsonl.gz file with a "text" field per line. Documents are streamed, never
/// held together, and every byte read feeds a SHA-256 of the corpus (with file names) that identifies it.
public struct Corpus: Sendable {
    public enum Format: String, Codable, Sendable {
        case textDirectory = "txt-directory", textFile = "txt", jsonLines = "jsonl", gzipJSONLines = "jsonl.gz"
    }

    public let url: URL
    public let format: Format
    /// The files read, relative to `url` (empty string: `url` itself).
    public let files: [String]

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PrecomputeError.corpusNotFound(path: path)
        }
        self.url = url
        if isDirectory.boolValue {
            // A folder that cannot be listed is an error, never a silent gap in the corpus.
            nonisolated(unsafe) var unlisted: (URL, Error)?
            guard
                let enumerator = FileManager.default.enumerator(
                    at: url, includingPropertiesForKeys: [.isRegularFileKey], options: [],
                    errorHandler: { folder, error in
                        unlisted = unlisted ?? (folder, error)
                        return false
                    })
            else {
                throw PrecomputeError.unreadableCorpus(path: path, reason: "cannot list the directory")
            }
            let base = url.standardizedFileURL.path
            var files: [String] = []
            for case let file as URL in enumerator where file.pathExtension == "txt" {
                let full = file.standardizedFileURL.path
                files.append(String(full.dropFirst(base.count).drop { $0 == "/" }))
            }
            if let (folder, error) = unlisted {
                let reason = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.localizedDescription
                throw PrecomputeError.unreadableCorpus(
                    path: folder.path,
                    reason: "cannot list this folder of the corpus (\(reason ?? error.localizedDescription))")
            }
            guard !files.isEmpty else {
                throw PrecomputeError.unsupportedCorpus(path: path, reason: "the directory has no .txt files")
            }
            // Byte-wise order, the same on every file system and locale.
            self.files = files.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            format = .textDirectory
        } else if path.hasSuffix(".jsonl.gz") {
            format = .gzipJSONLines; files = [""]
        } else if path.hasSuffix(".jsonl") {
            format = .jsonLines; files = [""]
        } else if path.hasSuffix(".txt") {
            format = .textFile; files = [""]
        } else {
            throw PrecomputeError.unsupportedCorpus(path: path, reason: "unknown file type")
        }
    }

    /// Calls `body` with each non-empty document in corpus order; returns the corpus SHA-256 and what was skipped
    /// or repaired. `body` returns false to stop early (the hash then covers what was read).
    @discardableResult
    public func forEachDocument(
        _ body: (CorpusDocument) throws -> Bool
    ) throws -> (sha256: String, issues: CorpusIssues) {
        var hasher = SHA256Hex()
        var issues = CorpusIssues()
        var stop = false
        for file in files {
            if stop { break }
            let fileURL = file.isEmpty ? url : url.appendingPathComponent(file)
            let source = file.isEmpty ? url.lastPathComponent : file
            hasher.update(Data((source + "\n").utf8))
            switch format {
            case .textDirectory, .textFile:
                let bytes: Data
                do { bytes = try Data(contentsOf: fileURL) } catch {
                    throw PrecomputeError.unreadableCorpus(path: fileURL.path, reason: error.localizedDescription)
                }
                hasher.update(bytes)
                let document = Self.clean(Array(bytes), source: source, line: nil, issues: &issues)
                if let document { stop = !(try body(document)) }
            case .jsonLines, .gzipJSONLines:
                let reader = try LineReader(url: fileURL, gzip: format == .gzipJSONLines)
                var lineNumber = 0
                while !stop, let line = try reader.nextLine() {
                    lineNumber += 1
                    hasher.update(line)
                    hasher.update([0x0A])
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                    guard
                        let object = try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])
                            as? [String: Any]
                    else {
                        issues.malformedJSONLines += 1
                        issues.note("\(source):\(lineNumber): not a JSON object")
                        continue
                    }
                    guard let text = object["text"] as? String else {
                        issues.linesWithoutText += 1
                        issues.note("\(source):\(lineNumber): no string field \"text\"")
                        continue
                    }
                    if let document = Self.clean(Array(text.utf8), source: source, line: lineNumber, issues: &issues) {
                        stop = !(try body(document))
                    }
                }
            }
        }
        return (hasher.finalize(), issues)
    }

    /// Removes NUL bytes and replaces invalid UTF-8; nil (counted) for an empty document.
    static func clean(_ bytes: [UInt8], source: String, line: Int?, issues: inout CorpusIssues) -> CorpusDocument? {
        var bytes = bytes
        let nul = bytes.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        if nul > 0 { bytes.removeAll { $0 == 0 } }
        var invalid = 0
        let text: String
        if let valid = String(validating: bytes, as: UTF8.self) {
            text = valid
        } else {
            var scalars = String.UnicodeScalarView()
            var iterator = bytes.makeIterator()
            var decoder = UTF8()
            decoding: while true {
                switch decoder.decode(&iterator) {
                case let .scalarValue(scalar): scalars.append(scalar)
                case .error: invalid += 1; scalars.append("\u{FFFD}")
                case .emptyInput: break decoding
                }
            }
            text = String(scalars)
        }
        issues.nulBytesRemoved += nul
        issues.invalidUTF8Replaced += invalid
        guard !text.isEmpty else { issues.emptyDocuments += 1; return nil }
        return CorpusDocument(source: source, line: line, text: text, invalidUTF8Replaced: invalid, nulRemoved: nul)
    }
}

/// Reads a file line by line in 1 MB chunks (gzip-compressed or not), so a corpus of any size, or a single line
/// of 50 MB, streams in bounded memory beyond the line itself.
final class LineReader {
    private let gzip: GzipReader?
    private let handle: FileHandle?
    private let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var finished = false

    init(url: URL, gzip: Bool) throws {
        path = url.path
        if gzip {
            do { self.gzip = try GzipReader(path: url.path) } catch let error as SupportError {
                throw PrecomputeError.unreadableCorpus(path: url.path, reason: error.reason)
            }
            handle = nil
        } else {
            guard let file = FileHandle(forReadingAtPath: url.path) else {
                throw PrecomputeError.unreadableCorpus(path: url.path, reason: "cannot open")
            }
            handle = file
            self.gzip = nil
        }
    }

    deinit { try? handle?.close() }

    private func fill() throws -> Bool {
        let chunk = 1 << 20
        if let gzip {
            let bytes: [UInt8]
            do { bytes = try gzip.read(upTo: chunk) } catch let error as SupportError {
                throw PrecomputeError.unreadableCorpus(path: path, reason: error.reason)
            }
            buffer += bytes
            return !bytes.isEmpty
        }
        let data = try handle!.read(upToCount: chunk) ?? Data()
        buffer += data
        return !data.isEmpty
    }

    /// The next line without its "\n" (a final line without one counts), or nil at the end.
    func nextLine() throws -> [UInt8]? {
        var searchFrom = start
        while true {
            if let newline = buffer[searchFrom...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                if start > 1 << 22 { buffer.removeFirst(start); start = 0 }
                return line
            }
            searchFrom = buffer.count
            if try finished || !fill() {
                finished = true
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
        }
    }
}
