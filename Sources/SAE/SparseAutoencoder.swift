import Foundation
import GPT2

/// A sparse autoencoder in SAELens' on-disk format (`cfg.json` + `sae_weights.safetensors`), applied exactly as
/// sae-lens applies it:
///
///   x' = x − b_dec (if apply_b_dec_to_input);   pre = x'·W_enc + b_enc                 [M, d_sae]
///   standard: f = ReLU(pre)   topk: the k largest of pre per token, ReLU'd, the rest 0   jumprelu: ReLU(pre) where
///   pre > threshold, else 0;   decode: x̂ = f·W_dec + b_dec
///
/// x is the hook point's vector, centred (minus its mean over d_in, per token) when the SAE was trained on a
/// TransformerLens model with `center_writing_weights` (`centering`).
public struct SparseAutoencoder: Sendable {
    public let directory: String
    public let config: SAEConfig
    /// Whether inputs are centred before encoding: the config's `center_writing_weights` unless overridden.
    public let centering: Bool
    /// The matrix precision of encoder and decoder (the forward pass's `--precision`).
    public let precision: MatrixPrecision
    /// The library of their float32 products (the forward pass's `--blas`).
    public let blas: BLASLibrary
    let encoder: DenseLayer  // W_enc [d_in, d_sae], b_enc [d_sae]
    let decoder: DenseLayer  // W_dec [d_sae, d_in], b_dec [d_in]
    let decoderBias: [Float]  // [d_in]
    let threshold: [Float]?  // [d_sae], jumprelu

