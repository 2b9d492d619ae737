#!/usr/bin/env python3
"""Small SAEs in sae-lens' own format for the precompute tests (Tests/PrecomputeTests), on the fixture checkpoint
Tests/GPT2Tests/Resources/checkpoints/f16-prefixed (d_model 8, n_inner 32, 2 layers, 64 positions).

Written by sae-lens' `save_model`, so the files are exactly what a user downloads from a SAELens release. Their
encoder biases are spread so that, on the test corpus, some latents fire on most tokens (dense), most fire
rarely (mostly-zero excerpts: the "activating" quantile rule), a few very rarely (the growing pilot) and some
never (dead): b_enc[i] = -z[i] * std of the latent's pre-activation over the parity inputs, z from -1 to 5.
  resid-standard  standard,     blocks.1.hook_resid_pre, d_sae 48, prepend_bos true
  mlp-topk        topk k=4,     blocks.0.mlp.hook_post,  d_sae 40, prepend_bos true
  resid-nobos     standard,     blocks.0.hook_resid_post, d_sae 24, prepend_bos false (to test disagreeing BOS)
Seeded.

Usage: HF_HUB_OFFLINE=1 ~/nb-venv/bin/python Scripts/make-precompute-sae-fixtures.py   (venv with
sae-lens==6.54.12 beside torch==2.13.0+cpu and transformers==5.24.0)
"""
import importlib.util
import json
import pathlib
import shutil

import torch
from sae_lens import StandardSAE, StandardSAEConfig, TopKSAE, TopKSAEConfig
from sae_lens.saes.sae import SAEMetadata
from transformers import GPT2Model

ROOT = pathlib.Path(__file__).resolve().parent.parent
GPT2_RESOURCES = ROOT / "Tests" / "GPT2Tests" / "Resources"
OUT = ROOT / "Tests" / "PrecomputeTests" / "Resources" / "saes"

spec = importlib.util.spec_from_file_location("hooks", ROOT / "Scripts" / "make-hook-fixtures.py")
hooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hooks)


def main():
    model = GPT2Model.from_pretrained(GPT2_RESOURCES / "checkpoints" / "f16-prefixed", dtype=torch.float32,
                                      attn_implementation="eager").eval()
    inputs = json.loads((GPT2_RESOURCES / "parity" / "f16-prefixed" / "inputs.json").read_text())
    batch = [sequence for case in inputs["cases"] for sequence in case]
    captured = {}
    for sequence in batch:
        for name, value in hooks.hooked(model, [sequence]).items():
            captured.setdefault(name, []).append(value[0])
    cases = [
        ("resid-standard", StandardSAE, StandardSAEConfig, "blocks.1.hook_resid_pre", {}, 8, 48, True),
        ("mlp-topk", TopKSAE, TopKSAEConfig, "blocks.0.mlp.hook_post", {"k": 4}, 32, 40, True),
        ("resid-nobos", StandardSAE, StandardSAEConfig, "blocks.0.hook_resid_post", {}, 8, 24, False),
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (name, cls, config_cls, hook, extra, d_in, d_sae, bos) in enumerate(cases):
        metadata = SAEMetadata(hook_name=hook, prepend_bos=bos, model_name="f16-prefixed-fixture",
                               model_from_pretrained_kwargs={})
        sae = cls(config_cls(d_in=d_in, d_sae=d_sae, metadata=metadata, **extra)).eval()
        generator = torch.Generator().manual_seed(200 + seed)
        x = torch.cat(captured[hook])  # [tokens, d_in]
        with torch.no_grad():
            sae.W_enc.copy_(torch.randn(d_in, d_sae, generator=generator) / d_in ** 0.5)
            sae.W_dec.copy_(torch.randn(d_sae, d_in, generator=generator) / d_sae ** 0.5)
            sae.b_dec.copy_(0.1 * torch.randn(d_in, generator=generator))
            sae.b_enc.zero_()
            pre = (x - sae.b_dec) @ sae.W_enc
            centre, spread = pre.mean(dim=0), pre.std(dim=0)
            z = torch.linspace(-1.0, 5.0, d_sae)[torch.randperm(d_sae, generator=generator)]
            sae.b_enc.copy_(-centre - z * spread)
            latents = sae.encode(x)
        directory = OUT / name
        shutil.rmtree(directory, ignore_errors=True)
        sae.save_model(str(directory))
        firing = (latents > 0).float().mean(dim=0)
        print(f"{name}: {hook}, L0 {(latents != 0).float().sum(-1).mean():.2f}, dead {(firing == 0).sum().item()}, "
              f"dense {(firing > 0.5).sum().item()}, files {sorted(p.name for p in directory.iterdir())}")


if __name__ == "__main__":
    main()
