import Foundation
import GPT2

// Release-mode measurements driven by Scripts/bench-*; each prints one JSON line for the script to compare
// against its baseline. Usage:
//   neuronbench-bench tokenizer TOKENIZER_DIR TEXT_FILE [REPEATS]
//       Encodes the file in documents of about 16 KB (split at blank lines), best time of REPEATS runs.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("neuronbench-bench: \(message)\n".utf8))
    exit(1)
}

func documents(of text: String, size: Int) -> [String] {
    var documents: [String] = [], current = ""
    for paragraph in text.components(separatedBy: "\n\n") {
        current += paragraph + "\n\n"
        if current.utf8.count >= size { documents.append(current); current = "" }
    }
    if !current.isEmpty { documents.append(current) }
    return documents
}

let arguments = CommandLine.arguments
guard arguments.count >= 4, arguments[1] == "tokenizer" else {
    fail("usage: neuronbench-bench tokenizer TOKENIZER_DIR TEXT_FILE [REPEATS]")
}
do {
    let tokenizer = try GPT2Tokenizer(directory: URL(fileURLWithPath: arguments[2]))
    let text = try String(contentsOfFile: arguments[3], encoding: .utf8)
    let repeats = arguments.count > 4 ? Int(arguments[4]) ?? 5 : 5
    let docs = documents(of: text, size: 16_384)
    let bytes = docs.reduce(0) { $0 + $1.utf8.count }
    var best = Double.infinity, tokens = 0, checksum = 0
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        tokens = 0; checksum = 0
        for doc in docs {
            let ids = tokenizer.encode(doc)
            tokens += ids.count
            checksum = ids.reduce(checksum) { ($0 &* 31 &+ $1) & 0xFFFF_FFFF }
        }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    print(
        "{\"bytes\": \(bytes), \"documents\": \(docs.count), \"tokens\": \(tokens), \"checksum\": \(checksum), \"seconds\": \(best), \"mb_per_s\": \(Double(bytes) / best / 1e6)}"
    )
} catch {
    fail(error.localizedDescription)
}