    /// Loads `directory`; `centering` overrides the config's centring (`--sae-center on|off`).
    public init(
        directory: String, centering: Bool? = nil, precision: MatrixPrecision = .float32, blas: BLASLibrary = .openBLAS
    ) throws {
        self.precision = precision
        self.blas = blas
        self.directory = directory
        let base = URL(fileURLWithPath: directory)
        config = try SAEConfig(path: base.appendingPathComponent("cfg.json").path)
        self.centering = centering ?? config.centerWritingWeights
        let weightsPath = base.appendingPathComponent("sae_weights.safetensors").path
        guard FileManager.default.fileExists(atPath: weightsPath) else { throw SAEError.missingFile(path: weightsPath) }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url: URL(fileURLWithPath: weightsPath)) } catch {
            throw SAEError.badTensor(path: weightsPath, reason: error.localizedDescription)
        }
        let (dIn, dSAE) = (config.inputWidth, config.latentCount)
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let info = file.tensors[name] else {
                throw SAEError.badTensor(path: weightsPath, reason: "no tensor \(name)")
            }
            guard info.shape == shape else {
                throw SAEError.badTensor(
                    path: weightsPath, reason: "\(name) has shape \(info.shape), cfg.json implies \(shape)")
            }
            do { return try file.floats(name) } catch {
                throw SAEError.badTensor(path: weightsPath, reason: "\(name): \(error.localizedDescription)")
            }
        }
        encoder = try DenseLayer(
            weight: try tensor("W_enc", [dIn, dSAE]), bias: try tensor("b_enc", [dSAE]), inputs: dIn, outputs: dSAE,
            precision: precision, blas: blas)
        decoderBias = try tensor("b_dec", [dIn])
        decoder = try DenseLayer(
            weight: try tensor("W_dec", [dSAE, dIn]), bias: decoderBias, inputs: dSAE, outputs: dIn,
            precision: precision, blas: blas)
        threshold = config.architecture == .jumprelu ? try tensor("threshold", [dSAE]) : nil
    }

    /// Checks that the SAE can read `hook` of a model whose vectors there have `width` values.
    public func check(width: Int) throws {
        guard width == config.inputWidth else {
            throw SAEError.wrongHook(
                path: directory,
                reason: "d_in is \(config.inputWidth) but \(config.hook) of this model has \(width) values per token")
        }
    }

    /// The vectors as the SAE reads them: centred per row when `centering`.
    public func input(_ x: [Float], rows: Int) -> [Float] {
        guard centering else { return x }
        let d = config.inputWidth
        var out = x
        for r in 0..<rows {
            let mean = x[(r * d)..<((r + 1) * d)].reduce(0, +) / Float(d)
            for j in 0..<d { out[r * d + j] -= mean }
        }
        return out
    }

    /// Latents [rows, d_sae] of hook vectors x [rows, d_in] (centred first when `centering`).
    public func encode(_ x: [Float], rows: Int) -> [Float] {
        let (d, n) = (config.inputWidth, config.latentCount)
        var shifted = input(x, rows: rows)
        if config.applyDecoderBiasToInput {
            for r in 0..<rows { for j in 0..<d { shifted[r * d + j] -= decoderBias[j] } }
        }
        var latents = encoder.apply(shifted, rows: rows)
        switch config.architecture {
        case .standard:
            for i in latents.indices { latents[i] = max(0, latents[i]) }
        case .jumprelu:
            let threshold = threshold!
            for r in 0..<rows {
                for j in 0..<n where !(latents[r * n + j] > threshold[j] && latents[r * n + j] > 0) {
                    latents[r * n + j] = 0
                }
            }
        case .topk:
            let k = config.k!
            var kept: [Int] = []
            kept.reserveCapacity(k + 1)
            latents.withUnsafeMutableBufferPointer { latents in
                for r in 0..<rows {
                    let row = latents.baseAddress! + r * n
                    Self.largest(k, of: row, count: n, into: &kept)
                    let values = kept.map { max(0, row[$0]) }
                    for j in 0..<n { row[j] = 0 }
                    for (j, value) in zip(kept, values) { row[j] = value }
                }
            }
        }
        return latents
    }

    /// The indices of the k largest of `values` (ties to the lower index, as torch.topk on CPU gives them), by one
    /// scan that keeps the k best so far sorted: O(n) while few values beat the k-th, never a sort of the row.
    static func largest(_ k: Int, of values: UnsafePointer<Float>, count n: Int, into kept: inout [Int]) {
        kept.removeAll(keepingCapacity: true)
        for j in 0..<n {
            let x = values[j]
            // Scanning in index order, a later index enters only by being strictly larger.
            if kept.count == k, !(x > values[kept[k - 1]]) { continue }
            var position = kept.count
            while position > 0 && x > values[kept[position - 1]] { position -= 1 }
            kept.insert(j, at: position)
            if kept.count > k { kept.removeLast() }
        }
    }

    /// Reconstructions [rows, d_in] of latents [rows, d_sae]: f·W_dec + b_dec (in the centred space when
    /// `centering`).
    public func decode(_ latents: [Float], rows: Int) -> [Float] {
        decoder.apply(latents, rows: rows)
    }

    /// L0 (mean non-zero latents per row) and the fraction of variance of the SAE's input explained by
    /// decode(encode(x)): 1 − Σ‖x − x̂‖² / Σ‖x − mean(x)‖², the mean taken over rows per input dimension.
    public struct Reconstruction: Sendable, Equatable {
        public var l0: Double
        public var varianceExplained: Double
    }

    public func reconstruction(_ x: [Float], latents: [Float], rows: Int) -> Reconstruction {
        let d = config.inputWidth
        let target = input(x, rows: rows), rebuilt = decode(latents, rows: rows)
        var means = [Double](repeating: 0, count: d)
        for r in 0..<rows { for j in 0..<d { means[j] += Double(target[r * d + j]) / Double(rows) } }
        var residual = 0.0, total = 0.0
        for r in 0..<rows {
            for j in 0..<d {
                let value = Double(target[r * d + j])
                residual += (value - Double(rebuilt[r * d + j])) * (value - Double(rebuilt[r * d + j]))
                total += (value - means[j]) * (value - means[j])
            }
        }
        return Reconstruction(
            l0: Double(latents.filter { $0 != 0 }.count) / Double(max(1, rows)),
            varianceExplained: total > 0 ? 1 - residual / total : .nan)
    }
}
