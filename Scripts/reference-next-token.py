#!/usr/bin/env python3
"""The reference for the real-server tests: GPT-2's next-token log-probabilities, in numpy (float64), for a token
list read as JSON from standard input.

    echo '{"tokens": [464, 3290, 318], "top": 15}' | python3 Scripts/reference-next-token.py CHECKPOINT_DIR

Prints {"tokens": [text of each token], "candidates": [one entry per position i]}: null for i = 0, else the `top`
most likely tokens given the tokens before i, as {token text: log-probability} (text decoded from GPT-2's byte-level
vocabulary). That is what OpenAI specifies for `echo` + `logprobs`, so a server's echoed lists can be compared with
it position by position. Needs numpy and safetensors. Checked against transformers' GPT2LMHeadModel on the test model
(Scripts/make-test-llm.py): log-probabilities agree to 2e-5 (and vLLM's echo on it to 1e-5).
"""
import json
import pathlib
import sys

import numpy as np
from safetensors.numpy import load_file


def byte_decoder():
    """GPT-2's bytes_to_unicode, inverted: each vocabulary character back to its byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu_new(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def log_probabilities(checkpoint, ids):
    config = json.loads((checkpoint / "config.json").read_text())
    w = {k.removeprefix("transformer."): v.astype(np.float64)
         for k, v in load_file(str(checkpoint / "model.safetensors")).items()}
    eps, heads = config.get("layer_norm_epsilon", 1e-5), config["n_head"]
    n = len(ids)
    x = w["wte.weight"][ids] + w["wpe.weight"][:n]                       # [n, d]
    d = x.shape[1]
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for layer in range(config["n_layer"]):
        p = f"h.{layer}."
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        q, k, v = np.split(h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"], 3, axis=1)
        q, k, v = (t.reshape(n, heads, d // heads).transpose(1, 0, 2) for t in (q, k, v))  # [heads, n, hd]
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(d // heads) + mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attention = (scores / scores.sum(-1, keepdims=True)) @ v               # [heads, n, hd]
        x = x + attention.transpose(1, 0, 2).reshape(n, d) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        x = x + gelu_new(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] \
            + w[p + "mlp.c_proj.bias"]
    logits = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps) @ w["wte.weight"].T   # [n, vocab]
    logits -= logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def main():
    checkpoint = pathlib.Path(sys.argv[1])
    request = json.load(sys.stdin)
    ids, top = request["tokens"], request.get("top", 15)
    vocab = json.loads((checkpoint / "vocab.json").read_text(encoding="utf-8"))
    decoder = byte_decoder()
    text = {i: bytes(decoder[c] for c in token).decode("utf-8", errors="ignore") for token, i in vocab.items()}
    logprobs = log_probabilities(checkpoint, ids)
    out = [None]
    for position in range(1, len(ids)):
        row = logprobs[position - 1]                                          # p(token | tokens before position)
        best = np.argsort(-row, kind="stable")[:top]
        out.append({text[int(i)]: float(row[i]) for i in best})
    json.dump({"tokens": [text[i] for i in ids], "candidates": out}, sys.stdout)


if __name__ == "__main__":
    main()
