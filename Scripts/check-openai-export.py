#!/usr/bin/env python3
"""Checks a `neuronbench export openai` tree against OpenAI neuron-explainer's dataclasses, independently of the
Swift code: every object's keys are exactly its class's fields plus `dataclass_name` (OpenAI's loader rejects an
extra key), every value has the field's type, NaN is null, the quantile buckets are four and in order, the top
sequences of each explanation come first; and, given the database, every activation read back as float16 equals the
stored float16 (read with Scripts/read-activations.py: sqlite3 + zlib + numpy) and the statistics equal the stored
ones.

Field lists from openai/automated-interpretability, neuron-explainer/neuron_explainer/activations/activations.py
(ActivationRecord, NeuronId, NeuronRecord) and explanations/explanations.py (SequenceSimulation,
ScoredSequenceSimulation, ScoredSimulation, ScoredExplanation, NeuronSimulationResults).

Usage: python3 Scripts/check-openai-export.py EXPORT_DIR [DATABASE]   prints one JSON summary line; exit 1 on the
first problem, naming the file and the field.
"""
import importlib.util
import json
import math
import pathlib
import sys

import numpy as np

FIELDS = {
    "ActivationRecord": ["tokens", "activations"],
    "NeuronId": ["layer_index", "neuron_index"],
    "NeuronRecord": ["neuron_id", "random_sample", "random_sample_by_quantile", "quantile_boundaries", "mean",
                     "variance", "skewness", "kurtosis", "most_positive_activation_records"],
    "SequenceSimulation": ["tokens", "expected_activations", "activation_scale", "distribution_values",
                           "distribution_probabilities", "uncalibrated_simulation"],
    "ScoredSequenceSimulation": ["simulation", "true_activations", "ev_correlation_score", "rsquared_score",
                                 "absolute_dev_explained_score"],
    "ScoredSimulation": ["scored_sequence_simulations", "ev_correlation_score", "rsquared_score",
                         "absolute_dev_explained_score"],
    "ScoredExplanation": ["explanation", "scored_simulation"],
    "NeuronSimulationResults": ["neuron_id", "scored_explanations"],
}


class Problem(Exception):
    pass


def number(value, where, nullable=True):
    if value is None and nullable:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Problem(f"{where}: expected a finite number{' or null' if nullable else ''}, got {value!r}")


def tagged(obj, cls, where):
    if not isinstance(obj, dict):
        raise Problem(f"{where}: expected a {cls} object")
    if obj.get("dataclass_name") != cls:
        raise Problem(f"{where}: dataclass_name {obj.get('dataclass_name')!r}, expected {cls!r}")
    keys = [k for k in obj if k != "dataclass_name"]
    if sorted(keys) != sorted(FIELDS[cls]):
        raise Problem(f"{where}: keys {sorted(keys)} are not {cls}'s fields {sorted(FIELDS[cls])}")


def strings(value, where):
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise Problem(f"{where}: expected a list of strings")


def numbers(value, where, nullable=False):
    if not isinstance(value, list):
        raise Problem(f"{where}: expected a list of numbers")
    for i, v in enumerate(value):
        number(v, f"{where}[{i}]", nullable)


def activation_record(obj, where):
    tagged(obj, "ActivationRecord", where)
    strings(obj["tokens"], f"{where}.tokens")
    numbers(obj["activations"], f"{where}.activations")
    if len(obj["tokens"]) != len(obj["activations"]):
        raise Problem(f"{where}: tokens and activations differ in length")


def neuron_id(obj, where):
    tagged(obj, "NeuronId", where)
    for key in FIELDS["NeuronId"]:
        if isinstance(obj[key], bool) or not isinstance(obj[key], int):
            raise Problem(f"{where}.{key}: expected an integer")


def check_record(path, record, database, reader):
    tagged(record, "NeuronRecord", "NeuronRecord")
    neuron_id(record["neuron_id"], "neuron_id")
    layer, neuron = record["neuron_id"]["layer_index"], record["neuron_id"]["neuron_index"]
    if (str(layer), f"{neuron}.json") != (path.parent.name, path.name):
        raise Problem(f"neuron_id {layer}:{neuron} does not match the file's place")
    for key in ["random_sample", "most_positive_activation_records"]:
        for i, r in enumerate(record[key]):
            activation_record(r, f"{key}[{i}]")
    buckets = record["random_sample_by_quantile"]
    if not isinstance(buckets, list) or len(buckets) != 4:
        raise Problem("random_sample_by_quantile: expected 4 buckets")
    for b, bucket in enumerate(buckets):
        for i, r in enumerate(bucket):
            activation_record(r, f"random_sample_by_quantile[{b}][{i}]")
    numbers(record["quantile_boundaries"], "quantile_boundaries", nullable=True)
    for key in ["mean", "variance", "skewness", "kurtosis"]:
        number(record[key], key)
    maxima = [max(r["activations"]) for r in record["most_positive_activation_records"]]
    if maxima != sorted(maxima, reverse=True):
        raise Problem("most_positive_activation_records: not highest maximum first")
    if database is None:
        return 0
    stored = reader.read_neuron(database, layer, neuron)
    records = stored["records"]
    compared = 0
    pairs = [(record["most_positive_activation_records"], records["top"]), (record["random_sample"], records["random"])]
    pairs += [(buckets[b], records["quantiles"][b]) for b in range(4)]
    for exported, original in pairs:
        if len(exported) != len(original):
            raise Problem(f"{len(exported)} exported records where the database has {len(original)}")
        for e, o in zip(exported, original):
            a = np.array(e["activations"], dtype=np.float64).astype(np.float16)
            b = np.array(o["activations"], dtype=np.float16)
            if e["tokens"] != o["tokens"]:
                raise Problem(f"excerpt {o['excerpt_id']}: tokens differ from the database's")
            if not np.array_equal(a, b):
                raise Problem(f"excerpt {o['excerpt_id']}: activations do not round-trip to the stored float16")
            compared += len(a)
    stats = stored["stats"]
    for key in ["mean", "variance", "skewness", "kurtosis"]:
        want, got = stats[key], record[key]
        if (want is None) != (got is None) or (want is not None and abs(want - got) > 1e-12 * max(1, abs(want))):
            raise Problem(f"{key}: {got} where the database has {want}")
    return compared


