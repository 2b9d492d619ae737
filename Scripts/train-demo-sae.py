#!/usr/bin/env python3
"""Trains neuronbench's demo SAE: a TopK sparse autoencoder on one residual hook of the demo model
(Models/sotu-gpt2), saved by sae-lens in its own format, so that `make demo` can ask whether its latents are easier
to explain than the model's neurons.

Data: the demo model's training addresses only. The corpus is split exactly as Scripts/train-demo-model.py split it
(its own `split_corpus`), and the held-out list must equal Models/sotu-gpt2/held-out-speeches.txt, else the script
stops. Each training address is cut into 64-token excerpts as `neuronbench precompute` cuts it (the final shorter
excerpt dropped); every excerpt is read after <|endoftext|> (50256, the SAE's prepend_bos), and the hook's vectors
of the excerpt's tokens (not of the BOS position) are the training set.

Model: TopK (Gao et al. 2024): f = the k largest of (x - b_dec)·W_enc + b_enc, ReLU'd; x̂ = f·W_dec + b_dec.
W_dec rows kept at unit norm after every step (so sae-lens' rescale_acts_by_decoder_norm is not needed),
W_enc initialised as W_dec's transpose, b_dec as the data mean; Adam; loss = mean squared error plus the AuxK
loss (k_aux = d_in / 2 latents among those that have not fired for `--dead-after` tokens reconstruct the
residual error, weight 1/32), which keeps latents from dying. Seeded: the same seed, torch version and thread
count give the same weights.

Measured on the held-out addresses (excerpts cut the same way, never seen in training): L0 (latents > 0 per
token), variance explained (1 - sum |x - x̂|² / sum |x - mean x|²) and the dead fraction (latents > 0 on no
held-out token).

Writes --out (default Models/sotu-gpt2-sae/): sae-lens' `save_model` output (cfg.json, sae_weights.safetensors),
training-log.csv and README.md (the card: hook, d_sae, architecture, k, L0, variance explained and dead fraction
on the held-out text, training tokens and steps, sha256). Reloads the saved SAE with sae-lens and checks that it
encodes exactly as the trained one. Then writes the parity fixture Tests/SAETests/Resources/demo-sae/
(inputs.json: BOS + the first 64 tokens of the first held-out address; reference.safetensors: the hook's vectors
from transformers, sae-lens' latents and reconstruction), which Tests/SAETests compare Swift against.

Usage (virtual environment outside the repository with torch==2.13.0+cpu, transformers==5.24.0 and
sae-lens==6.54.12; see Scripts/make-sae-fixtures.py):
  HF_HUB_OFFLINE=1 ~/nb-venv/bin/python Scripts/train-demo-sae.py            # defaults = the shipped SAE
"""
import argparse
import hashlib
import importlib.util
import json
import math
import pathlib
import platform
import shutil
import time

import sae_lens
import torch
import transformers
from safetensors.torch import save_file
from sae_lens import TopKSAE, TopKSAEConfig
from sae_lens.saes.sae import SAEMetadata
from transformers import GPT2Model, GPT2TokenizerFast

ROOT = pathlib.Path(__file__).resolve().parent.parent
END_OF_TEXT = 50256

spec = importlib.util.spec_from_file_location("train_demo_model", ROOT / "Scripts" / "train-demo-model.py")
demo_model = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo_model)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=pathlib.Path, default=ROOT / "Corpora" / "sotu" / "data")
    parser.add_argument("--model", type=pathlib.Path, default=ROOT / "Models" / "sotu-gpt2")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "Models" / "sotu-gpt2-sae")
    parser.add_argument("--fixture", type=pathlib.Path, default=ROOT / "Tests" / "SAETests" / "Resources" / "demo-sae")
    parser.add_argument("--layer", type=int, default=2, help="the SAE reads blocks.LAYER.hook_resid_pre")
    parser.add_argument("--latents", type=int, default=512, help="d_sae")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--excerpt-tokens", type=int, default=64)
    parser.add_argument("--training-tokens", type=int, default=1_048_576,
                        help="hook vectors collected from the training addresses (excerpts chosen at random)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--dead-after", type=int, default=1_000_000,
                        help="a latent not fired for this many training tokens counts as dead for the AuxK loss")
    parser.add_argument("--aux-weight", type=float, default=1 / 32)
    parser.add_argument("--log-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hold-out-every", type=int, default=10)
    return parser.parse_args()


