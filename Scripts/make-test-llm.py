#!/usr/bin/env python3
"""Writes a small seeded random-weight GPT-2 checkpoint (Hugging Face layout) for the real-model-server tests.

    python3 Scripts/make-test-llm.py OUT_DIR [--seed 0] [--layers 2] [--width 64] [--heads 2] [--positions 2048]

Why not the demo model: its 256 positions cannot hold the explainer's prompt (~630 tokens). This model has GPT-2's
vocabulary (vocab.json and merges.txt copied from Models/sotu-gpt2), 2,048 positions and a tiny width, so that a
one-request-at-a-time server answers quickly. Its text is nonsense; the tests check the protocol, not the wisdom.

One deliberate bias: the tokens "0" to "10" get larger embedding rows (GPT-2 ties the output to the embedding), so
that they are among the top candidates at most positions and their probabilities vary from position to position.
That gives the all-at-once simulator numbers to read, and makes a log-probability list shifted by one position
visibly different from an aligned one.

Needs numpy and safetensors (Scripts/llm-server installs both in its venv). Same arguments, same bytes.
"""
import argparse
import json
import pathlib
import shutil

import numpy as np
from safetensors.numpy import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
VOCABULARY = ROOT / "Models" / "sotu-gpt2"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--positions", type=int, default=2048)
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    vocab = json.loads((VOCABULARY / "vocab.json").read_text(encoding="utf-8"))
    n_vocab, d = len(vocab), args.width
    rng = np.random.default_rng(args.seed)

    def normal(std, *shape):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    tensors = {
        "transformer.wte.weight": normal(0.02, n_vocab, d),
        "transformer.wpe.weight": normal(0.3, args.positions, d),
        "transformer.ln_f.weight": np.ones(d, np.float32),
        "transformer.ln_f.bias": np.zeros(d, np.float32),
    }
    # Every digit gets +6 logits from a shared direction (the final layer norm's bias), and a position-dependent
    # part from its own random row.
    direction = normal(1, d)
    direction /= np.linalg.norm(direction)
    tensors["transformer.ln_f.bias"] = 3 * direction
    digits = [vocab[str(v)] for v in range(11)]
    tensors["transformer.wte.weight"][digits] = normal(0.3, len(digits), d) + 2 * direction
    for layer in range(args.layers):
        p = f"transformer.h.{layer}."
        tensors |= {
            p + "ln_1.weight": np.ones(d, np.float32), p + "ln_1.bias": np.zeros(d, np.float32),
            p + "attn.c_attn.weight": normal(0.2, d, 3 * d), p + "attn.c_attn.bias": normal(0.02, 3 * d),
            p + "attn.c_proj.weight": normal(0.1, d, d), p + "attn.c_proj.bias": normal(0.02, d),
            p + "ln_2.weight": np.ones(d, np.float32), p + "ln_2.bias": np.zeros(d, np.float32),
            p + "mlp.c_fc.weight": normal(0.2, d, 4 * d), p + "mlp.c_fc.bias": normal(0.02, 4 * d),
            p + "mlp.c_proj.weight": normal(0.1, 4 * d, d), p + "mlp.c_proj.bias": normal(0.02, d),
        }
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
        "vocab_size": n_vocab, "n_positions": args.positions, "n_embd": d, "n_layer": args.layers,
        "n_head": args.heads, "n_inner": None, "layer_norm_epsilon": 1e-5, "bos_token_id": 50256,
        "eos_token_id": 50256, "tie_word_embeddings": True,
        "neuronbench": f"Scripts/make-test-llm.py --seed {args.seed}: random weights, digits favoured",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(VOCABULARY / name, out / name)
    print(out)


if __name__ == "__main__":
    main()
