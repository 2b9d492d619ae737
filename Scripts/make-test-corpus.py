#!/usr/bin/env python3
"""Writes Corpora/test-corpus/: a small corpus this project writes itself (no licence questions), for tests.

Seeded and deterministic. Documents mix plain prose, numbers and dates, capitalised names, code, lists and
quotations, so that neurons of a real model have something to tell apart, and include the awkward cases a corpus
reader must handle: an empty file, a file with invalid UTF-8 and NUL bytes, and a file with no final newline.
"""
import pathlib
import random

OUT = pathlib.Path(__file__).resolve().parent.parent / "Corpora" / "test-corpus"

SUBJECTS = ["The committee", "Our small town", "The river", "A young engineer", "The old library", "Every farmer",
            "The new bridge", "Congress", "The orchestra", "My neighbour", "The harbour master", "The census"]
VERBS = ["reported", "announced", "discovered", "argued", "measured", "promised", "remembered", "counted",
         "questioned", "celebrated", "rebuilt", "described"]
OBJECTS = ["a record harvest", "the cost of the railway", "a quiet winter", "the price of bread", "new schools",
           "the flood of the spring", "a treaty with its neighbours", "the number of ships", "a fair wage",
           "the long drought", "the first telephone", "a public garden"]
NAMES = ["Washington", "Lincoln", "Paris", "Ada Lovelace", "Mount Rainier", "the Mississippi", "Tokyo",
         "Marie Curie", "Alexander Hamilton", "Lake Superior"]


def sentence(rng):
    kind = rng.random()
    if kind < 0.5:
        return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}."
    if kind < 0.7:
        year = rng.randint(1790, 2020)
        amount = rng.randint(1, 999_999)
        return f"In {year}, {rng.choice(SUBJECTS).lower()} {rng.choice(VERBS)} {amount:,} dollars for {rng.choice(OBJECTS)}."
    if kind < 0.85:
        return f"{rng.choice(NAMES)} and {rng.choice(NAMES)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} in {rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1900, 2020)}."
    return f"\"{rng.choice(OBJECTS).capitalize()}!\" said {rng.choice(NAMES)}, and {rng.choice(SUBJECTS).lower()} agreed."


def prose(rng, paragraphs):
    return "\n\n".join(" ".join(sentence(rng) for _ in range(rng.randint(3, 7))) for _ in range(paragraphs)) + "\n"


def main():
    rng = random.Random(7)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.txt"):
        old.unlink()
    for i in range(12):
        (OUT / f"prose-{i:02d}.txt").write_text(prose(rng, rng.randint(6, 20)), encoding="utf-8")
    code = "\n".join(f"def step_{i}(x):\n    return x * {i} + {rng.randint(0, 99)}\n" for i in range(30))
    (OUT / "code.txt").write_text(code, encoding="utf-8")
    items = "\n".join(f"{i}. {rng.choice(OBJECTS).capitalize()} ({rng.randint(1, 500)} items)" for i in range(1, 60))
    (OUT / "list.txt").write_text(items + "\n", encoding="utf-8")
    (OUT / "empty.txt").write_bytes(b"")
    (OUT / "invalid-utf8.txt").write_bytes(b"Caf\xe9 au lait\x00 costs \xff\xfe 3 dollars. " + prose(rng, 2).encode())
    (OUT / "no-final-newline.txt").write_text(prose(rng, 2).rstrip("\n"), encoding="utf-8")


if __name__ == "__main__":
    main()
