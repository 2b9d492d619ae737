import Foundation

/// Keeps secrets out of everything neuronbench stores or prints (databases, CSVs, JSON, reports, caches, logs):
/// the values of API keys read from the environment, registered when read, and whatever looks like a credential
/// in text — URL user info (`user:pass@`), credential-like query values (`?api-key=…`, `&token=…`), and
/// `Authorization:` / `Bearer …` values, which a server may echo back in an error message. Applied to error texts,
/// explanations, run manifests and printed messages; never to corpus text, which it could mangle.
public enum SecretRedaction {
    public static let mask = "***"

    /// Adds a secret value whose every occurrence `redact` replaces (values shorter than 4 characters are ignored:
    /// masking them would mangle ordinary text).
    public static func register(_ secret: String) {
        guard secret.count >= 4 else { return }
        registry.add(secret)
    }

    /// `text` with registered secrets and credential-looking parts replaced by `mask`.
    public static func redact(_ text: String) -> String {
        var result = text
        for secret in registry.values where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: mask)
        }
        for (pattern, template) in patterns {
            let range = NSRange(result.startIndex..., in: result)
            result = pattern.stringByReplacingMatches(in: result, range: range, withTemplate: template)
        }
        return result
    }

    /// Query names that carry credentials: any name containing one of these words.
    private static let credentialWords = "key|token|secret|password|passwd|pwd|auth|sig|credential|session"

    private static let patterns: [(NSRegularExpression, String)] = [
        // scheme://user:pass@host → scheme://***@host
        (#"([A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@"'<>]+@"#, "$1\(mask)@"),
        // ?api-key=VALUE, &access_token=VALUE
        (#"(?i)([?&;][^=&\s"'<>#]*(?:\#(credentialWords))[^=&\s"'<>#]*=)[^&\s"'<>#]+"#, "$1\(mask)"),
        // Authorization: Bearer VALUE / Basic VALUE, as a header echoed in a message
        (#"(?i)(authorization["']?\s*[:=]\s*["']?(?:bearer|basic)?\s*)[^\s"',;}]+"#, "$1\(mask)"),
        // Bearer VALUE on its own: a token-like value (16+ characters), so "bearer of bad news" stays as it is
        (#"\b(Bearer\s+)[A-Za-z0-9._~+/=\-]{16,}"#, "$1\(mask)"),
    ].map { (try! NSRegularExpression(pattern: $0.0), $0.1) }

    private static let registry = Registry()

    private final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var secrets: Set<String> = []
        func add(_ secret: String) { lock.withLock { _ = secrets.insert(secret) } }
        var values: [String] { lock.withLock { secrets.sorted { $0.count > $1.count } } }
    }
}
