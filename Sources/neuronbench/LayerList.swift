import ArgumentParser

/// Parses a layer list, "0,3-5" into [0, 3, 4, 5]: the one syntax of `--layers` in every command.
func parseLayers(_ text: String) throws -> [Int] {
    try text.split(separator: ",", omittingEmptySubsequences: false).flatMap { part -> [Int] in
        let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard (1...2).contains(bounds.count), let first = bounds[0], let last = bounds[bounds.count - 1], first >= 0,
            first <= last,
            last < 1_000_000
        else {
            throw ValidationError("--layers: \"\(part)\" is not a layer or a range like 3-5")
        }
        return Array(first...last)
    }
}
