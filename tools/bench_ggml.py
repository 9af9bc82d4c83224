#!/usr/bin/env python3
"""ggml quantizers side by side (issue 12), called by tools/bench.

usage: bench_ggml.py INGOT_BINARY OUT_DIR

On all-MiniLM-L6-v2's 36 attention and FFN matrices (tools/fetch-models):
for each ggml type, the median and minimum SQNR of `ingot quantize --scheme
TYPE` and of ggml's own C quantizer (ggml_quantize_chunk without an
importance matrix, from the libggml that llama-cpp-python ships), and their
speed on one thread, measured in the same run. ggml's output is dequantized
by tools/ingot_read.py's ggml_dequantize (gguf-py's values, bit for bit).
"""
import ctypes, glob, json, os, re, struct, sys, time
import numpy as np

ingot, out = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import benchlib, functools
from ingot_read import GGML_BLOCKS, IngotFile, ggml_dequantize
benchlib.require_model("ggml quantizers")
run, bench = functools.partial(benchlib.run, ingot), functools.partial(benchlib.bench, ingot)

TYPES = {"q8_0": 8, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q4_k": 12, "q5_k": 13, "q6_k": 14, "iq4_nl": 20, "iq4_xs": 23}


def libggml():
    try:
        import llama_cpp
    except ImportError:
        return None
    libs = glob.glob(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-base.so*"))
    if not libs:
        return None
    lib = ctypes.CDLL(sorted(libs)[0])
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    lib.ggml_quantize_init.argtypes = [ctypes.c_int]
    return lib


def sqnr(x, y):
    x = x.astype(np.float64)
    e = np.sum((x - y) ** 2)
    return float("inf") if e == 0 else 10 * np.log10(np.sum(x * x) / e)


base = os.path.join(out, "minilm.ingot")
run("convert", benchlib.model, "-o", base, "--force")
matrix = re.compile(r"encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)\.weight$")
f = IngotFile(base)
mats = {n: np.ascontiguousarray(f.array(n), dtype=np.float32) for n in f.names() if matrix.search(n)}
assert len(mats) == 36, len(mats)
mb = sum(m.nbytes for m in mats.values()) / 1e6
lib = libggml()
results = {}
for scheme, tid in TYPES.items():
    per, size = GGML_BLOCKS[scheme.upper()]
    q = os.path.join(out, "q.ingot")
    rep = json.loads(run("quantize", base, "-o", q, "--force", "--json", "--scheme", scheme))
    ts = [t for t in rep["tensors"] if t["name"] in mats]
    qf = IngotFile(q)
    ours = []
    for n, m in mats.items():
        if qf.tensors[n]["encoding"].get("type") == scheme.upper():
            ours.append(sqnr(m, qf.array(n)))
    line = bench("quantize", base, "--scheme", scheme, "--one-thread")
    speed = float(line.split("MBps=")[1])
    row = {"ours_median": float(np.median(ours)) if ours else None, "ours_min": min(ours) if ours else None, "ours_n": len(ours), "ours_MBps": speed}
    if lib is not None:
        lib.ggml_quantize_init(tid)
        # Best of 3 passes over the matrices, as ingot-bench takes its best of 3.
        theirs, best = [], float("inf")
        for rep in range(3):
            elapsed = 0.0
            for n, m in mats.items():
                rows_, cols = m.shape
                if cols % per:
                    continue
                buf = ctypes.create_string_buffer(rows_ * cols // per * size)
                t0 = time.perf_counter()
                lib.ggml_quantize_chunk(tid, m.ctypes.data, buf, 0, rows_, cols, None)
                elapsed += time.perf_counter() - t0
                if rep == 0:
                    theirs.append(sqnr(m, ggml_dequantize(scheme.upper(), buf.raw, m.size).reshape(m.shape)))
            best = min(best, elapsed)
        elapsed = best
        row.update({"ggml_median": float(np.median(theirs)), "ggml_min": min(theirs), "ggml_MBps": mb * len(theirs) / len(mats) / elapsed})
    results[scheme] = row
    print(scheme, json.dumps(row), file=sys.stderr, flush=True)
    json.dump(results, open(os.path.join(out, "ggml.json"), "w"), indent=1)
print("## ggml quantizers against ggml's own (MiniLM's attention and FFN matrices, one thread)\n")
print("| type | matrices | ingot median SQNR | ggml median SQNR | ingot MB/s | ggml MB/s | speed ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
for scheme, r in results.items():
    if r.get("ggml_median") is None:
        continue
    print(f"| {scheme.upper()} | {r['ours_n']} | {r['ours_median']:.2f} | {r['ggml_median']:.2f} | {r['ours_MBps']:.0f} | {r['ggml_MBps']:.0f} | {r['ours_MBps'] / r['ggml_MBps']:.2f}x |")
