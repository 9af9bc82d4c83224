#!/usr/bin/env python3
"""Quantization benchmark (issue 3), called by tools/bench.

usage: bench_quant.py INGOT_BINARY OUT_DIR

On all-MiniLM-L6-v2 (tools/fetch-models): for every scheme, median and min
SQNR and bits per weight over the 36 attention and FFN matrices, kernel speed
(quantize + error metrics, tensors in memory) at 1 thread and all cores, next
to numpy doing round-to-nearest int8/int4 plus the same metrics in the same
run. Then end-to-end `ingot quantize` wall time and peak RSS on a 1 GiB f32 model.
"""
import json, os, re, struct, subprocess, sys, time
import numpy as np

ingot, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib, functools
model = benchlib.model
benchlib.require_model("quantize")

run, bench = functools.partial(benchlib.run, ingot), functools.partial(benchlib.bench, ingot)


base = os.path.join(out, "minilm.ingot")
run("convert", model, "-o", base, "--force")
matrix = re.compile(r"encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)\.weight$")
schemes = [("int8 per-channel", ["--scheme", "int8"], "≥ 40"),
           ("int8 block-32", ["--scheme", "int8", "--group-size", "32"], "≥ 44"),
           ("int4 g32 asym q6", ["--scheme", "int4", "--scales", "q6"], "≥ 22.2 at ≤ 4.5 bpw"),
           ("int4 g32 asym f16 (default int4)", ["--scheme", "int4"], "≥ 22.8"),
           ("int4 g32 sym f16", ["--scheme", "int4", "--symmetric"], ""),
           ("int4 g32 asym q6, --no-search", ["--scheme", "int4", "--scales", "q6", "--no-search"], ""),
           ("int4 g64 asym f16", ["--scheme", "int4", "--group-size", "64", "--scales", "f16"], "")]
rows = []
for label, args, target in schemes:
    rep = json.loads(run("quantize", base, "-o", os.path.join(out, "q.ingot"), "--force", "--json", *args))
    ts = [t for t in rep["tensors"] if matrix.search(t["name"])]
    assert len(ts) == 36, len(ts)
    s = sorted(t["sqnr_db"] for t in ts)
    ffn = sorted(t["sqnr_db"] for t in ts if t["name"].endswith("output.dense.weight") and "attention" not in t["name"])
    bits = sum(t["bits_per_weight"] * np.prod(t["shape"]) for t in ts) / sum(np.prod(t["shape"]) for t in ts)
    speed = []
    for extra in (["--one-thread"], []):
        line = bench("quantize", base, *args, *extra)
        speed.append(float(line.split("MBps=")[1]))
    rows.append((label, bits, float(np.median(s)), s[0], float(np.median(ffn)), speed[0], speed[1], target))

