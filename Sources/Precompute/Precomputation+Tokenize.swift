import ActivationStore
import Foundation
import GPT2
import Support

/// Phase 1: the corpus into documents and excerpts, with the run's description, in one transaction (redone
/// whole if interrupted).
extension Precomputation {
    func tokenizeOnce(
        _ database: ActivationDatabase, _ inputs: Inputs, _ progress: (ProgressReport) -> Void
    ) throws -> CorpusManifest {
        if try database.progress(ProgressKey.tokenized) == nil {
            try database.transaction {
                // Checked again where the identity is written, so no other run's identity can slip in between.
                _ = try checkResumable(database, inputs.identity)
                try database.removeCorpus()
                try database.setIdentity(inputs.identity)
                try database.setTool(ToolInfo(version: NeuronbenchVersion.current))
                try database.setModel(StoredModel(inputs.config))
                try database.writeVocabulary(inputs.tokenizer.tokenBytes)
                try database.setCorpus(try tokenize(inputs.corpus, inputs.tokenizer, database, progress))
                try database.setProgress(ProgressKey.tokenized, [1])
            }
        } else {
            try checkCorpusUnchanged(inputs.corpus, database)
        }
        guard let manifest = try database.corpus() else {
            throw PrecomputeError.corruptResumeState(path: outputPath, reason: "the corpus manifest is missing")
        }
        return manifest
    }

    private func tokenize(
        _ corpus: Corpus, _ tokenizer: GPT2Tokenizer, _ database: ActivationDatabase,
        _ progress: (ProgressReport) -> Void
    ) throws -> CorpusManifest {
        var documentID = 0, excerptID = 0, tokensKept = 0, dropped = 0
        var limitReached = false
        let started = Date()
        var lastReport = Date.distantPast
        // With a token limit the corpus is read only until an excerpt would take the total past it: a short
        // prefix of a large corpus costs a short prefix of its tokenizing.
        let (sha, issues) = try corpus.forEachDocument { document in
            let ids = tokenizer.encode(document.text)
            try database.insert(
                DocumentRow(
                    id: documentID, source: document.source, line: document.line,
                    byteCount: document.text.utf8.count, tokenCount: ids.count,
                    invalidUTF8Replaced: document.invalidUTF8Replaced, nulRemoved: document.nulRemoved))
            var kept = 0
            for window in settings.excerpter.windows(tokenCount: ids.count) {
                if let limit = settings.maxTokens, tokensKept + window.count > limit { limitReached = true; break }
                try database.insert(
                    ExcerptRow(
                        id: excerptID, documentID: documentID, startToken: window.start,
                        tokenIDs: Array(ids[window.start..<(window.start + window.count)])))
                excerptID += 1
                tokensKept += window.count
                kept += window.count
            }
            dropped += ids.count - kept
            documentID += 1
            if Date().timeIntervalSince(lastReport) >= 1 {
                progress(
                    ProgressReport(
                        phase: "tokenize", done: documentID, total: 0, unit: "documents",
                        elapsed: Date().timeIntervalSince(started)))
                lastReport = Date()
            }
            return !limitReached
        }
        progress(
            ProgressReport(
                phase: "tokenize", done: documentID, total: documentID, unit: "documents",
                elapsed: Date().timeIntervalSince(started)))
        guard excerptID > 0 else { throw PrecomputeError.emptyCorpus(path: corpusPath) }
        return CorpusManifest(
            path: corpusPath, format: corpus.format.rawValue, files: corpus.files.count, sha256: sha,
            documents: documentID, excerpts: excerptID, tokensInExcerpts: tokensKept,
            tokensDropped: dropped, issues: issues, stoppedAtMaxTokens: limitReached ? true : nil)
    }
}

extension StoredModel {
    /// The configuration as a database describes its model.
    init(_ config: GPT2Config) {
        self.init(
            vocabularySize: config.vocabularySize, contextLength: config.contextLength,
            embeddingSize: config.embeddingSize,
            layerCount: config.layerCount, headCount: config.headCount, innerSize: config.innerSize,
            activationFunction: config.activationFunction, layerNormEpsilon: config.layerNormEpsilon,
            scaleAttentionWeights: config.scaleAttentionWeights,
            scaleAttentionByInverseLayerIndex: config.scaleAttentionByInverseLayerIndex, modelType: config.modelType)
    }
}
