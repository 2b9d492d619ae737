#!/usr/bin/env python3
"""Checks a `neuronbench export neuronpedia` tree against Neuronpedia's importer models, independently of the Swift
code: every line of features/, activations/ and explanations/ batch-N.jsonl.gz has exactly the fields of
neuronpedia_utils/db_models (Feature, Activation, Explanation; hijohnnylin/neuronpedia, utils/neuronpedia-utils)
with their types; batches hold at most BATCH features and only the last holds fewer; every activation's maxValue
and maxValueTokenIndex agree with its values; every explanation and activation names an exported feature; ids are
unique.

Usage: python3 Scripts/check-neuronpedia-export.py EXPORT_DIR BATCH   prints one JSON summary line; exit 1 on the
first problem, naming the file, the line and the field.
"""
import gzip
import json
import pathlib
import sys

STR, INT, FLOAT, BOOL, LIST, NONE = "str", "int", "float", "bool", "list", "none"
FIELDS = {
    "features": {
        "modelId": [STR], "layer": [STR], "index": [STR], "creatorId": [STR, NONE], "createdAt": [STR],
        "maxActApprox": [FLOAT, NONE], "hasVector": [BOOL], "vector": [LIST], "vectorLabel": [STR, NONE],
        "vectorDefaultSteerStrength": [FLOAT, NONE], "hookName": [STR, NONE], "topkCosSimIndices": [LIST],
        "topkCosSimValues": [LIST], "neuron_alignment_indices": [LIST], "neuron_alignment_values": [LIST],
        "neuron_alignment_l1": [LIST], "correlated_neurons_indices": [LIST], "correlated_neurons_pearson": [LIST],
        "correlated_neurons_l1": [LIST], "correlated_features_indices": [LIST], "correlated_features_pearson": [LIST],
        "correlated_features_l1": [LIST], "neg_str": [LIST], "neg_values": [LIST], "pos_str": [LIST],
        "pos_values": [LIST], "frac_nonzero": [FLOAT], "freq_hist_data_bar_heights": [LIST],
        "freq_hist_data_bar_values": [LIST], "logits_hist_data_bar_heights": [LIST],
        "logits_hist_data_bar_values": [LIST], "decoder_weights_dist": [LIST],
    },
    "activations": {
        "id": [STR], "tokens": [LIST], "index": [STR], "layer": [STR], "modelId": [STR], "maxValue": [FLOAT],
        "maxValueTokenIndex": [INT], "minValue": [FLOAT], "values": [LIST], "creatorId": [STR],
        "dataSource": [STR, NONE], "dataIndex": [STR, NONE], "dfaValues": [LIST], "dfaTargetIndex": [INT, NONE],
        "dfaMaxValue": [FLOAT, NONE], "createdAt": [STR], "lossValues": [LIST], "logitContributions": [STR, NONE],
        "binMin": [FLOAT, NONE], "binMax": [FLOAT, NONE], "binContains": [FLOAT, NONE],
        "qualifyingTokenIndex": [INT, NONE],
    },
    "explanations": {
        "id": [STR], "modelId": [STR], "layer": [STR], "index": [STR], "description": [STR], "authorId": [STR],
        "embedding": [LIST, NONE], "triggeredById": [STR, NONE], "typeName": [STR, NONE],
        "explanationModelName": [STR, NONE], "notes": [STR, NONE], "createdAt": [STR],
    },
}


def kind(value):
    if value is None:
        return NONE
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STR
    if isinstance(value, list):
        return LIST
    return type(value).__name__


def main():
    export, batch = pathlib.Path(sys.argv[1]), int(sys.argv[2])
    summary = {"sources": 0, "features": 0, "activations": 0, "explanations": 0, "files": 0}
    for source in sorted(p for p in export.glob("*/*") if p.is_dir()):
        summary["sources"] += 1
        model, layer = source.parent.name, source.name
        features, ids = set(), set()
        for folder in ["features", "activations", "explanations"]:
            files = sorted(source.glob(f"{folder}/batch-*.jsonl.gz"), key=lambda p: int(p.name[6:-9]))
            for number, path in enumerate(files):
                if path.name != f"batch-{number}.jsonl.gz" and folder == "features":
                    raise SystemExit(f"{path}: batches are not numbered 0, 1, 2, ...")
                lines = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
                summary["files"] += 1
                if folder == "features" and (len(lines) > batch or (number < len(files) - 1 and len(lines) != batch)):
                    raise SystemExit(f"{path}: {len(lines)} features in a batch of {batch}")
                for n, obj in enumerate(lines, 1):
                    where = f"{path}: line {n}"
                    if set(obj) != set(FIELDS[folder]):
                        raise SystemExit(f"{where}: keys differ from the importer's: "
                                         f"extra {sorted(set(obj) - set(FIELDS[folder]))}, "
                                         f"missing {sorted(set(FIELDS[folder]) - set(obj))}")
                    for key, allowed in FIELDS[folder].items():
                        found = kind(obj[key])
                        if found not in allowed and not (found == INT and FLOAT in allowed):
                            raise SystemExit(f"{where}: {key} is {found}, expected {' or '.join(allowed)}")
                    if obj["modelId"] != model or obj["layer"] != layer:
                        raise SystemExit(f"{where}: modelId/layer {obj['modelId']}/{obj['layer']} outside {model}/{layer}")
                    if folder == "features":
                        features.add(obj["index"])
                    else:
                        if obj["index"] not in features:
                            raise SystemExit(f"{where}: index {obj['index']} is no exported feature")
                        if obj["id"] in ids:
                            raise SystemExit(f"{where}: id {obj['id']} is not unique")
                        ids.add(obj["id"])
                    if folder == "activations":
                        values = obj["values"]
                        if len(values) != len(obj["tokens"]) or obj["maxValue"] != max(values) or \
                                values[obj["maxValueTokenIndex"]] != obj["maxValue"] or obj["minValue"] != min(values):
                            raise SystemExit(f"{where}: maxValue, maxValueTokenIndex or minValue disagree with values")
                    summary[folder] += 1
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
