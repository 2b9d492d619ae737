#!/usr/bin/env python3
"""Writes Tests/EvaluationTests/Resources/percentile-calibration.json: OpenAI's percentile calibration,
numpy.interp(x, sorted(calibration simulated), sorted(calibration true)), on hand-made and seeded random cases
(ties in the simulated values, values outside their range, a single calibration value, all values tied).

Usage: python3 Scripts/make-calibration-fixtures.py   (numpy only)
"""
import json
import pathlib

import numpy as np

rng = np.random.default_rng(0)


def case(name, simulated, actual, queries):
    simulated = [float(v) for v in simulated]
    actual = [float(v) for v in actual]
    queries = [float(v) for v in queries]
    mapped = np.interp(queries, np.sort(simulated), np.sort(actual))
    return {"name": name, "simulated": simulated, "actual": actual, "queries": queries,
            "mapped": [float(v) for v in mapped]}


cases = [
    # The worked example of the issue: 0 maps to the true value at the top of the tied block, 10 to the top.
    case("tied zeros", [0, 0, 0, 10], [-0.1, 0, 0.2, 3], [-1, 0, 0.5, 5, 10, 11]),
    case("ties in the middle", [0, 0, 5, 5, 5, 10], [0, 1, 2, 3, 4, 5], [0, 2.5, 5, 7.5, 10, 12]),
    case("one value", [4], [2.5], [0, 4, 9]),
    case("all tied", [3, 3, 3], [1, 2, 7], [0, 3, 6]),
    case("unsorted input", [10, 0, 5, 0], [4, 0, 2, 1], [-1, 0, 5, 10, 11, 2.5]),
]
for index in range(6):
    n = int(rng.integers(2, 60))
    # Simulator values are integers 0-10 (many ties), true activations continuous with negatives.
    simulated = rng.integers(0, 11, size=n)
    actual = rng.normal(0.3, 1.0, size=n)
    queries = np.concatenate([np.arange(-1, 12), rng.uniform(-2, 12, size=10)])
    cases.append(case(f"random {index}", simulated, actual, queries))

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/EvaluationTests/Resources/percentile-calibration.json"
out.write_text(json.dumps({"generator": "Scripts/make-calibration-fixtures.py", "numpy": np.__version__,
                           "cases": cases}, indent=1) + "\n")
print(f"wrote {out} ({len(cases)} cases)")
