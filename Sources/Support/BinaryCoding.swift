import Foundation

/// Raw little-endian arrays, for checkpointing sampler state (a process on the same machine reads it back). The
/// reader checks every count and length against the bytes it has; the values are the caller's to check.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write<T: BitwiseCopyable>(_ values: [T]) {
        withUnsafeBytes(of: UInt64(values.count).littleEndian) { bytes += $0 }
        values.withUnsafeBytes { bytes += $0 }
    }

    public mutating func write(_ value: Int) { write([Int64(value)]) }
}

public struct BinaryReader {
    public enum Failure: LocalizedError {
        case truncated, countMismatch(expected: Int, found: Int), outOfRange

        public var errorDescription: String? {
            switch self {
            case .truncated: return "the checkpoint data ends early"
            case let .countMismatch(expected, found): return "an array holds \(found) values where \(expected) belong"
            case .outOfRange: return "a value lies outside its range"
            }
        }
    }

    private let bytes: [UInt8]
    private var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Reads an array written by `BinaryWriter.write`, which must hold `expected` elements.
    public mutating func read<T: BitwiseCopyable>(_ expected: Int) throws -> [T] {
        guard position + 8 <= bytes.count else { throw Failure.truncated }
        let count = Int(
            bytes[position..<(position + 8)].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        )
        position += 8
        guard count == expected else { throw Failure.countMismatch(expected: expected, found: count) }
        let length = count * MemoryLayout<T>.stride
        guard position + length <= bytes.count else { throw Failure.truncated }
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: source[position..<(position + length)]))
            }
            initialized = count
        }
        position += length
        return values
    }

    public mutating func readInt() throws -> Int { Int((try read(1) as [Int64])[0]) }
}
