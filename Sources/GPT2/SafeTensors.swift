import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A memory-mapped `.safetensors` file, validated strictly when opened.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON
/// (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`), then raw little-endian tensor
/// data, offsets relative to the end of the header. Every entry's offsets and byte count are checked against the
/// file before any tensor is read, so a truncated or inconsistent file fails here with its name, not later with
/// garbage. Tensors are read on demand from the mapping; the file is never loaded whole.
public final class SafeTensorsFile: @unchecked Sendable {
    /// One header entry. `dtype` is kept as written so that unknown dtypes can be reported by name.
    public struct TensorInfo: Sendable, Equatable {
        public let dtype: String
        public let shape: [Int]
        /// Byte range within the data section.
        public let dataRange: Range<Int>
    }

    public let url: URL
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]

    private let mapping: UnsafeRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    /// Bytes per element of the dtypes the format defines, for checking offsets; only F32, F16 and BF16 are read.
    static let elementSize: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
        "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    ]

    public init(url: URL) throws {
        let path = url.path
        func invalid(_ reason: String) -> GPT2Error { .invalidSafetensors(path: path, reason: reason) }
        guard FileManager.default.fileExists(atPath: path) else {
            throw GPT2Error.fileNotFound(
                path: path,
                hint:
                    "A Hugging Face GPT-2 directory has model.safetensors (or model.safetensors.index.json and its shards)."
            )
        }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw GPT2Error.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw GPT2Error.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        let fileSize = Int(status.st_size)
        guard fileSize >= 8 else {
            throw invalid("the file is \(fileSize) bytes, too short for the 8-byte header length (truncated?)")
        }
        guard let pointer = mmap(nil, fileSize, PROT_READ, MAP_PRIVATE, descriptor, 0), pointer != MAP_FAILED else {
            throw GPT2Error.unreadableFile(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        let base = UnsafeRawPointer(pointer)
        var mappedSelf = false
        defer { if !mappedSelf { munmap(pointer, fileSize) } }

        let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(fileSize - 8) else {
            throw invalid("header length \(headerLength) runs past the end of the file (\(fileSize) bytes; truncated?)")
        }
        let headerData = Data(bytes: base + 8, count: Int(headerLength))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw invalid("the \(headerLength)-byte header is not a JSON object (malformed header JSON)")
        }
        let dataLength = fileSize - 8 - Int(headerLength)
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int],
                offsets.count == 2, shape.allSatisfy({ $0 >= 0 })
            else {
                throw invalid("header entry '\(name)' needs dtype, shape and data_offsets [begin, end]")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard 0 <= begin, begin <= end else {
                throw invalid("tensor '\(name)' has data_offsets [\(begin), \(end)]")
            }
            guard end <= dataLength else {
                throw invalid(
                    "tensor '\(name)' data_offsets [\(begin), \(end)] run past the end of the data (\(dataLength) bytes; truncated?)"
                )
            }
            if let size = Self.elementSize[dtype] {
                // A crafted shape could overflow the product: checked, never trapped or wrapped.
                var expected = size
                for dimension in shape {
                    let (product, overflow) = expected.multipliedReportingOverflow(by: dimension)
                    guard !overflow else { throw invalid("tensor '\(name)' has an impossible shape \(shape)") }
                    expected = product
                }
                guard end - begin == expected else {
                    throw invalid("tensor '\(name)' has \(end - begin) bytes but \(dtype) \(shape) needs \(expected)")
                }
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, dataRange: begin..<end)
        }
        self.url = url
        self.tensors = tensors
        self.metadata = metadata
        self.mapping = base
        self.mappedLength = fileSize
        self.dataStart = 8 + Int(headerLength)
        mappedSelf = true
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: mapping), mappedLength) }

    /// The tensor's values converted to Float32 (F32, F16 or BF16, little-endian), row-major.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = tensors[name] else { throw GPT2Error.missingTensor(name: name, path: url.path) }
        let source = mapping + dataStart + info.dataRange.lowerBound
        let count = info.shape.reduce(1, *)
        switch info.dtype {
        case "F32":
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                memcpy(buffer.baseAddress!, source, count * 4)
                initialized = count
            }
        case "F16":
            return (0..<count).map {
                Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))
            }
        case "BF16":
            return (0..<count).map {
                Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16)
            }
        default:
            throw GPT2Error.unsupportedDType(name: name, path: url.path, dtype: info.dtype)
        }
    }
}
