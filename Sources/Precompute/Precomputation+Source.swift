import ActivationStore
import Foundation
import GPT2
import SAE
import Support

/// The run's unit source, resolved and checked before anything is written: the SAEs (loaded and matched to the
/// model), their layers, the BOS rule, and the `UnitSource` the database records as part of its identity.
extension Precomputation {
    /// The SAEs of `saeDirectories` in layer order, each checked against the model; empty for neurons.
    func loadedSAEs(_ config: GPT2Config) throws -> [SparseAutoencoder] {
        guard !saeDirectories.isEmpty else { return [] }
        if settings.layers != nil {
            throw PrecomputeError.invalidSetting(
                "layers", "cannot be given with SAEs: the recorded layers are the SAEs' (one per --sae)")
        }
        var byLayer: [Int: SparseAutoencoder] = [:]
        for directory in saeDirectories {
            let sae = try SparseAutoencoder(
                directory: directory, centering: saeCentering, precision: settings.precision, blas: settings.blas)
            let hook = sae.config.hook
            guard hook.layer < config.layerCount else {
                throw PrecomputeError.invalidSAE(
                    path: directory,
                    reason: "its hook \(hook) is past the model's last block (\(config.layerCount) layers)")
            }
            try sae.check(width: hook.site == .mlpPost ? config.neuronCount : config.embeddingSize)
            if let other = byLayer[hook.layer] {
                throw PrecomputeError.invalidSAE(
                    path: directory,
                    reason:
                        "layer \(hook.layer) already has an SAE (\(other.directory), \(other.config.hook)): a database holds at most one SAE per layer; record a second hook of the same layer into a second database"
                )
            }
            byLayer[hook.layer] = sae
        }
        return byLayer.keys.sorted().map { byLayer[$0]! }
    }

    /// The source as the database records it. BOS: `prependBOS` if given, else what the SAEs were trained with
    /// (`prepend_bos`; all must agree), else off (neurons, or SAEs whose config does not say).
    func unitSource(_ saes: [SparseAutoencoder]) throws -> UnitSource {
        guard !saes.isEmpty else { return UnitSource(kind: .neurons, prependBOS: prependBOS ?? false, saes: []) }
        let trained = Set(saes.map { $0.config.prependBOS ?? false })
        if prependBOS == nil, trained.count > 1 {
            throw PrecomputeError.invalidSAE(
                path: saes[0].directory,
                reason:
                    "the SAEs disagree on prepend_bos (\(saes.map { "\($0.config.hook): \($0.config.prependBOS ?? false)" }.joined(separator: ", "))). Hint: --prepend-bos on|off, or one database per setting"
            )
        }
        let stored = try saes.map { sae -> StoredSAE in
            let base = URL(fileURLWithPath: sae.directory)
            let configPath = base.appendingPathComponent("cfg.json").path
            let weightsPath = base.appendingPathComponent("sae_weights.safetensors").path
            guard let configData = FileManager.default.contents(atPath: configPath) else {
                throw PrecomputeError.invalidSAE(path: configPath, reason: "cannot be read")
            }
            return StoredSAE(
                layer: sae.config.hook.layer, hook: sae.config.hook.description,
                architecture: sae.config.architecture.rawValue, inputWidth: sae.config.inputWidth,
                latentCount: sae.config.latentCount, k: sae.config.k, centred: sae.centering,
                config: String(decoding: configData, as: UTF8.self), configSHA256: SHA256Hex.digest(configData),
                weightsSHA256: try SHA256Hex.digest(ofFile: weightsPath), directory: sae.directory)
        }
        return UnitSource(kind: .saeLatents, prependBOS: prependBOS ?? trained.first!, saes: stored)
    }
}
