#!/usr/bin/env python3
"""Reads one unit (neuron or SAE latent) from a neuronbench activation database (schema version 1, 2 or 3) with
nothing but Python's sqlite3 and zlib and numpy, following Schemas/activations.md. Prints the same JSON as
`neuronbench inspect DB --neuron L:I --json`.

Usage: python3 Scripts/read-activations.py DB L:I [--allow-incomplete]
"""
import json
import sqlite3
import sys
import zlib

import numpy as np


def read_neuron(path, layer, neuron, allow_incomplete=False):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    meta = {key: json.loads(value) for key, value in db.execute("SELECT key, value FROM metadata")}
    version = meta.get("schema_version")
    if version not in (1, 2, 3):
        raise SystemExit(f"{path}: schema version {version} is not 1, 2 or 3")
    if meta.get("status") != "complete" and not allow_incomplete:
        raise SystemExit(f"{path}: status is {meta.get('status')!r}, not 'complete'")
    # Version 1 has no source (its units are neurons) and neither of version 2's two new columns.
    new_columns = "active_excerpt_count, quantile_population" if version >= 2 else "NULL, 'all'"
    row = db.execute(f"""SELECT token_count, excerpt_count, mean, variance, skewness, kurtosis, min, max, fraction_positive,
                               histogram_edges, histogram, quantile_boundaries, excerpts_below_boundaries, activations,
                               {new_columns}, {"records" if version >= 3 else "NULL"}
                        FROM neurons WHERE layer = ? AND neuron = ?""", (layer, neuron)).fetchone()
    if row is None:
        raise SystemExit(f"{path}: no neuron {layer}:{neuron}")
    names = ["token_count", "excerpt_count", "mean", "variance", "skewness", "kurtosis", "min", "max",
             "fraction_positive", "histogram_edges", "histogram", "quantile_boundaries", "excerpts_below_boundaries"]
    stats = dict(zip(names, row[:13]))
    stats["active_excerpt_count"], stats["quantile_population"] = row[14], row[15]
    source = meta.get("source", {"kind": "neurons", "prepend_bos": False, "saes": []})
    sae = next((s for s in source["saes"] if s["layer"] == layer), None)
    for key in ["histogram_edges", "histogram", "quantile_boundaries", "excerpts_below_boundaries"]:
        stats[key] = json.loads(stats[key])
    # The blob: zlib-compressed little-endian float16, every record's values at its value_offset.
    values = np.frombuffer(zlib.decompress(row[13]), dtype="<f2").astype(np.float32)
    vocabulary = {i: bytes(t).decode("utf-8", errors="replace") for i, t in db.execute("SELECT id, token FROM vocabulary")}
    records = {"top": [], "random": [], "quantiles": [[], [], [], []], "bottom": []}
    rows = packed_records(db, row[16]) if version >= 3 else table_records(db, layer, neuron)
    for kind, bucket, _, excerpt_id, high, low, offset, count, ids_blob in sorted(rows, key=lambda r: r[:3]):
        ids = np.frombuffer(ids_blob, dtype="<u4").tolist()
        record = {"excerpt_id": excerpt_id, "max_activation": high, "min_activation": low,
                  "tokens": [vocabulary[i] for i in ids], "ids": ids,
                  "activations": values[offset:offset + count].tolist()}
        (records["quantiles"][bucket] if kind == "quantile" else records[kind]).append(record)
    return {"layer": layer, "neuron": neuron, "source": source["kind"],
            "hook": sae["hook"] if sae else f"blocks.{layer}.mlp.hook_post", "stats": stats, "records": records}


# Version 3: each unit's records packed in its row, 16 bytes each, in the order of their values in the blob.
RECORD = np.dtype([("kind", "u1"), ("bucket", "u1"), ("rank", "<u2"), ("excerpt_id", "<u4"),
                   ("max_activation", "<f4"), ("min_activation", "<f4")])
KINDS = ["top", "random", "quantile", "bottom"]


def packed_records(db, blob):
    """(kind, bucket, rank, excerpt id, max, min, value offset, token count, token ids) per record."""
    rows, offset = [], 0
    for r in np.frombuffer(blob, dtype=RECORD):
        count, ids = db.execute("SELECT token_count, token_ids FROM excerpts WHERE id = ?",
                                (int(r["excerpt_id"]),)).fetchone()
        rows.append((KINDS[r["kind"]], int(r["bucket"]), int(r["rank"]), int(r["excerpt_id"]),
                     float(r["max_activation"]), float(r["min_activation"]), offset, count, ids))
        offset += count
    return rows


def table_records(db, layer, neuron):
    """The same from versions 1 and 2, one row of the records table per record."""
    return db.execute(
        """SELECT r.kind, r.bucket, r.rank, r.excerpt_id, r.max_activation, r.min_activation, r.value_offset,
                  e.token_count, e.token_ids
           FROM records r JOIN excerpts e ON e.id = r.excerpt_id
           WHERE r.layer = ? AND r.neuron = ?""", (layer, neuron)).fetchall()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2 or ":" not in args[1]:
        raise SystemExit(__doc__)
    layer, neuron = map(int, args[1].split(":"))
    print(json.dumps(read_neuron(args[0], layer, neuron, "--allow-incomplete" in sys.argv)))


if __name__ == "__main__":
    main()