def excerpts(tokenizer, files, length):
    """Every file's tokens cut into `length`-token excerpts, each prefixed with BOS (the last short one dropped)."""
    out = []
    for path in files:
        ids = tokenizer.encode(path.read_text(encoding="utf-8"))
        out.extend([END_OF_TEXT] + ids[start:start + length] for start in range(0, len(ids) - length + 1, length))
    return torch.tensor(out, dtype=torch.long)


def hook_vectors(model, batch, layer):
    """blocks.LAYER.hook_resid_pre of every excerpt token (BOS rows left out): [excerpts * length, d_model]."""
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(batch), 256):
            hidden = model(input_ids=batch[start:start + 256], output_hidden_states=True).hidden_states[layer]
            chunks.append(hidden[:, 1:, :].reshape(-1, hidden.shape[-1]).float().clone())
    return torch.cat(chunks)


class TopKTrainer(torch.nn.Module):
    def __init__(self, d_in, d_sae, k, mean, generator):
        super().__init__()
        decoder = torch.randn(d_sae, d_in, generator=generator)
        decoder /= decoder.norm(dim=1, keepdim=True)
        self.W_dec = torch.nn.Parameter(decoder)
        self.W_enc = torch.nn.Parameter(decoder.t().clone())
        self.b_enc = torch.nn.Parameter(torch.zeros(d_sae))
        self.b_dec = torch.nn.Parameter(mean.clone())
        self.k = k

    def pre(self, x):
        return (x - self.b_dec) @ self.W_enc + self.b_enc

    def encode(self, x):
        pre = self.pre(x)
        values, indices = pre.topk(self.k, dim=-1)
        return torch.zeros_like(pre).scatter(-1, indices, values.relu()), pre

    def decode(self, f):
        return f @ self.W_dec + self.b_dec

    @torch.no_grad()
    def normalise_decoder(self):
        self.W_dec /= self.W_dec.norm(dim=1, keepdim=True)


def evaluate(sae, vectors):
    """(L0, variance explained, fraction of latents firing on no row) over `vectors`, in chunks."""
    firing = torch.zeros(sae.W_dec.shape[0], dtype=torch.bool)
    active, residual = 0.0, 0.0
    mean = vectors.mean(dim=0)
    total = ((vectors - mean) ** 2).sum().item()
    with torch.no_grad():
        for start in range(0, len(vectors), 8192):
            x = vectors[start:start + 8192]
            f = sae.encode(x)[0] if isinstance(sae, TopKTrainer) else sae.encode(x)
            reconstruction = sae.decode(f)
            active += (f > 0).sum().item()
            residual += ((x - reconstruction) ** 2).sum().item()
            firing |= (f > 0).any(dim=0)
    return active / len(vectors), 1 - residual / total, 1 - firing.float().mean().item()


