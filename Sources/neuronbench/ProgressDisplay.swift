import Foundation
import Support

/// Progress lines on stderr: rewritten in place on a terminal, one line every 10 s otherwise (logs, Slurm).
final class ProgressDisplay {
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastLine = Date.distantPast
    private var lastPhase = ""

    func report(_ p: ProgressReport) {
        let finished = p.total > 0 && p.done >= p.total
        guard isTerminal || finished || p.phase != lastPhase || Date().timeIntervalSince(lastLine) >= 10 else { return }
        lastLine = Date()
        lastPhase = p.phase
        var text = "[\(p.phase)] \(p.done.formatted()) \(p.unit)"
        if p.total > 0 {
            text =
                "[\(p.phase)] \(p.done.formatted())/\(p.total.formatted()) \(p.unit) (\(String(format: "%.1f", 100 * Double(p.done) / Double(p.total)))%)"
        }
        if p.elapsed > 0 && p.done > 0 {
            let rate = Double(p.done) / p.elapsed
            text += String(format: rate < 10 ? ", %.1f %@/s" : ", %.0f %@/s", rate, p.unit)
            if p.total > p.done { text += ", ETA \(Self.duration(Double(p.total - p.done) / rate))" }
        }
        FileHandle.standardError.write(
            Data((isTerminal ? "\r\u{1B}[K" + text + (finished ? "\n" : "") : text + "\n").utf8))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}
