#!/usr/bin/env python3
"""Writes Tests/IngotTests/Fixtures/quant/ggml_sqnr.json and
Tests/IngotTests/Fixtures/gguf/iq4_*: the SQNR ggml's own C quantizers
(ggml_quantize_chunk, no importance matrix, from the libggml that
llama-cpp-python ships) reach on the four matrices of make_quant_floor.py
for every type ingot quantizes into, dequantized by gguf-py; and ggml's
IQ4_NL / IQ4_XS blocks of the gaussian matrix with gguf-py's values, the
golden for ingot's IQ4 dequantization. Run once; commit the outputs."""
import ctypes, glob, json, os
import numpy as np
import llama_cpp
from gguf import quants, GGMLQuantizationType as T

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "IngotTests", "Fixtures")
lib = ctypes.CDLL(sorted(glob.glob(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-base.so*")))[0])
lib.ggml_quantize_chunk.restype = ctypes.c_size_t
lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
types = {"q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_1": T.Q4_1, "q5_0": T.Q5_0, "q5_1": T.Q5_1, "q4_k": T.Q4_K, "q5_k": T.Q5_K,
         "q6_k": T.Q6_K, "iq4_nl": T.IQ4_NL, "iq4_xs": T.IQ4_XS}


def ggml(m, t):
    lib.ggml_quantize_init(int(t))
    per, size = quants.GGML_QUANT_SIZES[t]
    buf = ctypes.create_string_buffer(m.size // per * size)
    m = np.ascontiguousarray(m, dtype=np.float32)
    lib.ggml_quantize_chunk(int(t), m.ctypes.data, buf, 0, m.shape[0], m.shape[1], None)
    return np.frombuffer(buf.raw, dtype=np.uint8)


def sqnr(w, d):
    w = w.astype(np.float64); d = d.astype(np.float64)
    return float(10 * np.log10((w * w).sum() / ((w - d) ** 2).sum()))


table = {}
for name in ("gaussian", "outliers", "row_scaled", "student_t4"):
    m = np.load(os.path.join(root, "quant", name + ".npy")).astype(np.float32)
    table[name] = {}
    for scheme, t in types.items():
        blocks = ggml(m, t)
        d = quants.dequantize(blocks.reshape(m.shape[0], -1), t).astype(np.float32).reshape(m.shape)
        table[name][scheme] = round(sqnr(m, d), 4)
        if name == "gaussian" and scheme in ("iq4_nl", "iq4_xs"):
            blocks.tofile(os.path.join(root, "gguf", f"{scheme}_blocks.bin"))
            np.save(os.path.join(root, "gguf", f"{scheme}_dequantized.npy"), d)
json.dump({"generator": "tools/make_ggml_fixtures.py", "reference": "ggml_quantize_chunk (llama-cpp-python %s)" % llama_cpp.__version__,
           "sqnr_db": table}, open(os.path.join(root, "quant", "ggml_sqnr.json"), "w"), indent=1, sort_keys=True)
print(json.dumps(table, indent=1))
