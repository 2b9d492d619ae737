import ActivationStore
import Foundation
import TestSupport
import XCTest

@testable import Evaluation

final class ImportAndCSVTests: XCTestCase {
    func write(_ text: String, _ name: String) throws -> String {
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testCSVImportReportsMalformedRowsWithLineNumbers() async throws {
        let path = try write(
            #"""
            neuron,layer,explanation,source
            1,0,"years, dates and ""numbers""",human
            x,0,bad neuron,human
            2,0,,human
            3,0,"a quoted
            explanation over two lines",human
            1,0,duplicate,human
            4,0,too,many,fields
            """#, "explanations.csv")
        let imported = try ImportedExplainer(path: path)
        XCTAssertEqual(imported.explanations[NeuronID(layer: 0, neuron: 1)], "years, dates and \"numbers\"")
        XCTAssertEqual(imported.explanations[NeuronID(layer: 0, neuron: 3)], "a quoted\nexplanation over two lines")
        XCTAssertEqual(
            imported.problems,
            [
                "line 3: layer and neuron must be non-negative integers",
                "line 4: empty explanation",
                "line 7: neuron 0:1 is explained twice; the first is kept",
                "line 8: 5 fields, the header has 4",
            ])
        let results = await imported.explain([
            ExplainRequest(neuron: NeuronID(layer: 0, neuron: 1), records: []),
            ExplainRequest(neuron: NeuronID(layer: 0, neuron: 9), records: []),
        ])
        XCTAssertEqual(try results[0].get(), "years, dates and \"numbers\"")
        XCTAssertEqual(results[1], .failure(.missingExplanation))
        XCTAssertEqual(imported.name, "file:explanations.csv")
    }

    func testJSONLImportAndUnusableFiles() throws {
        let path = try write(
            """
            {"layer": 2, "neuron": 5, "explanation": "commas"}
            not json
            {"layer": "2", "neuron": 6, "explanation": "string ids are fine"}
            {"layer": 2, "neuron": 7}

            """, "explanations.jsonl")
        let imported = try ImportedExplainer(path: path)
        XCTAssertEqual(imported.explanations.count, 2)
        XCTAssertEqual(imported.problems, ["line 2: not a JSON object", "line 4: empty explanation"])
        XCTAssertThrowsMessage(
            try ImportedExplainer(path: "/no/such.csv"), contains: ["/no/such.csv", "file not found"])
        XCTAssertThrowsMessage(
            try ImportedExplainer(path: try write("a,b\n1,2\n", "bad.csv")),
            contains: ["line 1", "layer, neuron and explanation"])
        XCTAssertThrowsMessage(
            try ImportedExplainer(path: try write("layer,neuron,explanation\n\"1,2\n", "open.csv")),
            contains: ["not closed"])
        XCTAssertThrowsMessage(
            try ImportedExplainer(path: try write("layer,neuron,explanation\nx,y,z\n", "none.csv")),
            contains: ["no usable explanation"])
    }

    func testCSVWriterQuotesAndNeutralisesFormulas() throws {
        let row = CSV.row([
            .text("=HYPERLINK(\"http://x\")"), .text("+1"), .text("-2"), .text("@SUM(A1)"), .text("\tx"), .text("\rx"),
            .text("plain"), .text("a,b"), .text("say \"hi\""), .text("two\nlines"), .number(-0.5), .number(.nan),
            .integer(-3),
        ])
        XCTAssertEqual(
            row,
            "\"'=HYPERLINK(\"\"http://x\"\")\",'+1,'-2,'@SUM(A1),'\tx,\"'\rx\",plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",-0.5,NaN,-3\r\n"
        )
        // Round trip through the reader (which pandas and spreadsheets agree with for RFC 4180).
        let parsed = try CSV.parse(row + CSV.row([.text("x")]))
        XCTAssertEqual(parsed.count, 2)
        XCTAssertEqual(parsed[0].fields[0], "'=HYPERLINK(\"http://x\")")
        XCTAssertEqual(parsed[0].fields[9], "two\nlines")
        XCTAssertEqual(parsed[0].fields[10], "-0.5")
        XCTAssertEqual(parsed[1].line, 3)
        // The intruder rows' explainer "-" is no formula and stays as it is; "--" or "-x" are neutralised.
        XCTAssertEqual(CSV.row([.text("-"), .text("--"), .text("-x")]), "-,'--,'-x\r\n")
    }
}
