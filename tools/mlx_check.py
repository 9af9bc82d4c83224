#!/usr/bin/env python3
"""Check `ingot export --to mlx` and `ingot convert MLX_DIR` against MLX itself.

usage: .venv/bin/python tools/mlx_check.py PATH/TO/ingot
(tools/test installs mlx[cpu] and mlx-lm into the project's .venv and runs it.)

On the architecture fixtures (Tests/IngotTests/Fixtures/arch):
  - every quantized scheme ingot has, exported to MLX, dequantizes in
    mlx.core.dequantize to the bits tools/ingot_read.py and ingot's own
    export give for the container;
  - mlx_lm.load runs each exported folder, and its logits agree with
    `ingot forward` on the same container (mean KL ≤ 1e-3);
  - folders written by mlx_lm.convert -q (f32, f16, bf16; 4 and 8 bits; the
    mixed_4_6 recipe) convert into ingot with MLX's dequantized values, and
    export back to the same tensors byte for byte;
  - `quantize --for mlx --recipe mixed_4_6` gives every layer the width
    mlx_lm.convert's own recipe gives it;
  - what has no MLX form is refused by name, and no folder is left behind.
Exits 1 on the first mismatch.
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from ingot_read import IngotFile  # noqa: E402

import mlx.core as mx  # noqa: E402
import mlx_lm  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402
from benchlib import synthetic_llama  # noqa: E402

import checklib  # noqa: E402
from checklib import check, ingot, mean_kld, run  # noqa: E402

checklib.name = "mlx_check"
ARCH = os.path.join(ROOT, "Tests", "IngotTests", "Fixtures", "arch")








def bits_of(a):
    """float values (f16, f32, or bf16 widened) as the bits of their exact f32 form."""
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def zeros_signless(bits, a):
    """Bit patterns with −0 counted as +0: symmetric int4's zero code under a
    negative scale is −0 in ingot ((q − 8)·s) and +0 in MLX (s·q − 8s)."""
    a = np.ascontiguousarray(a)
    return np.where(a == 0, 0, bits).astype(bits.dtype)


def mx_to_np(a):
    """An mlx array as numpy; bf16 widened to f32 (numpy has no bf16)."""
    if a.dtype == mx.bfloat16:
        return np.array(a.astype(mx.float32))
    return np.array(a)


def mlx_weights(folder):
    """Every tensor of an MLX folder, as mlx arrays (mx.load keeps bf16)."""
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.startswith("model") and name.endswith(".safetensors"):
            out.update(mx.load(os.path.join(folder, name)))
    return out


def layer_quant(config, layer):
    """The (bits, group_size) mlx-lm uses for a layer: its own entry, else the defaults."""
    q = config["quantization"]
    entry = q.get(layer, q)
    return entry["bits"], entry["group_size"]


def dequantized(folder):
    """Each quantized layer's weight, dequantized by mlx.core.dequantize."""
    config = json.load(open(os.path.join(folder, "config.json")))
    w = mlx_weights(folder)
    out = {}
    for name in w:
        if name.endswith(".scales"):
            layer = name[: -len(".scales")]
            bits, g = layer_quant(config, layer)
            out[layer + ".weight"] = mx_to_np(mx.dequantize(w[layer + ".weight"], w[name], w[layer + ".biases"], group_size=g, bits=bits))
    return out, config






def mlx_logits(folder, ids):
    model, _ = mlx_lm.load(folder)
    return np.array(model(mx.array([ids])).astype(mx.float32))[0]


def ingot_logits(binary, container, ids, tmp):
    path = os.path.join(tmp, "ids.npy")
    np.save(path, np.asarray(ids, dtype=np.int64))
    out = os.path.join(tmp, "logits.npy")
    ingot(binary, "forward", container, "--token-file", path, "-o", out, "--force")
    return np.load(out).reshape(len(ids), -1)


def swift_values(binary, container, tmp):
    """ingot's own dequantization: the container exported to safetensors
    (widened to f32, exactly, for numpy, which has no bf16)."""
    path = os.path.join(tmp, "swift.safetensors")
    ingot(binary, "export", container, "--to", "safetensors", "-o", path, "--force", "--dtype", "f32")
    return load_file(path)


def ids_of(arch):
    return [int(i) for i in np.load(os.path.join(ARCH, arch, "input_ids.npy"))[:100]]


