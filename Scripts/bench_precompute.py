#!/usr/bin/env python3
"""Precompute speed and memory, like for like: `neuronbench precompute` against a PyTorch + transformers reference in
the same precision, alternating, in one invocation.

Run through Scripts/bench-precompute (which builds neuronbench in release mode and finds a Python with torch).

For each context length C (64 and 1,024 tokens; records are 64-token excerpts in both) and each precision P (fp32;
bf16 where the CPU has AVX-512: natively with AVX-512 BF16, else neuronbench emulates it with float32 FMAs and PyTorch
with oneDNN's own fallback):
  * a random-weight GPT-2 (transformers `GPT2Model(GPT2Config(...))`, seeded, `save_pretrained` to a temporary
    directory: the same compute as the real model; `--model xl` makes GPT-2 XL's shapes, 6.2 GB, not committed);
  * neuronbench: `neuronbench precompute --max-tokens N --excerpt-tokens 64 --context-tokens C --precision P
    --blas B` (B = --blas: openblas, or mkl, the library PyTorch's fp32 products run on, found in this Python's
    environment when `pip install mkl` put it there) over
    the sotu corpus, timed end to end as a user runs it (process start to exit: tokenizing, loading, the pilot pass,
    the main pass with sampling, writing and compacting the database); its summary gives the phases: start-up
    (the rest of the wall clock: process start and exit, input checks, hashing, tokenizing, loading), pilot, main
    pass and write;
  * the reference in the same precision, on exactly the token batches neuronbench ran (its excerpts joined back into
    their contexts, batched and padded by neuronbench's rule): forward hooks on every block's MLP activation
    (`mlp.act`), all neurons copied to a float16 array per batch, and a running per-neuron top-K (K = --top) of
    64-token excerpt maxima; fp32 plainly, bf16 under `torch.autocast("cpu", dtype=torch.bfloat16)`. Its steady
    state is the loop over the batches; its end to end is its whole process (Python start, imports, loading the
    checkpoint, the loop; the token ids come ready-made, so tokenizing is not counted for it);
  * alternated --repeats times (neuronbench P, PyTorch P, for each P in turn); medians reported: steady-state
    tokens/s (neuronbench's main pass against PyTorch's loop), end-to-end tokens/s, neuronbench's fixed costs, and
    each process's peak RSS;
  * for each reduced precision, what it changes in the database against the fp32 run on the same tokens.
The last line is `ratios: fp32@64 A bf16@64 B fp32@1024 C bf16@1024 D`: end to end, each against PyTorch in the same
precision.
"""
import argparse
import glob
import json
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np


def rss_of(command, env=None, stderr=False):
    """Runs `command` in a fresh helper process; returns (its stdout, or its stderr when `stderr`, and the peak RSS
    of the command in MB)."""
    helper = ("import resource, subprocess, sys\n"
              "r = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)\n"
              "sys.stderr.write(r.stderr[-4000:] if r.returncode else '')\n"
              "print(r.stderr if sys.argv[1] == 'stderr' else r.stdout, end='')\n"
              "print('@@RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n")
    out = subprocess.run([sys.executable, "-c", helper, "stderr" if stderr else "stdout"] + command,
                         stdout=subprocess.PIPE, text=True, env=env).stdout
    body, _, tail = out.rpartition("@@RSS ")
    kilobytes, code = tail.split()
    if int(code) != 0:
        raise SystemExit(f"bench-precompute: {' '.join(command)} failed with status {code}")
    return body, int(kilobytes) / 1024


MODELS = {
    # GPT-2 small and XL (the paper's model): the shapes of the published checkpoints.
    "small": dict(n_embd=768, n_layer=12, n_head=12),
    "xl": dict(n_embd=1600, n_layer=48, n_head=25),
}


def make_model(directory, tokenizer, size):
    """A seeded random-weight GPT-2 of `size`'s shapes, saved as a Hugging Face checkpoint (float32 safetensors)."""
    import torch
    from transformers import GPT2Config, GPT2Model
    torch.manual_seed(0)
    GPT2Model(GPT2Config(**MODELS[size])).save_pretrained(directory)
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


