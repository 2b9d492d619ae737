#!/usr/bin/env python3
"""Reference vectors at TransformerLens hook points of the committed fixture checkpoints, from transformers with
forward hooks on the Hugging Face modules (Tests/GPT2Tests/HookPointTests.swift checks the Swift forward pass
against them).

For each checkpoint under Tests/GPT2Tests/Resources/checkpoints/ (and the shipped demo model), runs the first 16
tokens of each sequence of the first case of its parity/<name>/inputs.json and writes parity/<name>/hooks.safetensors with float32 [B, T, width] tensors
named "blocks.L.SITE":
  hook_resid_pre   the input of block h[L]            (forward pre-hook on h[L])
  hook_resid_mid   the input of h[L].ln_2              (forward pre-hook: the residual after attention)
  mlp.hook_post    the output of h[L].mlp.act          (the neurons)
  hook_mlp_out     the output of h[L].mlp              (before it is added; dropout is off in eval mode)
  hook_resid_post  the first output of block h[L]

Usage (the virtual environment of Scripts/make-parity-fixtures.py):
  HF_HUB_OFFLINE=1 ~/nb-venv/bin/python Scripts/make-hook-fixtures.py
"""
import json
import pathlib

import torch
import transformers
from safetensors.torch import save_file
from transformers import GPT2Model

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "Tests" / "GPT2Tests" / "Resources"
TOKENS = 16  # the first tokens of each sequence of case 0, to keep the fixtures small


def hooked(model, batch):
    captured, handles = {}, []

    def keep(name):
        return lambda value: captured.__setitem__(name, value.detach().float().clone().contiguous())

    for index, block in enumerate(model.h):
        prefix = f"blocks.{index}."
        handles.append(block.register_forward_pre_hook(
            lambda module, args, kwargs, name=prefix + "hook_resid_pre": keep(name)(args[0] if args else kwargs["hidden_states"]),
            with_kwargs=True))
        handles.append(block.ln_2.register_forward_pre_hook(
            lambda module, args, name=prefix + "hook_resid_mid": keep(name)(args[0])))
        handles.append(block.mlp.act.register_forward_hook(
            lambda module, args, output, name=prefix + "mlp.hook_post": keep(name)(output)))
        handles.append(block.mlp.register_forward_hook(
            lambda module, args, output, name=prefix + "hook_mlp_out": keep(name)(output)))
        handles.append(block.register_forward_hook(
            lambda module, args, output, name=prefix + "hook_resid_post": keep(name)(output[0] if isinstance(output, tuple) else output)))
    with torch.inference_mode():
        model(input_ids=torch.tensor(batch, dtype=torch.long))
    for handle in handles:
        handle.remove()
    return captured


def main():
    checkpoints = {p.name: p for p in sorted((RESOURCES / "checkpoints").iterdir())}
    checkpoints["sotu-gpt2"] = ROOT / "Models" / "sotu-gpt2"
    for name, directory in checkpoints.items():
        parity = RESOURCES / "parity" / name
        inputs = json.loads((parity / "inputs.json").read_text())
        batch = [sequence[:TOKENS] for sequence in inputs["cases"][0]]
        model = GPT2Model.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()
        tensors = hooked(model, batch)
        save_file(tensors, parity / "hooks.safetensors", metadata={
            "generator": "Scripts/make-hook-fixtures.py",
            "reference": f"transformers {transformers.__version__}, torch {torch.__version__}, eager attention, float32",
            "case": "0"})
        size = (parity / "hooks.safetensors").stat().st_size
        print(f"{name}: {len(tensors)} tensors, {size} bytes")


if __name__ == "__main__":
    main()
