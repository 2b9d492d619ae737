#!/usr/bin/env python3
"""Precompute speed and memory of SAE latents against neurons, in one invocation (issue "SAE latents, part 2").

Run through Scripts/bench-sae-precompute (which builds neuronbench in release mode and finds a Python with torch).

  * a random-weight GPT-2 small (as Scripts/bench_precompute.py makes it: seeded transformers `GPT2Config()`);
  * random SAEs in SAELens' format on `blocks.L.hook_resid_pre` (d_in 768, d_sae 24,576, standard ReLU, float32),
    written with numpy + safetensors: W_enc, W_dec ~ N(0, 1/d), and each latent's encoder bias set from its
    pre-activation over 2,048 corpus tokens of the model (mean + z·std, z uniform in [2, 3.5]) so that latents fire
    rarely, as trained SAEs' do (L0 of the order of 100);
  * three runs of `neuronbench precompute --max-tokens N` over the sotu corpus, each its own process, in the same
    precision: the neurons of all 12 layers (the baseline), one SAE (layer 6), and twelve SAEs (every layer);
    end-to-end tokens/s (wall clock, everything included), the main pass's tokens/s as neuronbench reports it,
    and each process's peak RSS; the ratios are against the neuron run.
"""
import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench_precompute", os.path.join(HERE, "bench_precompute.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def timed(command):
    """Runs `command` in a helper process: (seconds, stderr, peak RSS of the command in MB)."""
    helper = ("import resource, subprocess, sys, time\n"
              "t = time.perf_counter()\n"
              "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
              "sys.stdout.write(r.stderr)\n"
              "print('@@RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode, time.perf_counter() - t)\n")
    out = subprocess.run([sys.executable, "-c", helper] + command, stdout=subprocess.PIPE, text=True).stdout
    body, _, tail = out.rpartition("@@RSS ")
    kilobytes, code, seconds = tail.split()
    if int(code) != 0:
        raise SystemExit(f"bench-sae-precompute: {' '.join(command)} failed with status {code}:\n{body[-3000:]}")
    return float(seconds), body, int(kilobytes) / 1024


def make_saes(neuronbench, model_dir, corpus, tokenizer_dir, out, layers, d_sae, seed=0):
    """One random standard SAE per layer on hook_resid_pre, its biases calibrated on the model's own vectors."""
    import torch
    from safetensors.numpy import save_file
    from transformers import GPT2Model
    model = GPT2Model.from_pretrained(model_dir, attn_implementation="eager").eval()
    text = ""
    for name in sorted(os.listdir(corpus)):
        text += open(os.path.join(corpus, name), encoding="utf-8", errors="replace").read()
        if len(text) > 40_000:
            break
    # neuronbench's own tokenizer (checked against tiktoken in its tests).
    ids = json.loads(subprocess.run([neuronbench, "tokenize", "--model", model_dir, "--tokenizer", tokenizer_dir,
                                     "--json", text], stdout=subprocess.PIPE, text=True, check=True).stdout)["ids"]
    batch = [([50256] + ids[i * 63:(i + 1) * 63]) for i in range(32)]
    ids = torch.tensor(batch)
    with torch.no_grad():
        hidden = model(ids, output_hidden_states=True).hidden_states  # hidden[L] = resid_pre of block L
    rng = np.random.default_rng(seed)
    d_in = model.config.n_embd
    directories = {}
    for layer in layers:
        x = hidden[layer][:, 1:].reshape(-1, d_in).numpy()
        w_enc = (rng.standard_normal((d_in, d_sae)) / np.sqrt(d_in)).astype(np.float32)
        w_dec = (rng.standard_normal((d_sae, d_in)) / np.sqrt(d_sae)).astype(np.float32)
        b_dec = np.zeros(d_in, dtype=np.float32)
        pre = (x - b_dec) @ w_enc
        z = rng.uniform(2.0, 3.5, d_sae)
        b_enc = (-(pre.mean(axis=0) + z * pre.std(axis=0))).astype(np.float32)
        directory = os.path.join(out, f"blocks.{layer}.hook_resid_pre")
        os.makedirs(directory)
        save_file({"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec},
                  os.path.join(directory, "sae_weights.safetensors"))
        config = {"architecture": "standard", "d_in": d_in, "d_sae": d_sae, "dtype": "float32", "device": "cpu",
                  "apply_b_dec_to_input": True, "normalize_activations": "none", "reshape_activations": "none",
                  "metadata": {"hook_name": f"blocks.{layer}.hook_resid_pre", "prepend_bos": True,
                               "model_name": "gpt2-small-random", "model_from_pretrained_kwargs": {}}}
        with open(os.path.join(directory, "cfg.json"), "w") as f:
            json.dump(config, f)
        directories[layer] = directory
    return directories


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--neuronbench", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--tokens", type=int, default=65536)
    parser.add_argument("--latents", type=int, default=24576)
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="nb-bench-sae-")
    model = os.path.join(work, "gpt2-small-random")
    bench.make_model(model, args.tokenizer)
    saes = make_saes(args.neuronbench, model, args.corpus, args.tokenizer, work, range(12), args.latents)
    common = ["precompute", "--model", model, "--corpus", args.corpus, "--max-tokens", str(args.tokens),
              "--excerpt-tokens", "63", "--precision", args.precision]
    # 63-token excerpts: with BOS a context is 64 positions in every run (the neuron run gets BOS too).
    runs = [("neurons, 12 layers", ["--prepend-bos", "on"], 12 * 3072),
            ("1 SAE (layer 6)", ["--sae", saes[6]], args.latents),
            ("12 SAEs", sum((["--sae", saes[layer]] for layer in range(12)), []), 12 * args.latents)]
    print(f"machine: {os.cpu_count()} cores; GPT-2 small (random weights), {args.tokens:,} tokens, {args.precision}, "
          f"SAEs of {args.latents:,} latents on hook_resid_pre")
    rows = []
    for name, extra, units in runs:
        database = os.path.join(work, re.sub(r"\W+", "-", name) + ".db")
        seconds, log, rss = timed([args.neuronbench] + common + ["--out", database] + extra)
        tokens = int(re.search(r"this run: [\d,]+ excerpts, ([\d,]+) tokens", log).group(1).replace(",", ""))
        main_pass = float(re.search(r"main pass (\d+) tokens/s", log).group(1))
        pilot = re.search(r"pilot of (\d+) excerpts", log).group(1)
        l0 = re.findall(r"L0 ([\d.]+)", log)
        size = os.path.getsize(database) / 1e6
        rows.append((name, units, tokens, tokens / seconds, main_pass, rss, size, pilot, l0))
        print(f"  {name}: {seconds:.0f} s, {tokens / seconds:.0f} tokens/s end to end, main pass {main_pass:.0f} tokens/s, "
              f"peak RSS {rss:.0f} MB, database {size:.0f} MB, pilot {pilot} excerpts", flush=True)
        os.remove(database)
    base = rows[0][3]
    print()
    print("| units | count | tokens | tokens/s end to end | ratio to neurons | main pass tokens/s | peak RSS | database | pilot excerpts | L0 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, units, tokens, rate, main_pass, rss, size, pilot, l0 in rows:
        l0_text = (f"{min(map(float, l0)):.0f}–{max(map(float, l0)):.0f}" if len(l0) > 1 else (l0[0] if l0 else "–"))
        print(f"| {name} | {units:,} | {tokens:,} | {rate:.0f} | **{rate / base:.2f}** | {main_pass:.0f} | {rss / 1024:.1f} GB "
              f"| {size:.0f} MB | {pilot} | {l0_text} |")
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