# numpy baselines on the same 36 matrices: round-to-nearest + the same metrics.
raw = open(os.path.join(model, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
names = [k for k in hdr if k != "__metadata__" and matrix.search(k)]
mats = [np.frombuffer(raw[8 + n + hdr[k]["data_offsets"][0]:8 + n + hdr[k]["data_offsets"][1]], dtype="<f4").reshape(hdr[k]["shape"])
        for k in names]
ffn_out = [i for i, k in enumerate(names) if k.endswith("output.dense.weight") and "attention" not in k]
nbytes = sum(m.nbytes for m in mats)
def metrics(x, y):
    x = x.astype(np.float64); e = x - y
    return 10 * np.log10((x * x).sum() / (e * e).sum()), np.abs(e).max(), (x * y).sum()
def np_int8(w):
    s = np.abs(w).max(1, keepdims=True) / 127
    q = np.clip(np.rint(w / s), -127, 127).astype(np.int8)
    return metrics(w, q.astype(np.float32) * s)
def np_q4_0(w):
    g = w.reshape(-1, 32)
    i = np.abs(g).argmax(1)
    d = (g[np.arange(len(g)), i] / -8).astype(np.float16).astype(np.float32)[:, None]
    q = np.clip(np.rint(g / np.where(d == 0, 1, d)), -8, 7)
    return metrics(w, (q * d).reshape(w.shape))
baselines = [("numpy int8 per-channel RTN", None, np_int8), ("numpy Q4_0-style RTN", None, np_q4_0)]
# llama.cpp's own reference quantizers as gguf-py ports them to numpy
# (`pip install gguf`): the Q8_0 / Q4_0 / Q4_1 numbers the targets quote.
try:
    import gguf
    from gguf import quants
    def gguf_fn(t):
        return lambda w: metrics(w, quants.dequantize(quants.quantize(w, t), t).reshape(w.shape))
    T = gguf.GGMLQuantizationType
    baselines += [(f"gguf-py {t.name}", bits, gguf_fn(t)) for t, bits in ((T.Q8_0, 8.5), (T.Q4_0, 4.5), (T.Q4_1, 5.0))]
except ImportError:
    print("bench_quant: gguf not installed (pip install gguf); llama.cpp baselines skipped", file=sys.stderr)
baseline = {}
for name, bits, fn in baselines:
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter()
        s = [fn(m)[0] for m in mats]
        best = min(best, time.perf_counter() - t0)
    baseline[name] = (nbytes / best / 1e6, bits, s)

print("### Quantization on all-MiniLM-L6-v2 (36 attention and FFN matrices)")
print()
print("| scheme | bits/weight | median SQNR dB | min SQNR dB | FFN-out median dB | kernel MB/s, 1 thread | kernel MB/s, 2 threads | target |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for label, bits, med, mn, ffn, s1, s2, target in rows:
    print(f"| {label} | {bits:.3f} | {med:.2f} | {mn:.2f} | {ffn:.2f} | {s1:.0f} | {s2:.0f} | {target} |")
for name, (mbps, bits, s) in baseline.items():
    ffn = float(np.median([s[i] for i in ffn_out]))
    print(f"| {name} (same run) | {'' if bits is None else f'{bits:.3f}'} | {float(np.median(s)):.2f} | {min(s):.2f} | {ffn:.2f} | {mbps:.0f} | | |")

# End to end on a 1 GiB f32 model.
big = os.path.join(out, "synthetic-1g.safetensors")
if not os.path.exists(big):
    rng = np.random.default_rng(1)
    header, at, shapes = {}, 0, []
    for i in range(16):
        shapes.append((f"layers.{i}.weight", (4096, 4096)))
    for name, shape in shapes:
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [at, at + 4 * shape[0] * shape[1]]}
        at += 4 * shape[0] * shape[1]
    h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
    with open(big, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for name, shape in shapes:
            f.write((rng.standard_normal(shape[0] * shape[1], dtype=np.float32) * 0.02).tobytes())
big_ingot = os.path.join(out, "synthetic-1g.ingot")
run("convert", big, "-o", big_ingot, "--force")
print()
print("End to end, `ingot quantize` on a 1 GiB f32 model (16 × [4096, 4096]), /usr/bin/time -v:")
print()
print("| scheme | wall s | input MB/s | peak RSS MiB |")
print("|---|---:|---:|---:|")
for label, args in (("int8 per-channel", ["--scheme", "int8"]), ("int4 (q6, search)", ["--scheme", "int4", "--scales", "q6"])):
    subprocess.run(["sync"])
    r = subprocess.run(["/usr/bin/time", "-v", ingot, "quantize", big_ingot, "-o", os.path.join(out, "big-q.ingot"), "--force", *args],
                       capture_output=True, text=True)
    wall = [l for l in r.stderr.splitlines() if "Elapsed (wall clock)" in l][0].split(": ")[1]
    secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
    rss = int([l for l in r.stderr.splitlines() if "Maximum resident" in l][0].split(": ")[1]) / 1024
    print(f"| {label} | {secs:.2f} | {os.path.getsize(big) / secs / 1e6:.0f} | {rss:.0f} |")
