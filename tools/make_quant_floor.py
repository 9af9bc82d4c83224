#!/usr/bin/env python3
"""Writes Tests/IngotTests/Fixtures/quant/: four weight-like f32 matrices
(fixed seed) and the SQNR that llama.cpp's reference quantizers, as gguf-py
ports them (`pip install gguf`), reach on each for Q8_0, Q4_0 and Q4_1.
QuantizeTests.defaultSearchBeatsLlamaCppReferenceQuantizers holds our
default search to a floor above them, so a weaker search fails CI without
any downloaded model. Run once; commit the outputs."""
import json, os, sys
import numpy as np
from gguf import quants, GGMLQuantizationType as T

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "IngotTests", "Fixtures", "quant")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20261201)
rows, cols = 32, 512
mats = {
    "gaussian": rng.normal(0, 0.02, (rows, cols)),
    # Heavy tails, as trained weights have.
    "student_t4": rng.standard_t(4, (rows, cols)) * 0.02,
    # Rows of different scale (per-channel spread).
    "row_scaled": rng.normal(0, 1, (rows, cols)) * np.exp(rng.normal(-4, 0.7, (rows, 1))),
    # A few large outliers per row.
    "outliers": rng.normal(0, 0.02, (rows, cols)) + (rng.random((rows, cols)) < 0.004) * rng.normal(0, 0.3, (rows, cols)),
}
def sqnr(w, d):
    w = w.astype(np.float64); d = d.astype(np.float64)
    return float(10 * np.log10((w * w).sum() / ((w - d) ** 2).sum()))
ref = {}
for name, m in mats.items():
    m = m.astype(np.float32)
    np.save(os.path.join(out, name + ".npy"), m)
    ref[name] = {t.name: sqnr(m, quants.dequantize(quants.quantize(m, t), t).reshape(m.shape)) for t in (T.Q8_0, T.Q4_0, T.Q4_1)}
with open(os.path.join(out, "reference_sqnr.json"), "w") as f:
    json.dump({"generator": "tools/make_quant_floor.py", "reference": "gguf-py quants (llama.cpp's reference quantizers)", "sqnr_db": ref}, f, indent=1, sort_keys=True)
    f.write("\n")
print(json.dumps(ref, indent=1))