def train(args, vectors, held_out, log):
    generator = torch.Generator().manual_seed(args.seed)
    d_in = vectors.shape[1]
    sae = TopKTrainer(d_in, args.latents, args.k, vectors.mean(dim=0), generator)
    optimiser = torch.optim.Adam(sae.parameters(), lr=args.learning_rate, betas=(0.9, 0.999))
    since_fired = torch.zeros(args.latents, dtype=torch.long)
    k_aux = d_in // 2
    ema = None
    for step in range(1, args.steps + 1):
        # Linear decay to zero over the last fifth of the steps.
        fraction = min(1.0, (args.steps - step) / (0.2 * args.steps))
        for group in optimiser.param_groups:
            group["lr"] = args.learning_rate * fraction
        rows = torch.randint(len(vectors), (args.batch_size,), generator=generator)
        x = vectors[rows]
        f, pre = sae.encode(x)
        reconstruction = sae.decode(f)
        error = x - reconstruction
        mse = (error ** 2).sum(dim=-1).mean()
        since_fired += args.batch_size
        since_fired[(f > 0).any(dim=0)] = 0
        dead = since_fired > args.dead_after
        aux = torch.zeros(())
        if dead.any():
            masked = pre.masked_fill(~dead, -math.inf)
            values, indices = masked.topk(min(k_aux, int(dead.sum())), dim=-1)
            auxiliary = torch.zeros_like(pre).scatter(-1, indices, values.relu())
            aux = ((error.detach() - auxiliary @ sae.W_dec) ** 2).sum(dim=-1).mean()
        loss = mse + args.aux_weight * aux
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        sae.normalise_decoder()
        variance = ((x - x.mean(dim=0)) ** 2).sum(dim=-1).mean().item()
        explained = 1 - mse.item() / variance
        ema = explained if ema is None else 0.98 * ema + 0.02 * explained
        if step % args.log_every == 0 or step == args.steps:
            l0, ve, dead_fraction = evaluate(sae, held_out[:65_536])
            log.append({"step": step, "tokens_seen": step * args.batch_size, "learning_rate": round(
                args.learning_rate * fraction, 8), "train_variance_explained": round(ema, 5),
                "dead_in_training": int(dead.sum()), "held_out_l0": round(l0, 3),
                "held_out_variance_explained": round(ve, 5), "held_out_dead_fraction": round(dead_fraction, 5)})
            print(f"step {step}: {log[-1]}", flush=True)
    return sae


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main():
    args = parse_arguments()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()
    hook = f"blocks.{args.layer}.hook_resid_pre"
    training_files, held_out_files = demo_model.split_corpus(args.corpus, args.hold_out_every)
    shipped = (args.model / "held-out-speeches.txt").read_text().split()
    if [f.name for f in held_out_files] != shipped:
        raise SystemExit(f"train-demo-sae: the held-out split differs from {args.model}/held-out-speeches.txt")
    tokenizer = GPT2TokenizerFast.from_pretrained(ROOT / "Models" / "gpt2-tokenizer")
    model = GPT2Model.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager").eval()

    training = excerpts(tokenizer, training_files, args.excerpt_tokens)
    chosen = torch.randperm(len(training), generator=torch.Generator().manual_seed(args.seed))
    chosen = chosen[:args.training_tokens // args.excerpt_tokens].sort().values
    vectors = hook_vectors(model, training[chosen], args.layer)
    held_out_excerpts = excerpts(tokenizer, held_out_files, args.excerpt_tokens)
    held_out = hook_vectors(model, held_out_excerpts, args.layer)
    print(f"train-demo-sae: {hook}, {len(vectors):,} training vectors from {len(chosen):,} of {len(training):,} "
          f"training excerpts; {len(held_out):,} held-out vectors", flush=True)

    log = []
    trained = train(args, vectors, held_out, log)
    l0, variance_explained, dead_fraction = evaluate(trained, held_out)
    train_l0, train_ve, train_dead = evaluate(trained, vectors)

    metadata = SAEMetadata(hook_name=hook, prepend_bos=True, model_name="sotu-gpt2", context_size=args.excerpt_tokens
                           + 1, model_from_pretrained_kwargs={})
    sae = TopKSAE(TopKSAEConfig(d_in=vectors.shape[1], d_sae=args.latents, k=args.k, apply_b_dec_to_input=True,
                                metadata=metadata)).eval()
    with torch.no_grad():
        for name in ("W_enc", "W_dec", "b_enc", "b_dec"):
            getattr(sae, name).copy_(getattr(trained, name))
    shutil.rmtree(args.out, ignore_errors=True)
    sae.save_model(str(args.out))
    reloaded = TopKSAE.load_from_disk(str(args.out)).eval()
    with torch.no_grad():
        probe = held_out[:4096]
        if not torch.equal(reloaded.encode(probe), trained.encode(probe)[0]):
            raise SystemExit("train-demo-sae: the saved SAE does not encode as the trained one")
        saved_l0, saved_ve, saved_dead = evaluate(reloaded, held_out)
    minutes = (time.time() - started) / 60

    with open(args.out / "training-log.csv", "w") as out:
        out.write(",".join(log[0]) + "\n")
        for row in log:
            out.write(",".join(str(v) for v in row.values()) + "\n")
    write_card(args, hook, len(vectors), len(held_out), (saved_l0, saved_ve, saved_dead),
               (train_l0, train_ve, train_dead), log, minutes)
    write_parity_fixture(args, model, reloaded, held_out_excerpts[0], hook)
    print(f"train-demo-sae: held-out L0 {saved_l0:.2f}, variance explained {saved_ve:.4f}, dead {saved_dead:.4f} "
          f"(trainer's own: {l0:.2f}, {variance_explained:.4f}, {dead_fraction:.4f}); {minutes:.1f} minutes")


def write_parity_fixture(args, model, sae, excerpt, hook):
    tokens = excerpt.tolist()
    with torch.inference_mode():
        x = model(input_ids=excerpt[None], output_hidden_states=True).hidden_states[args.layer][0].float()
        latents = sae.encode(x)
        reconstruction = sae.decode(latents)
    args.fixture.mkdir(parents=True, exist_ok=True)
    (args.fixture / "inputs.json").write_text(json.dumps({"tokens": tokens}) + "\n")
    save_file({"input": x.contiguous(), "latents": latents.contiguous(), "reconstruction": reconstruction.contiguous()},
              args.fixture / "reference.safetensors",
              metadata={"generator": "Scripts/train-demo-sae.py", "sae_lens": sae_lens.__version__, "hook": hook,
                        "sae_weights_sha256": sha256(args.out / "sae_weights.safetensors")})


def write_card(args, hook, training_vectors, held_out_vectors, held, train_set, log, minutes):
    l0, ve, dead = held
    rows = "\n".join(
        f"| {r['step']:,} | {r['tokens_seen']:,} | {r['train_variance_explained']:.3f} | {r['held_out_l0']:.2f} | "
        f"{r['held_out_variance_explained']:.3f} | {r['held_out_dead_fraction']:.3f} |"
        for r in log)
    weights = args.out / "sae_weights.safetensors"
    card = f"""# sotu-gpt2-sae: neuronbench's demo SAE

A TopK sparse autoencoder on `{hook}` of the demo model (`Models/sotu-gpt2`), trained on the model's training
addresses only, so that `make demo` can compare its latents with the model's neurons on the held-out addresses.
Made by `Scripts/train-demo-sae.py` (defaults); saved by sae-lens' `save_model`, so
`TopKSAE.load_from_disk("Models/sotu-gpt2-sae")` loads it and `neuronbench precompute --sae Models/sotu-gpt2-sae`
records its latents.

## The SAE

| | |
|---|---|
| hook | `{hook}` (the residual stream before block {args.layer} of 4) |
| architecture | `topk`, k = {args.k} (the k largest pre-activations, ReLU'd) |
| d_in / d_sae | 128 / {args.latents:,} ({args.latents // 128}×) |
| prepend_bos | true (every context is read after `<|endoftext|>`; the BOS position is never trained on or recorded) |
| apply_b_dec_to_input, normalize_activations | true, none |
| weights | `sae_weights.safetensors`, float32, {weights.stat().st_size:,} bytes |
| sha256 (weights) | `{sha256(weights)}` |
| sha256 (cfg.json) | `{sha256(args.out / "cfg.json")}` |

## Quality on the held-out addresses

The {held_out_vectors:,} tokens of the 24 held-out addresses (`Models/sotu-gpt2/held-out-speeches.txt`), cut into
{args.excerpt_tokens}-token excerpts as `neuronbench precompute` cuts them, each read after BOS; never seen in
training.

| | held-out | training vectors |
|---|---|---|
| L0 (latents > 0 per token) | **{l0:.2f}** | {train_set[0]:.2f} |
| variance explained | **{ve:.3f}** | {train_set[1]:.3f} |
| dead fraction (latents > 0 on no token) | **{dead:.3f}** | {train_set[2]:.3f} |

## Training

{training_vectors:,} hook vectors from {training_vectors // args.excerpt_tokens:,} {args.excerpt_tokens}-token
excerpts of the 225 training addresses (chosen at random, seed {args.seed}). {args.steps:,} steps × {args.batch_size:,}
vectors = {args.steps * args.batch_size:,} tokens ({args.steps * args.batch_size / training_vectors:.1f} passes); Adam,
learning rate {args.learning_rate} with linear decay over the last fifth; mean squared error plus AuxK
(k_aux {128 // 2}, weight {args.aux_weight:.4f}, latents silent for {args.dead_after:,} tokens); decoder rows at unit
norm; CPU, {args.threads} threads, {minutes:.1f} minutes including the model's forward passes; torch
{torch.__version__}, sae-lens {sae_lens.__version__}, transformers {transformers.__version__}, Python
{platform.python_version()}.

Held-out figures during training (the first 65,536 held-out vectors; the same as `training-log.csv`):

| step | tokens seen | train VE (EMA) | held-out L0 | held-out VE | held-out dead |
|---|---|---|---|---|---|
{rows}

## Licence

Released with neuronbench's code; trained on public-domain text (U.S. federal government works).
"""
    (args.out / "README.md").write_text(card)


if __name__ == "__main__":
    main()
