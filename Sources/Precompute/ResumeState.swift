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
    /// The SAEs' reconstruction totals at the last checkpoint (SAE sources only).
    static let reconstruction = "reconstruction"
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

    func encodePilot(_ pilot: Pilot) -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(pilot.excerptCount)
        for estimates in pilot.estimates {
            writer.write(estimates.boundaries); writer.write(estimates.histogramLow);
            writer.write(estimates.histogramHigh); writer.write(estimates.activatingOnly.map { UInt8($0 ? 1 : 0) })
        }
        return writer.bytes
    }

    func decodePilot(_ bytes: [UInt8], units: [Int]) throws -> Pilot {
        var reader = BinaryReader(bytes)
        do {
            let excerptCount = try reader.readInt()
            let estimates = try units.map { n in
                let boundaries: [Float] = try reader.read(QuantileBuckets.count * n)
                let low: [Float] = try reader.read(n), high: [Float] = try reader.read(n)
                let flags: [UInt8] = try reader.read(n)
                // Histogram bins are computed from these: a NaN or reversed range would trap the conversion.
                guard excerptCount >= 0, boundaries.allSatisfy({ !$0.isNaN }),
                    zip(low, high).allSatisfy({ $0.isFinite && $1.isFinite && $0 <= $1 }), flags.allSatisfy({ $0 <= 1 })
                else { throw BinaryReader.Failure.outOfRange }
                return PilotEstimates(
                    boundaries: boundaries, histogramLow: low, histogramHigh: high,
                    activatingOnly: flags.map { $0 == 1 })
            }
            return Pilot(estimates: estimates, excerptCount: excerptCount)
        } catch {
            throw PrecomputeError.corruptResumeState(
                path: outputPath, reason: "the stored pilot estimates are unreadable")
        }
    }

    // MARK: Main-pass checkpoints

    /// Saves every layer's samplers, the SAEs' reconstruction totals and the next excerpt in one transaction.
    func checkpoint(
        _ database: ActivationDatabase, _ samplers: [LayerSampler], _ layers: [Int],
        reconstruction: [ReconstructionTotals], next: Int
    ) throws {
        try database.transaction {
            for (sampler, layer) in zip(samplers, layers) {
                try database.setProgress(ProgressKey.samplers(layer: layer), sampler.serialize())
            }
            if !reconstruction.isEmpty {
                var writer = BinaryWriter()
                for totals in reconstruction {
                    writer.write(totals.tokens); writer.write(totals.nonZeroLatents)
                    writer.write([totals.squaredError, totals.sumSquares]); writer.write(totals.sums)
                }
                try database.setProgress(ProgressKey.reconstruction, writer.bytes)
            }
            var writer = BinaryWriter()
            writer.write(next)
            try database.setProgress(ProgressKey.nextExcerpt, writer.bytes)
        }
    }

    /// The next excerpt of the last checkpoint (0 without one), restoring the samplers and reconstruction totals
    /// to their state there.
    func restoreCheckpoint(
        _ database: ActivationDatabase, _ samplers: inout [LayerSampler], _ layers: [Int],
        reconstruction: inout [ReconstructionTotals]
    ) throws -> Int {
        guard let position = try database.progress(ProgressKey.nextExcerpt) else { return 0 }
        if !reconstruction.isEmpty {
            guard let bytes = try database.progress(ProgressKey.reconstruction) else {
                throw PrecomputeError.corruptResumeState(
                    path: outputPath, reason: "the SAEs' reconstruction totals are missing")
            }
            var reader = BinaryReader(bytes)
            do {
                for i in reconstruction.indices {
                    reconstruction[i].tokens = try reader.readInt()
                    reconstruction[i].nonZeroLatents = try reader.readInt()
                    let pair: [Double] = try reader.read(2)
                    (reconstruction[i].squaredError, reconstruction[i].sumSquares) = (pair[0], pair[1])
                    reconstruction[i].sums = try reader.read(reconstruction[i].sums.count)
                }
            } catch {
                throw PrecomputeError.corruptResumeState(
                    path: outputPath, reason: "the SAEs' reconstruction totals are unreadable")
            }
        }
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
