import Support
import XCTest

/// What `SecretRedaction` masks, and what it must leave alone (explanations are ordinary English).
final class RedactionTests: XCTestCase {
    func testCredentialsAreMaskedAndOrdinaryTextIsNot() {
        let cases: [(String, String)] = [
            ("https://alice:s3cr3t@api.example.com/v1", "https://***@api.example.com/v1"),
            ("https://h/v1?api-key=abc123&model=x", "https://h/v1?api-key=***&model=x"),
            ("https://h/v1?model=x&access_token=t0k", "https://h/v1?model=x&access_token=***"),
            ("https://h/v1?key=k&sig=s", "https://h/v1?key=***&sig=***"),
            ("header Authorization: Bearer sk-abc", "header Authorization: Bearer ***"),
            ("{\"authorization\": \"Basic dXNlcjpwYXNz\"}", "{\"authorization\": \"Basic ***\"}"),
            ("token Bearer abcdefghijklmnop1234", "token Bearer ***"),
            ("the bearer of bad news", "the bearer of bad news"),
            ("words about keys and tokens", "words about keys and tokens"),
            ("https://h/v1?model=gpt-4o", "https://h/v1?model=gpt-4o"),
        ]
        for (text, expected) in cases { XCTAssertEqual(SecretRedaction.redact(text), expected, text) }
    }

    func testRegisteredValuesAreMaskedWherever() {
        SecretRedaction.register("zq-registered-9876")
        XCTAssertEqual(SecretRedaction.redact("x-api-key: zq-registered-9876."), "x-api-key: ***.")
        SecretRedaction.register("ab")
        XCTAssertEqual(SecretRedaction.redact("a cab"), "a cab", "values too short to be keys are not registered")
    }
}
