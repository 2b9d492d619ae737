#!/usr/bin/env python3
"""Converts a GPT-2 checkpoint (Hugging Face layout: config.json, model.safetensors, vocab.json, merges.txt) to
GGUF for llama.cpp and llama-cpp-python, in float32; or checks a converted file against its checkpoint.

    python3 Scripts/gpt2-to-gguf.py CHECKPOINT_DIR OUT.gguf
    python3 Scripts/gpt2-to-gguf.py --check CHECKPOINT_DIR OUT.gguf   # every tensor equal, metadata as configured

The mapping is llama.cpp's for architecture "gpt2": Conv1D weights ([in, out] in the checkpoint) are transposed to
[out, in]; the tied output matrix is written as `output.weight` (a copy of the token embedding); the tokenizer is
GPT-2's byte-level BPE (`tokenizer.ggml.model = gpt2`, pre-tokenizer "gpt-2"), tokens in id order, merges in file
order, <|endoftext|> as a control token and as BOS/EOS. Needs numpy, safetensors and gguf (PyPI), which
Scripts/llm-server installs in its venv.
"""
import argparse
import json
import pathlib
import sys

import gguf
import numpy as np
from safetensors.numpy import load_file

TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
PER_LAYER = {
    "ln_1.weight": "attn_norm.weight", "ln_1.bias": "attn_norm.bias",
    "attn.c_attn.weight": "attn_qkv.weight", "attn.c_attn.bias": "attn_qkv.bias",
    "attn.c_proj.weight": "attn_output.weight", "attn.c_proj.bias": "attn_output.bias",
    "ln_2.weight": "ffn_norm.weight", "ln_2.bias": "ffn_norm.bias",
    "mlp.c_fc.weight": "ffn_up.weight", "mlp.c_fc.bias": "ffn_up.bias",
    "mlp.c_proj.weight": "ffn_down.weight", "mlp.c_proj.bias": "ffn_down.bias",
}
GLOBAL = {"wte.weight": "token_embd.weight", "wpe.weight": "position_embd.weight",
          "ln_f.weight": "output_norm.weight", "ln_f.bias": "output_norm.bias"}


def fail(message):
    print(f"gpt2-to-gguf: {message}", file=sys.stderr)
    sys.exit(1)


def gguf_tensors(checkpoint):
    """The checkpoint's tensors under their GGUF names, shaped as GGUF stores them (numpy order)."""
    raw = load_file(str(checkpoint / "model.safetensors"))
    out = {}
    for name, value in raw.items():
        key = name.removeprefix("transformer.")
        if key.endswith((".attn.bias", ".attn.masked_bias")) or key == "lm_head.weight":
            continue  # the causal mask buffer; the tied head is the embedding
        if key in GLOBAL:
            out[GLOBAL[key]] = value
            continue
        parts = key.split(".", 2)
        if len(parts) != 3 or parts[0] != "h" or parts[2] not in PER_LAYER:
            fail(f"{checkpoint / 'model.safetensors'}: unexpected tensor {name}")
        value = value.T if parts[2] in TRANSPOSED else value
        out[f"blk.{parts[1]}.{PER_LAYER[parts[2]]}"] = np.ascontiguousarray(value, dtype=np.float32)
    out["output.weight"] = out["token_embd.weight"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def vocabulary(checkpoint):
    vocab = json.loads((checkpoint / "vocab.json").read_text(encoding="utf-8"))
    tokens = [None] * len(vocab)
    for token, index in vocab.items():
        tokens[index] = token
    if any(t is None for t in tokens):
        fail(f"{checkpoint / 'vocab.json'}: token ids are not 0..{len(vocab) - 1}")
    merges = [line for line in (checkpoint / "merges.txt").read_text(encoding="utf-8").split("\n")
              if line and not line.startswith("#version")]
    return tokens, merges


def convert(checkpoint, out):
    config = json.loads((checkpoint / "config.json").read_text())
    tokens, merges = vocabulary(checkpoint)
    eos = config.get("eos_token_id", 50256)
    writer = gguf.GGUFWriter(str(out), "gpt2")
    writer.add_name(checkpoint.name)
    writer.add_context_length(config["n_positions"])
    writer.add_embedding_length(config["n_embd"])
    writer.add_feed_forward_length(config.get("n_inner") or 4 * config["n_embd"])
    writer.add_block_count(config["n_layer"])
    writer.add_head_count(config["n_head"])
    writer.add_layer_norm_eps(config.get("layer_norm_epsilon", 1e-5))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.CONTROL if i == eos else gguf.TokenType.NORMAL
                            for i in range(len(tokens))])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(config.get("bos_token_id", eos))
    writer.add_eos_token_id(eos)
    writer.add_add_bos_token(False)
    for name, value in gguf_tensors(checkpoint).items():
        writer.add_tensor(name, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def check(checkpoint, path):
    """Reads the GGUF file back with gguf's own reader and compares it with the checkpoint."""
    config = json.loads((checkpoint / "config.json").read_text())
    reader = gguf.GGUFReader(str(path))
    expected = gguf_tensors(checkpoint)
    found = {t.name: t for t in reader.tensors}
    if set(found) != set(expected):
        fail(f"{path}: tensors differ: missing {sorted(set(expected) - set(found))}, "
             f"extra {sorted(set(found) - set(expected))}")
    for name, want in expected.items():
        got = np.asarray(found[name].data).reshape(want.shape)
        if got.dtype != np.float32 or not np.array_equal(got, want):
            fail(f"{path}: tensor {name} differs from the checkpoint")

    def field(key):
        part = reader.fields[key]
        return part.parts[part.data[0]].tolist()[0] if len(part.data) == 1 else None

    for key, want in [("gpt2.context_length", config["n_positions"]), ("gpt2.block_count", config["n_layer"]),
                      ("gpt2.embedding_length", config["n_embd"]), ("gpt2.attention.head_count", config["n_head"])]:
        if field(key) != want:
            fail(f"{path}: {key} is {field(key)}, the checkpoint says {want}")
    tokens, merges = vocabulary(checkpoint)
    token_field = reader.fields["tokenizer.ggml.tokens"]
    if len(token_field.data) != len(tokens) or any(
            bytes(token_field.parts[i]).decode("utf-8") != tokens[n] for n, i in enumerate(token_field.data)):
        fail(f"{path}: the token list differs from {checkpoint / 'vocab.json'}")
    if len(reader.fields["tokenizer.ggml.merges"].data) != len(merges):
        fail(f"{path}: the merges differ from {checkpoint / 'merges.txt'}")
    print(f"{path}: {len(expected)} tensors and {len(tokens)} tokens equal to {checkpoint}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("checkpoint")
    parser.add_argument("out")
    args = parser.parse_args()
    checkpoint, out = pathlib.Path(args.checkpoint), pathlib.Path(args.out)
    for name in ("config.json", "model.safetensors", "vocab.json", "merges.txt"):
        if not (checkpoint / name).is_file():
            fail(f"{checkpoint / name}: missing (a GPT-2 checkpoint directory has config.json, model.safetensors, "
                 "vocab.json and merges.txt)")
    if args.check:
        check(checkpoint, out)
    else:
        partial = out.with_name(out.name + ".partial")
        convert(checkpoint, partial)
        partial.replace(out)
        print(out)


if __name__ == "__main__":
    main()
