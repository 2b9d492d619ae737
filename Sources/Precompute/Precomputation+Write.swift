import ActivationStore
import Foundation
import Sampling
import Support

/// Phase 4: every unit's statistics and records, the summary, and "complete", in one transaction: a crash before
/// its commit leaves the resumable state of the last checkpoint, never a half-written database that looks
/// finished. Then one file again; returns false if a reader kept the database in WAL mode.
extension Precomputation {
    func writeNeurons(
        _ database: ActivationDatabase, _ samplers: [LayerSampler], summary: inout DatabaseSummary,
        _ progress: (ProgressReport) -> Void
    ) throws -> Bool {
        let started = Date()
        try database.beginFinalWrite()
        try database.transaction {
            // The checkpoints go first, so that the records reuse their pages: a checkpoint is as large as the
            // samplers (8 GB for twelve 24,576-latent SAEs), and records appended after it would leave that much
            // free space in the middle of the file for the final vacuum to move every later page across (measured:
            // BENCHMARKS.md). A crash before the commit rolls the deletion back with everything else.
            try database.clearProgress()
            for (index, sampler) in samplers.enumerated() {
                try NeuronWriter.write(sampler, neuronCount: sampler.neuronCount, to: database)
                progress(
                    ProgressReport(
                        phase: "write", done: index + 1, total: samplers.count, unit: "layers",
                        elapsed: Date().timeIntervalSince(started)))
            }
            summary.addStoredCounts(try database.storedCounts())
            try database.setSummary(summary)
            try database.markComplete()
        }
        // The records are committed: an open reader can only delay the switch to one file, never fail the run.
        return try database.compact {
            progress(
                ProgressReport(
                    phase: "finish: waiting up to 10 s for other readers to close the database", done: 0, total: 0,
                    unit: "readers", elapsed: 0))
        }
    }
}

extension DatabaseSummary {
    /// Takes the counts read back from a written database: neurons, records, bytes, boundary errors, dead and dense.
    mutating func addStoredCounts(_ counts: DatabaseSummary) {
        neurons = counts.neurons
        records = counts.records
        activationBytes = counts.activationBytes
        bytesPerRecord = counts.bytesPerRecord
        boundaryErrorMedian = counts.boundaryErrorMedian
        boundaryErrorMax = counts.boundaryErrorMax
        dead = counts.dead
        dense = counts.dense
    }
}
