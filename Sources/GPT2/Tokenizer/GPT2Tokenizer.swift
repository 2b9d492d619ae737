import Foundation

/// GPT-2's byte-level BPE tokenizer, read from a Hugging Face `vocab.json` and `merges.txt`.
///
/// Byte-exact with tiktoken's `r50k_base` `encode_ordinary`: `<|endoftext|>` in the text is encoded as ordinary
/// text, never as the special token (corpus text must not be able to inject document boundaries).
public struct GPT2Tokenizer: Sendable {
    /// The bytes each token id stands for.
    public let tokenBytes: [[UInt8]]
    private let encoder: BytePairEncoder

    public var vocabularySize: Int { tokenBytes.count }

    /// Reads `vocab.json` and `merges.txt` from `directory`.
    public init(directory: URL) throws {
        try self.init(
            vocabulary: directory.appendingPathComponent("vocab.json"),
            merges: directory.appendingPathComponent("merges.txt"))
    }

    public init(vocabulary vocabularyURL: URL, merges mergesURL: URL) throws {
        let hint =
            "Hint: run Scripts/fetch-assets, or name a tokenizer directory with GPT-2's vocab.json and merges.txt."
        let vocabularyData = try readFile(vocabularyURL, hint: hint)
        let mergesData = try readFile(mergesURL, hint: hint)

        // vocab.json: {token spelled in byte-encoder characters: id}, ids dense from 0.
        let vocabularyPath = vocabularyURL.path
        guard let object = try? JSONSerialization.jsonObject(with: vocabularyData),
            let vocabulary = object as? [String: Int]
        else {
            throw GPT2Error.invalidTokenizerFile(
                path: vocabularyPath, line: nil,
                reason: "expected a JSON object mapping token strings to integer ids")
        }
        var tokenBytes = [[UInt8]?](repeating: nil, count: vocabulary.count)
        for (token, id) in vocabulary {
            guard id >= 0 && id < vocabulary.count, tokenBytes[id] == nil else {
                throw GPT2Error.invalidTokenizerFile(
                    path: vocabularyPath, line: nil,
                    reason:
                        "ids must be distinct and in 0..<\(vocabulary.count); found \(id) for \(token.debugDescription)"
                )
            }
            // The special token is the only entry not spelled in byte-encoder characters.
            tokenBytes[id] = ByteEncoder.bytes(ofToken: token) ?? Array(token.utf8)
        }
        self.tokenBytes = tokenBytes.map { $0! }

        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            guard let id = vocabulary[String(ByteEncoder.scalarForByte[byte])] else {
                throw GPT2Error.invalidTokenizerFile(
                    path: vocabularyPath, line: nil,
                    reason: "no token for byte \(byte)")
            }
            byteTokens[byte] = Int32(id)
        }

        // merges.txt: "#version: 0.2", then one "left right" pair per line in priority order.
        let mergesPath = mergesURL.path
        guard let mergesText = String(data: mergesData, encoding: .utf8) else {
            throw GPT2Error.invalidTokenizerFile(path: mergesPath, line: nil, reason: "not valid UTF-8")
        }
        var merges: [UInt64: BytePairEncoder.Merge] = [:]
        merges.reserveCapacity(vocabulary.count)
        var rank: Int32 = 0
        for (index, line) in mergesText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || (index == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, let left = vocabulary[String(parts[0])], let right = vocabulary[String(parts[1])],
                let result = vocabulary[String(parts[0] + parts[1])]
            else {
                throw GPT2Error.invalidTokenizerFile(
                    path: mergesPath, line: index + 1,
                    reason:
                        "expected two vocabulary tokens whose concatenation is a token, got \(String(line).debugDescription)"
                )
            }
            merges[BytePairEncoder.key(Int32(left), Int32(right))] = .init(rank: rank, result: Int32(result))
            rank += 1
        }
        self.encoder = BytePairEncoder(merges: merges, byteTokens: byteTokens)
    }

    /// The token ids of `text`.
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { encode(utf8: $0) }
    }

    /// The token ids of UTF-8 text (which must be valid UTF-8).
    public func encode(utf8: UnsafeBufferPointer<UInt8>) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(utf8.count / 3)
        // Natural text repeats its words; caching each short piece's tokens makes encoding several times faster.
        var cache: [ArraySlice<UInt8>: Range<Int>] = [:]
        var cached: [Int] = []
        PreTokenizer.split(utf8) { start, end in
            let piece = UnsafeBufferPointer(rebasing: utf8[start..<end])
            guard piece.count <= 32 else { encoder.encode(piece, into: &ids); return }
            let key = ArraySlice(piece)
            if let range = cache[key] {
                ids.append(contentsOf: cached[range])
            } else {
                let first = cached.count
                encoder.encode(piece, into: &cached)
                cache[key] = first..<cached.count
                ids.append(contentsOf: cached[first...])
            }
        }
        return ids
    }

    /// The bytes that `ids` stand for. A sequence that ends in the middle of a UTF-8 character keeps those bytes.
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            guard id >= 0 && id < tokenBytes.count else {
                throw GPT2Error.unknownTokenID(id: id, vocabularySize: tokenBytes.count)
            }
            bytes.append(contentsOf: tokenBytes[id])
        }
        return bytes
    }

    /// The text that `ids` stand for; bytes that are not valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int]) throws -> String {
        String(decoding: try decodeBytes(ids), as: UTF8.self)
    }

    /// Each token's own text, as a viewer shows it (a token that is part of a character shows U+FFFD).
    public func tokenStrings(_ ids: [Int]) throws -> [String] {
        try ids.map { try decode([$0]) }
    }
}

/// Reads a whole file, turning "not there" into an error that names it and says what to do.
func readFile(_ url: URL, hint: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw GPT2Error.fileNotFound(path: url.path, hint: hint)
    }
    do {
        return try Data(contentsOf: url)
    } catch {
        throw GPT2Error.unreadableFile(path: url.path, reason: error.localizedDescription)
    }
}
