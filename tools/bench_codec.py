#!/usr/bin/env python3
"""Compression benchmark (issue 5), called by tools/bench.

usage: bench_codec.py INGOT_BINARY OUT_DIR

On all-MiniLM-L6-v2 (tools/fetch-models), f32 and the same weights cast to
bf16 (round to nearest even): our codec (`ingot-bench codec`: tensors in
memory, chunks of 1 MiB) against ZipNN when `zipnn` is importable, and the
zstd CLI at -1 otherwise, on the same bytes in the same run. Size ratio,
compress and decompress MB/s at 1 thread and at all cores.
"""
import json, os, shutil, struct, subprocess, sys, tempfile, time, warnings
import numpy as np

ingot, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib, functools
model = benchlib.model
benchlib.require_model("compression")
cores = os.cpu_count() or 1

run, bench = functools.partial(benchlib.run, ingot), functools.partial(benchlib.bench, ingot)


base = os.path.join(out, "minilm.ingot")
run("convert", model, "-o", base, "--force")
rows = []
for dtype in ("f32", "bf16"):
    for threads in (1, cores):
        line = bench("codec", base, "--threads", str(threads), *(["--dtype", dtype] if dtype != "f32" else []))
        f = dict(kv.split("=") for kv in line.split()[1:])
        rows.append(("ingot zstd-1 + byte planes", dtype, threads, float(f["ratio"]), float(f["compressMBps"]), float(f["decompressMBps"])))

# The same bytes for the baseline: every tensor's payload, concatenated.
raw = open(os.path.join(model, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
data = raw[8 + n:]
x = np.frombuffer(data, dtype="<u4").astype(np.uint64)
bf16 = (((x + 0x7FFF + ((x >> 16) & 1)) >> 16) & 0xFFFF).astype("<u2").tobytes()
try:
    warnings.filterwarnings("ignore")
    from zipnn import ZipNN
    for name, buf, dt in (("f32", data, "float32"), ("bf16", bf16, "bfloat16")):
        for threads in (1, cores):
            z = ZipNN(bytearray_dtype=dt, threads=threads)
            bc = bd = 1e9
            for _ in range(3):
                t0 = time.perf_counter(); c = z.compress(buf); t1 = time.perf_counter(); z.decompress(c); t2 = time.perf_counter()
                bc, bd = min(bc, t1 - t0), min(bd, t2 - t1)
            rows.append(("ZipNN (same run)", name, threads, len(c) / len(buf), len(buf) / bc / 1e6, len(buf) / bd / 1e6))
except ImportError:
    if shutil.which("zstd"):
        with tempfile.TemporaryDirectory() as tmp:
            for name, buf in (("f32", data), ("bf16", bf16)):
                src = os.path.join(tmp, name)
                open(src, "wb").write(buf)
                for threads in (1, cores):
                    bc = bd = 1e9
                    for _ in range(3):
                        t0 = time.perf_counter(); subprocess.run(["zstd", "-1", f"-T{threads}", "-q", "-f", src, "-o", src + ".zst"]); t1 = time.perf_counter()
                        subprocess.run(["zstd", "-d", "-q", "-f", src + ".zst", "-o", src + ".out"]); t2 = time.perf_counter()
                        bc, bd = min(bc, t1 - t0), min(bd, t2 - t1)
                    rows.append(("zstd CLI -1 (same run; ZipNN not installed)", name, threads, os.path.getsize(src + ".zst") / len(buf), len(buf) / bc / 1e6, len(buf) / bd / 1e6))

print("### Lossless compression on all-MiniLM-L6-v2 (86.7 MB f32; the same weights cast to bf16)")
print()
print("| codec | dtype | threads | size ratio | compress MB/s | decompress MB/s |")
print("|---|---|---:|---:|---:|---:|")
for name, dtype, threads, ratio, c, d in rows:
    print(f"| {name} | {dtype} | {threads} | {ratio:.4f} | {c:.0f} | {d:.0f} |")
