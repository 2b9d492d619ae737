#!/usr/bin/env python3
"""Small random SAEs made and applied by sae-lens itself: the reference Tests/SAETests checks neuronbench's
SAELens loader and encoder against.

For the fixture checkpoint Tests/GPT2Tests/Resources/checkpoints/gpt2-shaped (d_model 64, n_inner 256), writes
Tests/SAETests/Resources/<name>/ with sae-lens' own `save_model` output (cfg.json, sae_weights.safetensors) and
reference.safetensors: `input` (the hook's vectors from transformers, forward hooks as in make-hook-fixtures.py,
float32 [T, d_in], before any centring), `latents` (sae-lens' `encode` of the vectors it reads, [T, d_sae]) and
`reconstruction` (its `decode`). Cases:
  standard-resid    standard,  blocks.1.hook_resid_pre, apply_b_dec_to_input
  topk-mlp-out      topk k=5,   blocks.0.hook_mlp_out
  jumprelu-resid    jumprelu,   blocks.2.hook_resid_post, no b_dec on input
  standard-centred  standard,  blocks.1.hook_resid_pre, center_writing_weights (the input is centred per token
                    before sae-lens sees it, as a TransformerLens model with centred writing weights would give)
  topk-neurons      topk k=8,   blocks.1.mlp.hook_post (the neurons)
The input: the first sequence of parity case 0 (17 tokens). Seeded.

Usage: HF_HUB_OFFLINE=1 ~/nb-venv/bin/python Scripts/make-sae-fixtures.py   (venv with sae-lens==6.54.12 installed
beside torch==2.13.0+cpu and transformers==5.24.0)
"""
import importlib.util
import json
import pathlib
import shutil

import sae_lens
import torch
from safetensors.torch import save_file
from sae_lens import JumpReLUSAE, JumpReLUSAEConfig, StandardSAE, StandardSAEConfig, TopKSAE, TopKSAEConfig
from sae_lens.saes.sae import SAEMetadata
from transformers import GPT2Model

ROOT = pathlib.Path(__file__).resolve().parent.parent
GPT2_RESOURCES = ROOT / "Tests" / "GPT2Tests" / "Resources"
OUT = ROOT / "Tests" / "SAETests" / "Resources"

spec = importlib.util.spec_from_file_location("hooks", ROOT / "Scripts" / "make-hook-fixtures.py")
hooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hooks)


def randomize(sae, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in sorted(sae.named_parameters()):
            noise = torch.randn(parameter.shape, generator=generator)
            if name == "threshold":
                parameter.copy_(0.3 + 0.2 * noise.abs())
            elif name.startswith("b_"):
                parameter.copy_(0.1 * noise)
            else:
                parameter.copy_(noise / parameter.shape[0] ** 0.5)


def main():
    model = GPT2Model.from_pretrained(GPT2_RESOURCES / "checkpoints" / "gpt2-shaped", dtype=torch.float32,
                                      attn_implementation="eager").eval()
    inputs = json.loads((GPT2_RESOURCES / "parity" / "gpt2-shaped" / "inputs.json").read_text())
    tokens = [inputs["cases"][0][0]]
    captured = hooks.hooked(model, tokens)
    cases = [
        ("standard-resid", StandardSAE, StandardSAEConfig, "blocks.1.hook_resid_pre", {}, False, 64),
        ("topk-mlp-out", TopKSAE, TopKSAEConfig, "blocks.0.hook_mlp_out", {"k": 5}, False, 64),
        ("jumprelu-resid", JumpReLUSAE, JumpReLUSAEConfig, "blocks.2.hook_resid_post",
         {"apply_b_dec_to_input": False}, False, 64),
        ("standard-centred", StandardSAE, StandardSAEConfig, "blocks.1.hook_resid_pre", {}, True, 64),
        ("topk-neurons", TopKSAE, TopKSAEConfig, "blocks.1.mlp.hook_post", {"k": 8}, False, 256),
    ]
    for seed, (name, cls, config_cls, hook, extra, centred, d_in) in enumerate(cases):
        metadata = SAEMetadata(hook_name=hook, prepend_bos=False, model_name="gpt2-shaped-fixture",
                               model_from_pretrained_kwargs={"center_writing_weights": centred} if centred else {})
        sae = cls(config_cls(d_in=d_in, d_sae=96, metadata=metadata, **extra)).eval()
        randomize(sae, 100 + seed)
        directory = OUT / name
        shutil.rmtree(directory, ignore_errors=True)
        sae.save_model(str(directory))
        x = captured[hook][0]  # [T, d_in]
        read = x - x.mean(dim=-1, keepdim=True) if centred else x
        with torch.no_grad():
            latents = sae.encode(read)
            reconstruction = sae.decode(latents)
        save_file({"input": x.contiguous(), "latents": latents.contiguous(), "reconstruction": reconstruction.contiguous()},
                  directory / "reference.safetensors",
                  metadata={"generator": "Scripts/make-sae-fixtures.py", "sae_lens": sae_lens.__version__,
                            "hook": hook, "centred": str(centred)})
        nonzero = (latents != 0).float().sum(dim=-1).mean().item()
        print(f"{name}: {hook}, L0 {nonzero:.1f}, files {sorted(p.name for p in directory.iterdir())}")


if __name__ == "__main__":
    main()
