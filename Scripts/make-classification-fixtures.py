#!/usr/bin/env python3
"""Reference values for the detection/fuzzing metrics, from scikit-learn.

Writes Tests/EvaluationTests/Resources/classification-metrics.json: labelled cases (labels, predictions and graded
confidences) with scikit-learn's accuracy_score, balanced_accuracy_score, precision_score, recall_score and
f1_score (zero_division=np.nan) and roc_auc_score. Only cases with both classes among the labels, where
scikit-learn defines every value; the one-class NaN rule is tested by hand. Seeded: re-running gives the same file.

    pip install scikit-learn numpy && python3 Scripts/make-classification-fixtures.py
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, f1_score, precision_score, recall_score,
                             roc_auc_score)

rng = np.random.default_rng(20261201)
cases = []


def add(name, labels, predictions, confidences):
    labels, predictions = np.asarray(labels, int), np.asarray(predictions, int)
    confidences = np.asarray(confidences, float)
    assert len(set(labels.tolist())) == 2, name

    def number(x):
        x = float(x)
        return None if np.isnan(x) else x

    cases.append({
        "name": name,
        "labels": labels.tolist(),
        "predictions": predictions.tolist(),
        "confidences": confidences.tolist(),
        "accuracy": number(accuracy_score(labels, predictions)),
        "balanced_accuracy": number(balanced_accuracy_score(labels, predictions)),
        "precision": number(precision_score(labels, predictions, zero_division=np.nan)),
        "recall": number(recall_score(labels, predictions, zero_division=np.nan)),
        "f1": number(f1_score(labels, predictions, zero_division=np.nan)),
        "auroc": number(roc_auc_score(labels, confidences)),
    })


# Random judges of varying skill and balance, confidences on a coarse grid so that ties occur.
for i in range(40):
    n = int(rng.integers(4, 60))
    labels = rng.integers(0, 2, n)
    labels[0], labels[1] = 0, 1
    skill = rng.uniform(-0.5, 1.0)
    confidences = np.clip(0.5 + skill * (labels - 0.5) + rng.normal(0, 0.35, n), 0, 1)
    if i % 3 == 0:
        confidences = np.round(confidences * 4) / 4
    predictions = (confidences >= 0.5).astype(int)
    add(f"random-{i}", labels, predictions, confidences)

# Edge cases: no positive prediction (precision undefined), all positive, perfect, inverted, constant confidences.
add("no-positive-prediction", [1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0.4, 0.3, 0.2, 0.1, 0.3])
add("all-predicted-positive", [1, 0, 0, 1, 0, 0], [1, 1, 1, 1, 1, 1], [0.9, 0.8, 0.7, 0.9, 0.6, 0.5])
add("perfect", [1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1.0, 0.9, 0.8, 0.1, 0.0])
add("inverted", [1, 1, 0, 0], [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
add("constant-confidence", [1, 0, 1, 0, 0], [1, 0, 0, 1, 0], [0.5, 0.5, 0.5, 0.5, 0.5])
add("binary-confidence", [1, 0, 1, 0, 0, 1], [1, 0, 0, 1, 0, 1], [1, 0, 0, 1, 0, 1])

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/EvaluationTests/Resources/classification-metrics.json"
out.write_text(json.dumps({"scikit_learn": sklearn.__version__, "cases": cases}, indent=None) + "\n")
print(f"wrote {len(cases)} cases to {out}")
