#!/usr/bin/env python3
"""MLX export side by side with mlx_lm.convert, on a synthetic Llama (~1 GB f32).

usage: .venv/bin/python tools/bench_mlx.py PATH/TO/ingot OUT_DIR   (tools/bench runs it)

Both start from the same Hugging Face folder and write a 4-bit, group-64
mlx-lm folder (f32 scales, the model's dtype):
  - mlx_lm.convert -q --dtype float32 (mlx[cpu]);
  - ingot convert, quantize --for mlx, export --to mlx (three runs, summed).
Wall time and peak RSS (/usr/bin/time -v) of each, 3 runs; then the median
SQNR of each folder's dequantized weights against the original ones.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mlx.core as mx  # noqa: E402
from mlx_check import dequantized  # noqa: E402
from benchlib import synthetic_llama, timed as timed3  # noqa: E402
from safetensors import safe_open  # noqa: E402


def timed(argv):
    """Wall seconds and peak RSS MiB."""
    return timed3(argv)[:2]


def sqnr(x, y):
    x = x.astype(np.float64)
    return 10 * np.log10((x * x).sum() / ((x - y) ** 2).sum())


def main():
    ingot, out = sys.argv[1], sys.argv[2]
    hf = os.path.join(out, "mlx-bench-llama")
    if not os.path.exists(os.path.join(hf, "model.safetensors")):
        synthetic_llama(hf, layers=4, hidden=2048, ffn=5632, vocab=16000, heads=16, kv=4, hd=128)
    size = os.path.getsize(os.path.join(hf, "model.safetensors"))
    ref, ours = os.path.join(out, "mlx-ref"), os.path.join(out, "mlx-ours")
    base, q = os.path.join(out, "mlx-bench.ingot"), os.path.join(out, "mlx-bench-q.ingot")
    rows = {"mlx_lm.convert": [], "ingot (3 steps)": [], "  convert": [], "  quantize --for mlx": [], "  export --to mlx": []}
    for _ in range(3):
        shutil.rmtree(ref, ignore_errors=True)
        subprocess.run(["sync"])
        rows["mlx_lm.convert"].append(timed([sys.executable, "-m", "mlx_lm", "convert", "--hf-path", hf, "--mlx-path", ref, "-q", "--dtype", "float32"]))
        shutil.rmtree(ours, ignore_errors=True)
        subprocess.run(["sync"])
        steps = [timed([ingot, "convert", hf, "-o", base, "--force"]),
                 timed([ingot, "quantize", base, "-o", q, "--for", "mlx", "--force"]),
                 timed([ingot, "export", q, "--to", "mlx", "-o", ours, "--force"])]
        for name, s in zip(["  convert", "  quantize --for mlx", "  export --to mlx"], steps):
            rows[name].append(s)
        rows["ingot (3 steps)"].append((sum(s[0] for s in steps), max(s[1] for s in steps)))
    print(f"### MLX export against mlx_lm.convert (issue 17)\n")
    print(f"Synthetic Llama, 4 layers, hidden 2048, ffn 5632, vocab 16000: {size / 1e9:.2f} GB f32 safetensors; "
          f"4 bits, groups of 64, f32 scales; 3 runs each, page cache warm, 2 cores.\n")
    print("| run | median s | best s | MB/s (median) | / mlx_lm.convert | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    mref = statistics.median(w for w, _ in rows["mlx_lm.convert"])
    for name, v in rows.items():
        med = statistics.median(w for w, _ in v)
        print(f"| {name} | {med:.2f} | {min(w for w, _ in v):.2f} | {size / 1e6 / med:.0f} | {med / mref:.2f}x | {max(r for _, r in v):.0f} |")
    # Quality: every quantized layer, dequantized by mx.dequantize, against the original.
    orig = safe_open(os.path.join(hf, "model.safetensors"), "np")
    result = {}
    for label, folder in (("mlx_lm.convert", ref), ("ingot", ours)):
        values, _ = dequantized(folder)
        result[label] = [sqnr(orig.get_tensor(n), v) for n, v in sorted(values.items())]
    print()
    print("| quantizer | layers | median SQNR dB | min SQNR dB |")
    print("|---|---:|---:|---:|")
    for label, s in result.items():
        print(f"| {label} | {len(s)} | {statistics.median(s):.2f} | {min(s):.2f} |")
    json.dump({k: [(w, r) for w, r in v] for k, v in rows.items()}, open(os.path.join(out, "mlx-bench.json"), "w"))


if __name__ == "__main__":
    main()