def cpu_flags():
    """The first processor's flags in /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            line = next((l for l in f if l.startswith("flags")), "")
    except OSError:
        return set()
    return set(line.partition(":")[2].split())


def cpu_runs_bf16():
    """Whether `--precision bf16` runs here: AVX-512F with FMA (on AVX-512 BF16 natively, else the same arithmetic as
    float32 FMAs)."""
    return {"avx512f", "fma"} <= cpu_flags()


def precision_error(reference_path, reduced_path, every=8):
    """What bf16 changes in the database, on neurons whose index is a multiple of `every`: the random records
    (the same excerpts in both, chosen by hash) compared token by token, and the top records compared as sets.
    Values are stored as float16, so the differences include float16 rounding (relative 2^-11)."""
    def load(path):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        blobs = {(l, n): (np.frombuffer(zlib.decompress(b), dtype="<f2").astype(np.float32), v)
                 for l, n, b, v in db.execute("SELECT layer, neuron, activations, variance FROM neurons WHERE neuron % ? = 0", (every,))}
        records = {}
        # Schema version 3 packs each unit's records into its row (16 bytes each, in the order of their values);
        # versions 1 and 2 keep them as rows of a records table.
        counts = dict(db.execute("SELECT id, token_count FROM excerpts"))
        kinds = ["top", "random", "quantile", "bottom"]
        entry = np.dtype([("kind", "u1"), ("bucket", "u1"), ("rank", "<u2"), ("excerpt", "<u4"), ("max", "<f4"),
                          ("min", "<f4")])
        for l, n, blob in db.execute("SELECT layer, neuron, records FROM neurons WHERE neuron % ? = 0", (every,)):
            offset, rows = 0, []
            for r in np.frombuffer(blob, dtype=entry):
                count = counts[int(r["excerpt"])]
                rows.append((kinds[r["kind"]], int(r["rank"]), int(r["excerpt"]), offset, count))
                offset += count
            for kind, _, excerpt, start, count in sorted(rows):
                if kind in ("top", "random"):
                    records.setdefault((l, n, kind), []).append((excerpt, start, count))
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
    """One reference run (in its own process): prints its loop's tokens/s and seconds."""
    import contextlib
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
    buffer = np.empty((batch_size, longest, n), dtype=np.float16)
    window = args.excerpt_tokens
    excerpts_done = 0
    # bf16: PyTorch's own mixed precision on CPU (matrix products in bfloat16, oneDNN), the same hooks and capture.
    precision = (torch.autocast("cpu", dtype=torch.bfloat16) if args.reference_precision == "bf16"
                 else contextlib.nullcontext())
    start = time.perf_counter()
    with torch.inference_mode(), precision:
        for first, end in padded_batches([len(c) for c in contexts], batch_size):
            # neuronbench's batches, each padded to its longest context.
            group = contexts[first:end]
            t = max(len(c) for c in group)
            batch = torch.zeros((len(group), t), dtype=torch.long)
            for row, ids in enumerate(group):
                batch[row, :len(ids)] = torch.from_numpy(ids)
            model(input_ids=batch)
            for layer in range(layers):
                activations = captured[layer]                         # [B, T, N], float32 or bfloat16
                buffer[:len(group), :t] = activations.to(torch.float16).numpy()
                # Excerpt maxima: one per `window` tokens of each context.
                windows = -(-t // window)
                padded = torch.nn.functional.pad(activations.float(), (0, 0, 0, windows * window - t), value=-float("inf"))
                maxima = padded.view(len(group), windows, window, n).amax(dim=2).reshape(-1, n)   # [B·W, N]
                ids = torch.arange(excerpts_done, excerpts_done + len(maxima)).unsqueeze(1).expand(-1, n)
                values = torch.cat([top_values[layer], maxima])
                order = values.topk(k, dim=0)
                top_values[layer] = order.values
                top_excerpts[layer] = torch.cat([top_excerpts[layer], ids]).gather(0, order.indices)
            excerpts_done += len(group) * -(-t // window)
    seconds = time.perf_counter() - start
    print(json.dumps({"tokens_per_second": int(stored["lengths"].sum()) / seconds, "seconds": seconds}))


PHASES = re.compile(r"main pass (\d+) tokens/s; start-up ([\d.]+) s, pilot ([\d.]+) s, main pass ([\d.]+) s, write ([\d.]+) s")


def neuronbench_run(args, model, database, total, context, batch, precision):
    """One precompute, timed from outside; returns its figures (tokens recorded, seconds, phases, peak RSS)."""
    env = dict(os.environ)
    if args.blas_core:
        env["OPENBLAS_CORETYPE"] = args.blas_core
    started = time.perf_counter()
    log, rss = rss_of([args.neuronbench, "precompute", "--model", model, "--corpus", args.corpus, "--out", database,
                       "--max-tokens", str(total), "--excerpt-tokens", "64", "--context-tokens", str(context),
                       "--batch", str(batch), "--top-k", str(args.top), "--precision", precision, "--blas", args.blas],
                      env=env, stderr=True)
    seconds = time.perf_counter() - started
    phases = PHASES.search(log)
    if not phases:
        raise SystemExit(f"bench-precompute: no phase timings in neuronbench's summary:\n{log[-2000:]}")
    main_rate, _, pilot, main_seconds, write = (float(g) for g in phases.groups())
    core = re.search(r"matrix multiplies: (.*)", log)
    budget = re.search(r"memory: about ([\d.]+ [MG]B)", log)
    contexts = context_tokens(database, context)
    recorded = sum(len(c) for c in contexts)
    return {"tokens": recorded, "seconds": seconds, "end_to_end": recorded / seconds, "steady": main_rate,
            "start_up": seconds - pilot - main_seconds - write, "pilot": pilot, "main_pass": main_seconds, "write": write,
            "rss": rss, "contexts": contexts, "blas": core.group(1) if core else "?",
            "budget": budget.group(1) if budget else "?", "bytes": os.path.getsize(database)}


def reference_run(args, model, tokens_file, batch, precision):
    started = time.perf_counter()
    out, rss = rss_of([sys.executable, __file__, "--worker", "--model", model, "--token-file", tokens_file,
                       "--threads", str(args.threads), "--batch-size", str(batch), "--top", str(args.top),
                       "--reference-precision", precision])
    seconds = time.perf_counter() - started
    result = json.loads(out.strip().splitlines()[-1])
    tokens = result["tokens_per_second"] * result["seconds"]
    return {"steady": result["tokens_per_second"], "end_to_end": tokens / seconds, "seconds": seconds,
            "loop_seconds": result["seconds"], "rss": rss}


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--neuronbench")
    parser.add_argument("--corpus")
    parser.add_argument("--tokenizer")
    parser.add_argument("--model-size", choices=sorted(MODELS), default="small",
                        help="random-weight GPT-2 small, or XL (48 layers, 307,200 neurons, 6.2 GB; defaults become "
                             "--tokens 8192 --contexts 64 --repeats 1)")
    parser.add_argument("--tokens", type=int, help="tokens per run at 64-token contexts (default 40,960; XL 8,192)")
    parser.add_argument("--long-tokens", type=int, help="tokens per run at 1,024-token contexts (default: --tokens)")
    parser.add_argument("--repeats", type=int, help="alternations (default 3; XL 1)")
    parser.add_argument("--contexts", help="context lengths to measure, comma-separated (default 64,1024; XL 64)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--precisions", default=None,
                        help="precisions to run, comma-separated (default: fp32,bf16 on CPUs with AVX-512, else fp32)")
    parser.add_argument("--no-reference", action="store_true", help="neuronbench only (runs at scale: fixed costs)")
    parser.add_argument("--blas-core", help="OPENBLAS_CORETYPE for neuronbench's runs (e.g. Prescott, to measure "
                                            "OpenBLAS's own choice on CPUs it does not know)")
    parser.add_argument("--blas", default="openblas", choices=["openblas", "mkl"],
                        help="neuronbench's --blas (mkl: libmkl_rt from NEURONBENCH_MKL, else from this Python's "
                             "environment, where `pip install mkl` puts it)")
    parser.add_argument("--top", type=int, default=50)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--make-model", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token-file", help=argparse.SUPPRESS)
    parser.add_argument("--reference-precision", default="fp32", help=argparse.SUPPRESS)
    parser.add_argument("--excerpt-tokens", type=int, default=64, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return reference_worker(args)
    if args.make_model:
        return make_model(args.make_model, args.tokenizer, args.model_size)
    if not (args.neuronbench and args.corpus and args.tokenizer):
        parser.error("--neuronbench, --corpus and --tokenizer are required")
    xl = args.model_size == "xl"
    args.tokens = args.tokens or (8192 if xl else 40960)
    args.long_tokens = args.long_tokens or args.tokens
    args.repeats = args.repeats or (1 if xl else 3)
    args.contexts = args.contexts or ("64" if xl else "64,1024")

    if args.blas == "mkl" and "NEURONBENCH_MKL" not in os.environ:
        found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")))
        if not found:
            parser.error(f"--blas mkl: no libmkl_rt.so* in {sys.prefix}/lib (pip install mkl, or set NEURONBENCH_MKL)")
        os.environ["NEURONBENCH_MKL"] = found[-1]
    bench_started = time.perf_counter()
    work = tempfile.mkdtemp(prefix="nb-bench-precompute-")
    model = os.path.join(work, f"gpt2-{args.model_size}-random")
    started = time.perf_counter()
    # In its own process, so that this one never holds the model (6.2 GB for XL) while neuronbench runs.
    subprocess.run([sys.executable, __file__, "--make-model", model, "--model-size", args.model_size,
                    "--tokenizer", args.tokenizer], check=True)
    shape = MODELS[args.model_size]
    layers, width = shape["n_layer"], shape["n_embd"]
    print(f"model: random GPT-2 {args.model_size} ({layers} layers, width {width}, {layers * 4 * width:,} neurons), "
          f"{os.path.getsize(os.path.join(model, 'model.safetensors')) / 1e9:.2f} GB, made in {time.perf_counter() - started:.0f} s")
    ceiling = sgemm_gflops(args.threads)
    import torch
    bf16 = "AVX-512 BF16" if "avx512_bf16" in cpu_flags() else "no AVX-512 BF16 (neuronbench's bf16 runs as float32 FMAs)"
    print(f"machine: {os.cpu_count()} cores, {args.threads} threads, {bf16}; torch {torch.__version__}; sgemm {ceiling:.0f} GFLOP/s "
          f"(torch, 2048x768 @ 768x3072); neuronbench --blas {args.blas}"
          f"{' (' + os.environ['NEURONBENCH_MKL'] + ')' if args.blas == 'mkl' else ''}"
          f"{'; neuronbench with OPENBLAS_CORETYPE=' + args.blas_core if args.blas_core else ''}", flush=True)
    precisions = (args.precisions or ("fp32,bf16" if cpu_runs_bf16() else "fp32")).split(",")
    wanted = [int(c) for c in args.contexts.split(",")]
    batches = {64: 32, 1024: 4}
    configurations, errors = [], []
    for context in wanted:
        total, batch = (args.tokens if context == 64 else args.long_tokens), batches[context]
        runs = {p: {"neuronbench": [], "pytorch": []} for p in precisions}
        tokens_file = os.path.join(work, f"tokens-{context}.npz")
        for repeat in range(args.repeats):
            for precision in precisions:
                database = os.path.join(work, f"bench-{context}-{precision}-{repeat}.db")
                nb = neuronbench_run(args, model, database, total, context, batch, precision)
                if not os.path.exists(tokens_file):
                    np.savez(tokens_file, tokens=np.concatenate(nb["contexts"]), lengths=np.array([len(c) for c in nb["contexts"]]))
                del nb["contexts"]
                runs[precision]["neuronbench"].append(nb)
                line = (f"  {context:>4}-token contexts, {precision}, run {repeat + 1}: neuronbench {nb['end_to_end']:7.1f} tokens/s end to end "
                        f"(main pass {nb['steady']:.0f}; start-up {nb['start_up']:.1f} s, pilot {nb['pilot']:.1f} s, write {nb['write']:.1f} s; "
                        f"{nb['rss']:.0f} MB, estimate {nb['budget']}; {nb['blas']})")
                if not args.no_reference:
                    pt = reference_run(args, model, tokens_file, batch, precision)
                    runs[precision]["pytorch"].append(pt)
                    line += f", PyTorch {pt['end_to_end']:7.1f} end to end (loop {pt['steady']:.0f}; {pt['rss']:.0f} MB)"
                print(line, flush=True)
                if repeat > 0:
                    os.remove(database)
        for precision in precisions:
            configurations.append((context, precision, batch, runs[precision]))
        for precision in precisions[1:]:
            errors.append((context, precision, precision_error(os.path.join(work, f"bench-{context}-{precisions[0]}-0.db"),
                                                               os.path.join(work, f"bench-{context}-{precision}-0.db"))))

    print()
    print("| context | precision | tokens | batch | neuronbench end to end | PyTorch end to end | **ratio end to end** "
          "| neuronbench main pass | PyTorch loop | ratio steady state | start-up | pilot | write | fixed costs share "
          "| peak RSS neuronbench | peak RSS PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ratios, steady = [], []
    for context, precision, batch, run in configurations:
        nb, pt = run["neuronbench"], run["pytorch"]
        fixed = median(nb, "start_up") + median(nb, "pilot") + median(nb, "write")
        e2e = median(nb, "end_to_end")
        row = [f"{context:,}", precision, f"{nb[0]['tokens']:,}", str(batch), f"{e2e:,.0f} tokens/s"]
        if pt:
            ratio, steady_ratio = e2e / median(pt, "end_to_end"), median(nb, "steady") / median(pt, "steady")
            ratios.append(f"{precision}@{context} {ratio:.2f}")
            steady.append(f"{precision}@{context} {steady_ratio:.2f}")
            row += [f"{median(pt, 'end_to_end'):,.0f} tokens/s", f"**{ratio:.2f}**", f"{median(nb, 'steady'):,.0f}",
                    f"{median(pt, 'steady'):,.0f}", f"{steady_ratio:.2f}"]
        else:
            row += ["–", "–", f"{median(nb, 'steady'):,.0f}", "–", "–"]
        row += [f"{median(nb, 'start_up'):.1f} s", f"{median(nb, 'pilot'):.1f} s", f"{median(nb, 'write'):.1f} s",
                f"{fixed / median(nb, 'seconds'):.0%} of {median(nb, 'seconds'):.0f} s",
                f"{max(r['rss'] for r in nb) / 1e3:.2f} GB", f"{max(r['rss'] for r in pt) / 1e3:.2f} GB" if pt else "–"]
        print("| " + " | ".join(row) + " |")
    print(f"\nneuronbench's float32 products: {configurations[0][3]['neuronbench'][0]['blas']}; its memory estimate "
          f"{configurations[0][3]['neuronbench'][0]['budget']}; database {configurations[0][3]['neuronbench'][0]['bytes'] / 1e6:,.0f} MB")
    print(f"ceiling: {ceiling:.0f} GFLOP/s (torch sgemm) ÷ {flops_per_token(64, layers, width, 4 * width) / 1e6:,.0f} MFLOP/token (64) = "
          f"{ceiling * 1e9 / flops_per_token(64, layers, width, 4 * width):,.0f} tokens/s in fp32")
    for context, precision, e in errors:
        print(f"\n{precision} against {precisions[0]}, {context}-token contexts, {e['neurons']:,} neurons (every 8th), random records token by token:"
              f"\n  RMS error / neuron std: median {e['rms_error_over_std_median']:.4f}, 99th percentile {e['rms_error_over_std_p99']:.4f}"
              f"\n  max |error| / neuron std: median {e['max_error_over_std_median']:.3f}, worst neuron {e['max_error_over_std_max']:.3f}"
              f"\n  correlation with {precisions[0]}: median {e['correlation_median']:.6f}, lowest {e['correlation_min']:.6f}"
              f"\n  top-{args.top} records: {e['top_overlap_mean']:.1%} shared on average, identical sets for {e['top_identical_fraction']:.1%} of neurons")
    subprocess.run(["rm", "-rf", work])
    print(f"\nbench time: {(time.perf_counter() - bench_started) / 60:.1f} min")
    if steady:
        # Always the four like-for-like configurations, in this order ("n/a" where one was not run).
        keys = [f"{p}@{c}" for c in (64, 1024) for p in ("fp32", "bf16")]
        def line(measured):
            found = dict(entry.rsplit(" ", 1) for entry in measured)
            return " ".join(f"{key} {found.get(key, 'n/a')}" for key in keys)
        print("steady-state ratios: " + line(steady))
        print("ratios: " + line(ratios))


if __name__ == "__main__":
    main()
