/// Runs `body` for every element at once (the client's limiter bounds what is in flight) and returns the results
/// in the elements' order: what every LLM plug-in does with its batch of requests.
func concurrently<Element: Sendable, Output: Sendable>(
    _ elements: [Element], _ body: @escaping @Sendable (Element) async -> Output
) async -> [Output] {
    await withTaskGroup(of: (Int, Output).self) { group in
        for (index, element) in elements.enumerated() {
            group.addTask { (index, await body(element)) }
        }
        var results = [Output?](repeating: nil, count: elements.count)
        for await (index, output) in group { results[index] = output }
        return results.map { $0! }
    }
}
