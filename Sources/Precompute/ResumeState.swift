import ActivationStore
import Foundation
import Sampling
import Support

/// The resume state a precompute keeps in its database's progress table while it runs, and the checks that let a
/// later run continue it: same identity (settings, model, tokenizer), same corpus. Its encoding (raw little-endian
/// arrays, `BinaryCoding`) is this module's own; the store keeps it as opaque blobs.
enum ProgressKey {
    /// Set when tokenizing committed: vocabulary, documents and excerpts are complete.
    static let tokenized = "tokenized"
    /// The pilot's estimates (boundaries and histogram ranges of every recorded layer).
    static let pilot = "pilot"
    /// The first excerpt id the main pass has not yet seen (a context start).
    static let nextExcerpt = "next_excerpt"
    /// The samplers of one layer at the last checkpoint.
    static func samplers(layer: Int) -> String { "state.\(layer)" }
}

extension Precomputation {
    /// True if the database was started by an earlier run with the same identity; throws if with another.
    func checkResumable(_ database: ActivationDatabase, _ identity: ActivationDatabase.Identity) throws -> Bool {
        guard let stored = try database.identity() else { return false }
        let differences = identity.differences(from: stored)
        if !differences.isEmpty { throw PrecomputeError.databaseMismatch(path: outputPath, differences: differences) }
        return true
    }

    /// Resuming or re-running: the corpus must still be the one that was tokenized.
    func checkCorpusUnchanged(_ corpus: Corpus, _ database: ActivationDatabase) throws {
        guard let stored = try database.corpus() else {
            throw PrecomputeError.corruptResumeState(path: outputPath, reason: "the corpus manifest is missing")
        }
        // A run that stopped at the token limit read (and hashed) only its first `documents` documents.
        let readLimit = stored.stoppedAtMaxTokens == true ? stored.documents : nil
        var read = 0
        let (sha, _) = try corpus.forEachDocument { _ in
            read += 1
            return readLimit.map { read < $0 } ?? true
        }
        guard sha == stored.sha256 else {
            throw PrecomputeError.databaseMismatch(
                path: outputPath, differences: ["the corpus has changed (sha256 \(sha) vs \(stored.sha256))"])
        }
    }

    // MARK: Pilot estimates

    func encodePilot(_ pilot: [PilotEstimates]) -> [UInt8] {
        var writer = BinaryWriter()
        for estimates in pilot {
            writer.write(estimates.boundaries); writer.write(estimates.histogramLow);
            writer.write(estimates.histogramHigh)
        }
        return writer.bytes
    }

    func decodePilot(_ bytes: [UInt8], layers: [Int], neurons: Int) throws -> [PilotEstimates] {
        var reader = BinaryReader(bytes)
        do {
            return try layers.map { _ in
                let estimates = PilotEstimates(
                    boundaries: try reader.read(QuantileBuckets.count * neurons),
                    histogramLow: try reader.read(neurons),
                    histogramHigh: try reader.read(neurons))
                // Histogram bins are computed from these: a NaN or reversed range would trap the conversion.
                guard estimates.boundaries.allSatisfy({ !$0.isNaN }),
                    zip(estimates.histogramLow, estimates.histogramHigh).allSatisfy({
                        $0.isFinite && $1.isFinite && $0 <= $1
                    })
                else { throw BinaryReader.Failure.outOfRange }
                return estimates
            }
        } catch {
            throw PrecomputeError.corruptResumeState(
                path: outputPath, reason: "the stored pilot estimates are unreadable")
        }
    }

    // MARK: Main-pass checkpoints

    /// Saves every layer's samplers and the next excerpt in one transaction.
    func checkpoint(_ database: ActivationDatabase, _ samplers: [LayerSampler], _ layers: [Int], next: Int) throws {
        try database.transaction {
            for (sampler, layer) in zip(samplers, layers) {
                try database.setProgress(ProgressKey.samplers(layer: layer), sampler.serialize())
            }
            var writer = BinaryWriter()
            writer.write(next)
            try database.setProgress(ProgressKey.nextExcerpt, writer.bytes)
        }
    }

    /// The next excerpt of the last checkpoint (0 without one), restoring the samplers to their state there.
    func restoreCheckpoint(
        _ database: ActivationDatabase, _ samplers: inout [LayerSampler], _ layers: [Int]
    ) throws -> Int {
        guard let position = try database.progress(ProgressKey.nextExcerpt) else { return 0 }
        var reader = BinaryReader(position)
        guard let next = try? reader.readInt() else {
            throw PrecomputeError.corruptResumeState(path: outputPath, reason: "the resume position is unreadable")
        }
        for (index, layer) in layers.enumerated() {
            guard let state = try database.progress(ProgressKey.samplers(layer: layer)) else {
                throw PrecomputeError.corruptResumeState(
                    path: outputPath, reason: "the samplers of layer \(layer) are missing")
            }
            do { try samplers[index].restore(state) } catch {
                throw PrecomputeError.corruptResumeState(
                    path: outputPath, reason: "the samplers of layer \(layer) are unreadable")
            }
        }
        return next
    }
}
