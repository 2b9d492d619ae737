/// A unit's records as schema version 3 stores them: one `records` blob in the unit's row instead of one SQL row per
/// record. A 131,072-token GPT-2 small run selects 6.7 million records; inserting them as rows was half of the final
/// write (12 of 23 s, BENCHMARKS.md). Each record is 16 bytes, little-endian, in the order its values have in the
/// unit's activations blob (so record r's values start where record r − 1's end):
///
/// | bytes | field | type |
/// |---|---|---|
/// | 0 | kind: 0 top, 1 random, 2 quantile, 3 bottom | uint8 |
/// | 1 | bucket (quantile bucket 0...3; 0 for the other kinds) | uint8 |
/// | 2–3 | rank within (kind, bucket), from 0 | uint16 |
/// | 4–7 | excerpt id | uint32 |
/// | 8–11 | the unit's maximum over the excerpt | float32 |
/// | 12–15 | the unit's minimum over the excerpt | float32 |
enum PackedRecords {
    static let entryBytes = 16

    /// The records' entries, in the given order (the order of their activations). Throws for a rank, bucket or
    /// excerpt id beyond its field.
    static func encode(_ records: [StoredRecord], unit: NeuronID) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: records.count * entryBytes)
        for (index, record) in records.enumerated() {
            guard (0...Int(UInt8.max)).contains(record.bucket), (0...Int(UInt16.max)).contains(record.rank),
                (0...Int(UInt32.max)).contains(record.excerptID)
            else {
                throw ActivationStoreError.invalidArgument(
                    "record \(record.kind.rawValue) \(record.bucket)/\(record.rank) of unit \(unit) (excerpt \(record.excerptID)): bucket, rank or excerpt id too large for schema version \(ActivationSchema.version)"
                )
            }
            let base = index * entryBytes
            bytes[base] = record.kind.code
            bytes[base + 1] = UInt8(record.bucket)
            store(UInt32(record.rank), at: base + 2, width: 2, in: &bytes)
            store(UInt32(record.excerptID), at: base + 4, width: 4, in: &bytes)
            store(record.maxActivation.bitPattern, at: base + 8, width: 4, in: &bytes)
            store(record.minActivation.bitPattern, at: base + 12, width: 4, in: &bytes)
        }
        return bytes
    }

    /// The entries of a blob as records without activations, or why the blob is damaged.
    static func decode(_ bytes: [UInt8]) -> Result<[StoredRecord], Damage> {
        guard bytes.count % entryBytes == 0 else { return .failure(.length(bytes.count)) }
        var records: [StoredRecord] = []
        records.reserveCapacity(bytes.count / entryBytes)
        for base in stride(from: 0, to: bytes.count, by: entryBytes) {
            guard let kind = RecordKind(code: bytes[base]) else {
                return .failure(.kind(index: base / entryBytes, code: bytes[base]))
            }
            records.append(
                StoredRecord(
                    kind: kind, bucket: Int(bytes[base + 1]), rank: Int(load(base + 2, width: 2, bytes)),
                    excerptID: Int(load(base + 4, width: 4, bytes)),
                    maxActivation: Float(bitPattern: load(base + 8, width: 4, bytes)),
                    minActivation: Float(bitPattern: load(base + 12, width: 4, bytes)), activations: []))
        }
        return .success(records)
    }

    /// What makes a records blob unreadable.
    enum Damage: Error {
        case length(Int)
        case kind(index: Int, code: UInt8)

        var reason: String {
            switch self {
            case .length(let count): return "is \(count) bytes, not a whole number of \(entryBytes)-byte records"
            case .kind(let index, let code): return "has record \(index) of unknown kind \(code)"
            }
        }
    }

    private static func store(_ value: UInt32, at offset: Int, width: Int, in bytes: inout [UInt8]) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    private static func load(_ offset: Int, width: Int, _ bytes: [UInt8]) -> UInt32 {
        (0..<width).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
}

extension RecordKind {
    /// The kind's byte in a packed records blob (fixed by the schema, not by the order of the cases).
    var code: UInt8 {
        switch self {
        case .top: return 0
        case .random: return 1
        case .quantile: return 2
        case .bottom: return 3
        }
    }

    init?(code: UInt8) {
        guard let kind = RecordKind.allCases.first(where: { $0.code == code }) else { return nil }
        self = kind
    }
}
