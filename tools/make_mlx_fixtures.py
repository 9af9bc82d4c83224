#!/usr/bin/env python3
"""Writes the MLX fixtures the Swift tests read (Tests/IngotTests/Fixtures/mlx/),
from MLX itself. Run with a python that has mlx and mlx-lm (tools/reference-venv):

    $(tools/reference-venv) tools/make_mlx_fixtures.py

  codecs.safetensors  for bits 1, 2, 3, 4, 5, 6, 8, group sizes 32/64/128 and
                      scale dtypes f16, bf16, f32: a matrix quantized by
                      mx.quantize (`{case}.weight`, `.scales`, `.biases`) and
                      mx.dequantize's values (`{case}.dequantized`), and for
                      f32 the values MLX quantized (`{case}.values`);
  llama3-q4-f16/      mlx_lm.convert -q --q-group-size 32 --dtype float16 of
                      the llama3 architecture fixture, plus `dequantized.safetensors`
                      (every quantized layer through mx.dequantize, in f16);
  recipes.json        the bits mlx-lm's mixed_* recipes give each module path,
                      for several layer counts (its own predicate, called here).
Deterministic: fixed seeds, and mlx's quantizer is deterministic.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import mlx.core as mx
from mlx_lm.convert import mixed_quant_predicate_builder, QUANT_RECIPES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "IngotTests", "Fixtures", "mlx")
DTYPES = {"f16": mx.float16, "bf16": mx.bfloat16, "f32": mx.float32}


def codecs():
    rng = np.random.default_rng(17)
    arrays = {}
    for bits in (1, 2, 3, 4, 5, 6, 8):
        for g in (32, 64, 128):
            for name, dt in DTYPES.items():
                w = mx.array((rng.standard_normal((3, 256)) * 0.05).astype(np.float32)).astype(dt)
                q, s, b = mx.quantize(w, group_size=g, bits=bits)
                case = f"b{bits}_g{g}_{name}"
                arrays[case + ".weight"] = q
                arrays[case + ".scales"] = s
                arrays[case + ".biases"] = b
                arrays[case + ".dequantized"] = mx.dequantize(q, s, b, group_size=g, bits=bits).astype(mx.float32)
                if name == "f32":
                    arrays[case + ".values"] = w
    mx.save_safetensors(os.path.join(OUT, "codecs.safetensors"), arrays)


def llama_folder():
    folder = os.path.join(OUT, "llama3-q4-f16")
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "mlx_lm", "convert", "--hf-path", os.path.join(ROOT, "Tests", "IngotTests", "Fixtures", "arch", "llama3"),
                    "--mlx-path", folder, "-q", "--q-group-size", "32", "--dtype", "float16"], check=True, capture_output=True)
    os.remove(os.path.join(folder, "README.md"))
    config = json.load(open(os.path.join(folder, "config.json")))
    weights = mx.load(os.path.join(folder, "model.safetensors"))
    q = config["quantization"]
    out = {}
    for name in weights:
        if name.endswith(".scales"):
            layer = name[: -len(".scales")]
            p = q.get(layer, q)
            out[layer + ".weight"] = mx.dequantize(weights[layer + ".weight"], weights[name], weights[layer + ".biases"],
                                                   group_size=p["group_size"], bits=p["bits"])
    mx.save_safetensors(os.path.join(OUT, "dequantized.safetensors"), out)


class FakeModel:
    """What mixed_quant_predicate_builder looks at: module names and layers."""

    def __init__(self, paths, layers):
        self.paths, self.layers = paths, [None] * layers

    def named_modules(self):
        return [(p, None) for p in self.paths]


def recipes():
    out = {}
    for layers in (2, 8, 24, 28, 32, 36):
        paths = ["model.embed_tokens", "lm_head"]
        for i in range(layers):
            paths += [f"model.layers.{i}.self_attn.{m}" for m in ("q_proj", "k_proj", "v_proj", "o_proj")]
            paths += [f"model.layers.{i}.mlp.{m}" for m in ("gate_proj", "up_proj", "down_proj")]
        for recipe in QUANT_RECIPES:
            pred = mixed_quant_predicate_builder(recipe, FakeModel(paths, layers), group_size=64)
            bits = {p: pred(p, None)["bits"] for p in paths}
            low = bits["model.layers.0.self_attn.q_proj"]
            out[f"{recipe}/{layers}"] = {"low": low, "high": sorted(p for p, b in bits.items() if b != low),
                                         "high_bits": sorted(set(bits.values()) - {low})}
    with open(os.path.join(OUT, "recipes.json"), "w") as fh:
        json.dump(out, fh, sort_keys=True, indent=1)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    codecs()
    llama_folder()
    recipes()
    print("wrote", OUT)