def check_explanations(path, results):
    tagged(results, "NeuronSimulationResults", "NeuronSimulationResults")
    neuron_id(results["neuron_id"], "neuron_id")
    if not isinstance(results["scored_explanations"], list):
        raise Problem("scored_explanations: expected a list")
    scored = 0
    for e, explanation in enumerate(results["scored_explanations"]):
        where = f"scored_explanations[{e}]"
        tagged(explanation, "ScoredExplanation", where)
        if not isinstance(explanation["explanation"], str):
            raise Problem(f"{where}.explanation: expected a string")
        simulation = explanation["scored_simulation"]
        tagged(simulation, "ScoredSimulation", f"{where}.scored_simulation")
        for key in FIELDS["ScoredSimulation"][1:]:
            number(simulation[key], f"{where}.scored_simulation.{key}")
        for s, sequence in enumerate(simulation["scored_sequence_simulations"]):
            w = f"{where}.scored_simulation.scored_sequence_simulations[{s}]"
            tagged(sequence, "ScoredSequenceSimulation", w)
            numbers(sequence["true_activations"], f"{w}.true_activations")
            for key in FIELDS["ScoredSequenceSimulation"][2:]:
                number(sequence[key], f"{w}.{key}")
            inner = sequence["simulation"]
            while inner is not None:
                tagged(inner, "SequenceSimulation", f"{w}.simulation")
                strings(inner["tokens"], f"{w}.simulation.tokens")
                numbers(inner["expected_activations"], f"{w}.simulation.expected_activations")
                if inner["activation_scale"] not in ("neuron_activations", "simulated_normalized_activations"):
                    raise Problem(f"{w}.simulation.activation_scale: {inner['activation_scale']!r}")
                for key in ["distribution_values", "distribution_probabilities"]:
                    if not isinstance(inner[key], list):
                        raise Problem(f"{w}.simulation.{key}: expected a list")
                if len(inner["tokens"]) != len(sequence["true_activations"]):
                    raise Problem(f"{w}: tokens and true activations differ in length")
                inner = inner["uncalibrated_simulation"]
            scored += 1
    first = results["scored_explanations"][0]["scored_simulation"]["ev_correlation_score"] if results["scored_explanations"] else None
    numeric = [x["scored_simulation"]["ev_correlation_score"] is not None for x in results["scored_explanations"]]
    if numeric != sorted(numeric, reverse=True):
        raise Problem("scored_explanations: an undefined score comes before a numeric one")
    return scored, first is None


def main():
    export = pathlib.Path(sys.argv[1])
    database = sys.argv[2] if len(sys.argv) > 2 else None
    spec = importlib.util.spec_from_file_location("reader", pathlib.Path(__file__).parent / "read-activations.py")
    reader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reader)
    summary = {"records": 0, "values_compared": 0, "explanation_files": 0, "sequences": 0, "first_undefined": 0,
               "sidecars": 0}
    for path in sorted(export.glob("collated-activations/*/*.json")):
        try:
            if path.name.endswith(".neuronbench.json"):
                sidecar = json.loads(path.read_text())
                if sidecar.get("format") != "neuronbench-openai-record-sidecar":
                    raise Problem("not a record sidecar")
                summary["sidecars"] += 1
                continue
            summary["values_compared"] += check_record(path, json.loads(path.read_text()), database, reader)
            summary["records"] += 1
        except (Problem, KeyError, TypeError, ValueError) as error:
            raise SystemExit(f"{path}: {error}")
    for path in sorted(export.glob("explanations/*/*.jsonl")):
        try:
            lines = [line for line in path.read_text().split("\n") if line]
            if len(lines) != 1:
                raise Problem(f"{len(lines)} lines, expected exactly 1")
            sequences, undefined = check_explanations(path, json.loads(lines[0]))
            summary["explanation_files"] += 1
            summary["sequences"] += sequences
            summary["first_undefined"] += undefined
        except (Problem, KeyError, TypeError, ValueError) as error:
            raise SystemExit(f"{path}: {error}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
