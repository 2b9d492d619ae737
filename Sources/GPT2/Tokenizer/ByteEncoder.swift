/// GPT-2's reversible map between bytes and printable Unicode characters (`bytes_to_unicode` in OpenAI's
/// `encoder.py`). The vocabulary is written in these characters, so every byte sequence has a spelling.
enum ByteEncoder {
    /// `scalar[b]` is the character that stands for byte `b`.
    static let scalarForByte: [Unicode.Scalar] = {
        // Printable Latin-1 bytes stand for themselves; the remaining 68 bytes are mapped, in order, to 256, 257, ….
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next = 256
        for byte in 0..<256 {
            if printable.contains(byte) {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(UInt32(next))!
                next += 1
            }
        }
        return table
    }()

    /// The inverse of `scalarForByte`.
    static let byteForScalar: [Unicode.Scalar: UInt8] = {
        var inverse: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in scalarForByte.enumerated() { inverse[scalar] = UInt8(byte) }
        return inverse
    }()

    /// The bytes a vocabulary entry stands for, or nil if it contains a character outside the map.
    static func bytes(ofToken token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byteForScalar[scalar] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
