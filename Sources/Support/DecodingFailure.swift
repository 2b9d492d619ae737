import Foundation

/// What a `DecodingError` says, in a few words that fit a one-line message naming the file.
public enum DecodingFailure {
    /// A decoding error in a few words ("key 'sha256' missing", "wrong type at 'documents'").
    public static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return error.localizedDescription }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, context):
            return "no \"\((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))\""
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return "wrong type at \"\(path(context))\""
        case let .dataCorrupted(context):
            return context.codingPath.isEmpty ? "not JSON" : "invalid value at \"\(path(context))\""
        @unknown default:
            return "unreadable"
        }
    }
}
