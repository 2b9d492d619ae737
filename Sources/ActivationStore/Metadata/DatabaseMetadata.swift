import Foundation
import SQLite
import Support

/// The metadata table's values, typed. Every value is compact JSON with sorted keys (so equal values are equal
/// text); only this file knows the keys.
extension ActivationDatabase {
    /// The keys of the metadata table (Schemas/activations.md).
    enum MetadataKey: String {
        case schemaVersion = "schema_version", status, tool, model, modelSHA256 = "model_sha256"
        case tokenizerSHA256 = "tokenizer_sha256", corpus, settings, summary, source
    }

    /// What makes two databases comparable for resume and merge: the settings, the SHA-256 of every model and
    /// tokenizer file ({file name: hex digest}) and the unit source (without where its SAE files lay).
    public struct Identity: Equatable, Sendable {
        public var settings: PrecomputeSettings
        public var modelSHA256: [String: String]
        public var tokenizerSHA256: [String: String]
        public var source: UnitSource

        public init(
            settings: PrecomputeSettings, modelSHA256: [String: String], tokenizerSHA256: [String: String],
            source: UnitSource = .neurons
        ) {
            self.settings = settings
            self.modelSHA256 = modelSHA256
            self.tokenizerSHA256 = tokenizerSHA256
            self.source = source
        }

        /// "what: stored …, now …" for each part that differs from `other`.
        public func differences(from stored: Identity) -> [String] {
            var differences: [String] = []
            func compare<T: Encodable & Equatable>(_ name: String, _ mine: T, _ theirs: T) {
                if mine != theirs {
                    differences.append(
                        "\(name): stored \((try? Self.json(theirs)) ?? "?"), now \((try? Self.json(mine)) ?? "?")")
                }
            }
            compare("model_sha256", modelSHA256, stored.modelSHA256)
            compare("settings", settings, stored.settings)
            compare("tokenizer_sha256", tokenizerSHA256, stored.tokenizerSHA256)
            compare("source", source.identity, stored.source.identity)
            return differences
        }

        static func json<T: Encodable>(_ value: T) throws -> String { try ActivationDatabase.json(value) }
    }

    public func identity() throws -> Identity? {
        guard let settings = try settings() else { return nil }
        return Identity(
            settings: settings, modelSHA256: try value([String: String].self, .modelSHA256) ?? [:],
            tokenizerSHA256: try value([String: String].self, .tokenizerSHA256) ?? [:], source: try source())
    }

    /// The database's units (`.neurons` for a schema-version-1 database, which has no "source").
    public func source() throws -> UnitSource { try value(UnitSource.self, .source) ?? .neurons }

    public func setIdentity(_ identity: Identity) throws {
        try setValue(identity.source, .source)
        try setValue(identity.settings, .settings)
        try setValue(identity.modelSHA256, .modelSHA256)
        try setValue(identity.tokenizerSHA256, .tokenizerSHA256)
    }

    /// A digest of what the records depend on — settings, model and tokenizer files, corpus content — but not of
    /// where the files lie: an evaluation run stores it so that a report over another database is refused.
    public func fingerprint() throws -> String {
        var hasher = SHA256Hex()
        for key in [MetadataKey.settings, .modelSHA256, .tokenizerSHA256] {
            hasher.update(Data((try metadataText(key) ?? "").utf8))
            hasher.update(Data([0]))
        }
        hasher.update(Data((try corpus()?.sha256 ?? "").utf8))
        // Neuron databases keep the fingerprint they had before sources existed.
        let source = try source()
        if source != .neurons { hasher.update(Data(try Self.json(source.identity).utf8)) }
        return hasher.finalize()
    }

    public func settings() throws -> PrecomputeSettings? { try value(PrecomputeSettings.self, .settings) }
    public func corpus() throws -> CorpusManifest? { try value(CorpusManifest.self, .corpus) }
    public func setCorpus(_ manifest: CorpusManifest) throws { try setValue(manifest, .corpus) }
    public func summary() throws -> DatabaseSummary? { try value(DatabaseSummary.self, .summary) }
    public func setSummary(_ summary: DatabaseSummary) throws { try setValue(summary, .summary) }
    public func tool() throws -> ToolInfo? { try value(ToolInfo.self, .tool) }
    public func setTool(_ tool: ToolInfo) throws { try setValue(tool, .tool) }
    public func model() throws -> StoredModel? { try value(StoredModel.self, .model) }
    public func setModel(_ model: StoredModel) throws { try setValue(model, .model) }

    /// Copies tool, model, identity (source included) and corpus from another database (a merge's output from its first shard),
    /// with `settings` in place of the stored ones.
    public func copyDescription(from other: ActivationDatabase, settings: PrecomputeSettings) throws {
        for key in [MetadataKey.tool, .model, .modelSHA256, .tokenizerSHA256, .corpus, .source] {
            if let text = try other.metadataText(key) { try setMetadataText(key, text) }
        }
        try setValue(settings, .settings)
    }

    // MARK: Storage

    func value<T: Decodable>(_ type: T.Type, _ key: MetadataKey) throws -> T? {
        guard let text = try metadataText(key) else { return nil }
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw ActivationStoreError.corrupt(
                path: path,
                reason: "metadata \"\(key.rawValue)\" is not a valid \(type) (\(DecodingFailure.describe(error)))")
        }
    }

    func setValue<T: Encodable>(_ value: T, _ key: MetadataKey) throws {
        try setMetadataText(key, try Self.json(value))
    }

    func metadataText(_ key: MetadataKey) throws -> String? {
        try connection.query("SELECT value FROM metadata WHERE key = ?", [.text(key.rawValue)]) { $0.string(0) }.first
    }

    func setMetadataText(_ key: MetadataKey, _ json: String) throws {
        try connection.run(
            "INSERT OR REPLACE INTO metadata (key, value) VALUES (?, ?)", [.text(key.rawValue), .text(json)])
    }

    /// Compact, key-sorted JSON: the stored form of every metadata value.
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