# Fixtures whose sliding window mlx-lm's model class cannot express: Mistral
# slides on every layer (mlx-lm's llama needs one full layer), and mlx-lm's
# gemma2 has no window at all.
WINDOW_REFUSED = {"mistral", "gemma2"}

# Schemes ingot can export to MLX without requantizing, and the container
# encodings they make.
SCHEMES = [
    ("int4 g32 asymmetric", ["--scheme", "int4"]),
    ("int4 g64 symmetric", ["--scheme", "int4", "--group-size", "64", "--symmetric"]),
    ("int4 q6 scales", ["--scheme", "int4", "--scales", "q6"]),
    ("int8 block 32", ["--scheme", "int8", "--group-size", "32"]),
    ("mlx 4-bit g64 (--for mlx)", ["--for", "mlx"]),
    ("mlx 6-bit g32", ["--scheme", "mlx", "--bits", "6", "--group-size", "32"]),
    ("mlx 3-bit g32 bf16 scales", ["--scheme", "mlx", "--bits", "3", "--group-size", "32", "--scales", "bf16"]),
]


def export_checks(binary, tmp):
    archs = ["llama3", "mistral", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"]
    for i, arch in enumerate(archs):
        base = os.path.join(tmp, arch + ".ingot")
        ingot(binary, "convert", os.path.join(ARCH, arch), "-o", base)
        ids = ids_of(arch)
        # Every arch gets two schemes, so each scheme meets several architectures.
        for label, flags in (SCHEMES[i % len(SCHEMES)], SCHEMES[(i + 3) % len(SCHEMES)]):
            q = os.path.join(tmp, f"{arch}-q.ingot")
            extra = [] if "--for" in flags else ["--embeddings", "quantize", "--output-head", "quantize"]
            ingot(binary, "quantize", base, "-o", q, "--force", *flags, *extra)
            folder = os.path.join(tmp, f"{arch}-mlx")
            shutil.rmtree(folder, ignore_errors=True)
            what = f"{arch}, {label}"
            seq = ids
            if arch in WINDOW_REFUSED:
                # mlx-lm's class for this model cannot slide its window:
                # refused by key, then written with --full-attention and
                # compared on a sequence no longer than the window.
                r = run(binary, "export", q, "--to", "mlx", "-o", folder)
                check(r.returncode != 0 and "sliding_window" in r.stderr and not os.path.exists(folder), f"{what}: refused, naming sliding_window: {r.stderr.strip()}")
                ingot(binary, "export", q, "--to", "mlx", "-o", folder, "--full-attention")
                seq = ids[: json.load(open(os.path.join(ARCH, arch, "config.json")))["sliding_window"]]
            else:
                ingot(binary, "export", q, "--to", "mlx", "-o", folder)
            reader = IngotFile(q)
            values, config = dequantized(folder)
            quantized = [n for n, t in reader.tensors.items() if t["encoding"]["kind"] != "raw"]
            check(sorted(values) == sorted(quantized), f"{what}: MLX holds the quantized layers ingot has ({len(quantized)})")
            mine = swift_values(binary, q, tmp)
            signless = "--symmetric" in flags
            norm = (lambda a: zeros_signless(bits_of(a), a)) if signless else bits_of
            for name in quantized:
                got = values[name]
                check(np.array_equal(norm(got), norm(reader.array(name))), f"{what}: {name}: mx.dequantize equals ingot_read.py, bit for bit")
                check(np.array_equal(norm(got), norm(mine[name])), f"{what}: {name}: mx.dequantize equals ingot's dequantization, bit for bit")
            kld = mean_kld(ingot_logits(binary, q, seq, tmp), mlx_logits(folder, seq))
            check(kld <= 1e-3, f"{what}: mlx_lm logits vs ingot forward: mean KL {kld:.3g} > 1e-3")
            print(f"mlx_check: {what}: {len(quantized)} layers bit-exact in MLX; mean KL {kld:.2e} over {len(seq)} tokens")
            shutil.rmtree(folder)


def import_checks(binary, tmp):
    cases = [
        ("llama3", ["-q", "--q-bits", "4", "--q-group-size", "64", "--dtype", "float32"], True),
        ("qwen2", ["-q", "--q-bits", "8", "--q-group-size", "32", "--dtype", "float16"], False),
        ("gemma2", ["-q", "--q-bits", "4", "--q-group-size", "32", "--dtype", "bfloat16"], False),
        ("gemma3", ["-q", "--q-group-size", "32", "--quant-predicate", "mixed_4_6", "--dtype", "float32"], True),
    ]
    for arch, flags, logits in cases:
        src = os.path.join(tmp, f"{arch}-mlxlm")
        shutil.rmtree(src, ignore_errors=True)
        r = run(sys.executable, "-m", "mlx_lm", "convert", "--hf-path", os.path.join(ARCH, arch), "--mlx-path", src, *flags)
        check(r.returncode == 0, f"mlx_lm.convert {arch}: {r.stderr.strip()[-400:]}")
        what = f"mlx_lm.convert {arch} {' '.join(flags)}"
        container = os.path.join(tmp, f"{arch}-from-mlx.ingot")
        ingot(binary, "convert", src, "-o", container, "--force")
        reader = IngotFile(container)
        values, _ = dequantized(src)
        mine = swift_values(binary, container, tmp)
        for name, want in values.items():
            check(reader.tensors[name]["encoding"]["kind"] == "mlx_affine", f"{what}: {name} kept as mlx_affine")
            check(np.array_equal(bits_of(reader.array(name)), bits_of(want)), f"{what}: {name}: ingot_read.py equals mx.dequantize")
            check(np.array_equal(bits_of(mine[name]), bits_of(want)), f"{what}: {name}: ingot's dequantization equals mx.dequantize")
        back = os.path.join(tmp, f"{arch}-back")
        shutil.rmtree(back, ignore_errors=True)
        ingot(binary, "export", container, "--to", "mlx", "-o", back, *(["--full-attention"] if arch in WINDOW_REFUSED else []))
        a, b = mlx_weights(src), mlx_weights(back)
        check(sorted(a) == sorted(b), f"{what}: export back names the same tensors")
        for name in a:
            same = a[name].dtype == b[name].dtype and a[name].shape == b[name].shape and bytes(memoryview(a[name])) == bytes(memoryview(b[name]))
            check(same, f"{what}: {name} exported back byte for byte")
        ca, cb = json.load(open(os.path.join(src, "config.json"))), json.load(open(os.path.join(back, "config.json")))
        for name in a:
            if name.endswith(".scales"):
                layer = name[: -len(".scales")]
                check(layer_quant(ca, layer) == layer_quant(cb, layer), f"{what}: {layer}: same bits and group size in config")
        if logits:
            # mlx_lm.load of the folder ingot wrote back (mlx_lm.convert keeps
            # transformers 5's rope_parameters, which mlx-lm itself does not
            # read, so its own folder runs Llama 3 without its rope scaling).
            ids = ids_of(arch)
            kld = mean_kld(ingot_logits(binary, container, ids, tmp), mlx_logits(back, ids))
            check(kld <= 1e-3, f"{what}: ingot forward of the converted folder vs mlx_lm: mean KL {kld:.3g}")
        print(f"mlx_check: {what}: {len(values)} layers read as MLX's values; exported back byte for byte")


def recipe_checks(binary, tmp):
    hf = os.path.join(tmp, "llama8")
    synthetic_llama(hf)
    ref = os.path.join(tmp, "llama8-mlxlm")
    shutil.rmtree(ref, ignore_errors=True)
    r = run(sys.executable, "-m", "mlx_lm", "convert", "--hf-path", hf, "--mlx-path", ref, "-q", "--q-group-size", "64", "--quant-predicate", "mixed_4_6", "--dtype", "float32")
    check(r.returncode == 0, f"mlx_lm.convert mixed_4_6: {r.stderr.strip()[-400:]}")
    base = os.path.join(tmp, "llama8.ingot")
    q = os.path.join(tmp, "llama8-q.ingot")
    ingot(binary, "convert", hf, "-o", base)
    ingot(binary, "quantize", base, "-o", q, "--for", "mlx", "--recipe", "mixed_4_6")
    ours = os.path.join(tmp, "llama8-mlx")
    shutil.rmtree(ours, ignore_errors=True)
    ingot(binary, "export", q, "--to", "mlx", "-o", ours)
    ca, cb = json.load(open(os.path.join(ref, "config.json"))), json.load(open(os.path.join(ours, "config.json")))
    wa, wb = mlx_weights(ref), mlx_weights(ours)
    layers_a = sorted(n[: -len(".scales")] for n in wa if n.endswith(".scales"))
    layers_b = sorted(n[: -len(".scales")] for n in wb if n.endswith(".scales"))
    check(layers_a == layers_b, "mixed_4_6: the same layers quantized as mlx_lm.convert's")
    six = 0
    for layer in layers_a:
        check(layer_quant(ca, layer) == layer_quant(cb, layer), f"mixed_4_6: {layer}: {layer_quant(cb, layer)} vs mlx_lm's {layer_quant(ca, layer)}")
        six += layer_quant(ca, layer)[0] == 6
    ids = list(range(3, 99))
    kld = mean_kld(ingot_logits(binary, q, ids, tmp), mlx_logits(ours, ids))
    check(kld <= 1e-3, f"mixed_4_6: mlx_lm logits vs ingot forward: mean KL {kld:.3g}")
    print(f"mlx_check: --recipe mixed_4_6 on an 8-layer Llama: {len(layers_a)} layers, {six} at 6 bits, as mlx_lm.convert; mean KL {kld:.2e}")


def refusal_checks(binary, tmp):
    # No config.json: mlx-lm could not build the model.
    bare = os.path.join(tmp, "bare.ingot")
    ingot(binary, "convert", os.path.join(ARCH, "llama3", "model.safetensors"), "-o", bare)
    folder = os.path.join(tmp, "refused")
    r = run(binary, "export", bare, "--to", "mlx", "-o", folder)
    check(r.returncode != 0 and "config.json" in r.stderr, f"export without config.json refused: {r.stderr.strip()}")
    check(not os.path.exists(folder), "a refused export leaves no folder")
    # int8 per channel: f32 scales, exact in MLX's arithmetic only when every
    # product rounds alike; either bit-exact or refused by tensor name.
    base = os.path.join(tmp, "llama3.ingot")
    q = os.path.join(tmp, "int8c.ingot")
    ingot(binary, "quantize", base, "-o", q, "--scheme", "int8", "--force")
    r = run(binary, "export", q, "--to", "mlx", "-o", folder)
    if r.returncode == 0:
        values, _ = dequantized(folder)
        reader = IngotFile(q)
        for name, got in values.items():
            check(np.array_equal(bits_of(got), bits_of(reader.array(name))), f"int8 per channel: {name} bit-exact in MLX")
        shutil.rmtree(folder)
    else:
        check("no exact MLX form" in r.stderr and ".weight" in r.stderr, f"int8 per channel refused by tensor name: {r.stderr.strip()}")
        check(not os.path.exists(os.path.join(folder, "model.safetensors")), "a refused export leaves no weights")
        shutil.rmtree(folder, ignore_errors=True)
    # A tampered mlx-lm folder: the config's width does not fit the words.
    src = os.path.join(tmp, "llama3-mlxlm-bad")
    shutil.rmtree(src, ignore_errors=True)
    r = run(sys.executable, "-m", "mlx_lm", "convert", "--hf-path", os.path.join(ARCH, "llama3"), "--mlx-path", src, "-q", "--q-group-size", "32", "--dtype", "float32")
    check(r.returncode == 0, "mlx_lm.convert for the tampered folder")
    cfg = json.load(open(os.path.join(src, "config.json")))
    cfg["quantization"]["model.layers.0.self_attn.q_proj"] = {"bits": 8, "group_size": 32}
    json.dump(cfg, open(os.path.join(src, "config.json"), "w"))
    r = run(binary, "convert", src, "-o", os.path.join(tmp, "bad.ingot"))
    check(r.returncode != 0 and "model.layers.0.self_attn.q_proj.weight" in r.stderr, f"a layer whose words do not fit its config refused by name: {r.stderr.strip()}")
    cfg["quantization"] = {"group_size": 32, "bits": 4, "mode": "mxfp4"}
    json.dump(cfg, open(os.path.join(src, "config.json"), "w"))
    r = run(binary, "convert", src, "-o", os.path.join(tmp, "bad.ingot"))
    check(r.returncode != 0 and "quantization.mode" in r.stderr, f"a mode ingot does not read refused by key: {r.stderr.strip()}")
    print("mlx_check: refusals: no config, inexact int8 scales, words that do not fit, an unread mode")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        export_checks(binary, tmp)
        import_checks(binary, tmp)
        recipe_checks(binary, tmp)
        refusal_checks(binary, tmp)
    print(f"mlx_check: {checklib.checks} checks passed (ingot vs mlx {mx.__version__} and mlx-lm {mlx_lm.__version__})")


if __name__ == "__main__":
    main()
