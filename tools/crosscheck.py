#!/usr/bin/env python3
"""Cross-check the Swift `ingot` binary against the reference libraries' numbers
and against tools/ingot_read.py, an independent reader written from the spec.

usage: tools/crosscheck.py PATH/TO/ingot

Checks, on the fixtures in Tests/IngotTests/Fixtures:
  - every all_dtypes tensor read by ingot_read.py equals the .npy values the
    reference library saved, and every digest equals MANIFEST's sha256_raw_le;
  - the sharded Llama's digests equal MANIFEST's;
  - ingot_read.py recomputes the same tensor and model digests as `ingot verify`;
  - --dtype f16 equals numpy's astype(float16) (IEEE round-to-nearest-even);
  - --dtype bf16 equals round-to-nearest-even computed here on the f32 bits;
  - `ingot export` writes a safetensors file whose tensors equal the original
    (read with the `safetensors` package when installed, by hand otherwise).
Exits 1 on the first mismatch.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from ingot_read import IngotFile  # noqa: E402

FIX = os.path.join(ROOT, "Tests", "IngotTests", "Fixtures")
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        print(f"crosscheck: FAIL: {what}", file=sys.stderr)
        sys.exit(1)


def ingot(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    check(r.returncode == 0, f"ingot {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def same(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def bf16_rne(x):
    """f32 → bf16 bits, round to nearest even, NaN made quiet."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    rounded[nan] = ((bits[nan] >> 16).astype(np.uint16)) | 0x0040
    return rounded


def read_safetensors(path):
    try:
        from safetensors.numpy import load_file  # the reference reader, if present
        return load_file(path), "safetensors package"
    except ImportError:
        pass
    except TypeError:  # numpy has no bfloat16 / float8: read those files by hand
        pass
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    kinds = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
    out = {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        buf = raw[8 + n + lo : 8 + n + hi]
        if t["dtype"] in kinds:
            out[name] = np.frombuffer(buf, dtype=kinds[t["dtype"]]).reshape(t["shape"])
        else:
            out[name] = np.frombuffer(buf, dtype=np.uint8)
    return out, "hand parser"


def write_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a).astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_gguf_tensors(path):
    """name -> (gguf-py type name, data bytes), from a GGUF v3 file (own parser)."""
    names = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 10: "Q2_K", 11: "Q3_K",
             12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 20: "IQ4_NL", 23: "IQ4_XS", 30: "BF16"}
    blocks = {"F32": (1, 4), "F16": (1, 2), "BF16": (1, 2), "Q4_0": (32, 18), "Q4_1": (32, 20), "Q5_0": (32, 22),
              "Q5_1": (32, 24), "Q8_0": (32, 34), "Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144),
              "Q5_K": (256, 176), "Q6_K": (256, 210), "Q8_K": (256, 292), "IQ4_NL": (32, 18), "IQ4_XS": (256, 136)}
    data = open(path, "rb").read()
    pos = [24]
    n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)
    def take(fmt):
        v = struct.unpack_from(fmt, data, pos[0])
        pos[0] += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v
    def string():
        n = take("<Q")
        pos[0] += n
        return data[pos[0] - n:pos[0]].decode()
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("<I"), take("<Q")
            return [value(et) for _ in range(n)]
        pos[0] += sizes[t]
    align = 32
    for _ in range(n_kv):
        key = string()
        t = take("<I")
        at = pos[0]
        value(t)
        if key == "general.alignment":
            align = struct.unpack_from("<I", data, at)[0]
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("<Q") for _ in range(take("<I"))]
        infos.append((name, dims, names[take("<I")], take("<Q")))
    start = (pos[0] + align - 1) // align * align
    out = {}
    for name, dims, t, off in infos:
        per, size = blocks[t]
        count = 1
        for d in dims:
            count *= d
        out[name] = (t, data[start + off:start + off + count // per * size])
    return out


def main():
    binary = sys.argv[1]
    manifest = json.load(open(os.path.join(FIX, "MANIFEST.json")))["fixtures"]
    with tempfile.TemporaryDirectory() as tmp:
        # 1. every dtype, against the reference values and digests
        src = os.path.join(FIX, "safetensors", "all_dtypes.safetensors")
        out = os.path.join(tmp, "all.ingot")
        ingot(binary, "convert", src, "-o", out)
        f = IngotFile(out)
        check(f.verify() == [], "ingot_read verify of all.ingot")
        want = manifest["safetensors/all_dtypes.safetensors"]["tensors"]
        check(sorted(f.names()) == sorted(want), "tensor names")
        for name, w in want.items():
            check(hashlib.sha256(f.payload(name)).hexdigest() == w["sha256_raw_le"], f"{name}: digest")
            expected = np.load(os.path.join(FIX, w["values_as_f64"]))
            check(same(f.array(name), expected), f"{name}: values")
        swift = json.loads(ingot(binary, "verify", out, "--json"))
        check(swift["ok"] and swift["model_digest"] == f.model_digest(), "model digest: Swift vs Python")
        listing = json.loads(ingot(binary, "inspect", out, "--json"))["header"]["tensors"]
        for t in listing:
            check(hashlib.sha256(f.payload(t["name"])).hexdigest() == t["digest"], f"{t['name']}: Swift digest")

        # 2. sharded model
        out2 = os.path.join(tmp, "llama.ingot")
        ingot(binary, "convert", os.path.join(FIX, "safetensors", "sharded-llama"), "-o", out2)
        g = IngotFile(out2)
        check(g.verify() == [], "ingot_read verify of llama.ingot")
        for name, w in manifest["safetensors/sharded-llama"]["tensors"].items():
            check(hashlib.sha256(g.payload(name)).hexdigest() == w["sha256_raw_le"], f"sharded {name}")
        check("files/config.json" in g.header["metadata"], "config.json kept")

        # 3. casts, against numpy
        # Random normals at several scales, ties, overflow, subnormals, ±Inf, NaN.
        rng = np.random.default_rng(7)
        values = np.concatenate([
            rng.standard_normal(4096) * 10.0 ** rng.integers(-9, 6, 4096),
            [1 + 2**-11, 1 + 3 * 2**-11, 1 + 2**-8, 1 + 3 * 2**-8, 65504, 65519, 65520, 1e6, 2**-25, 3 * 2**-25,
             1e-40, -0.0, np.inf, -np.inf, np.nan]]).astype(np.float32)
        st = os.path.join(tmp, "specials.safetensors")
        write_safetensors(st, {"x": values})
        for dtype in ("f16", "bf16"):
            cast = os.path.join(tmp, f"{dtype}.ingot")
            ingot(binary, "convert", st, "-o", cast, "--dtype", dtype)
            got = np.frombuffer(IngotFile(cast).payload("x"), dtype="<u2")
            with np.errstate(over="ignore"):
                ref = values.astype(np.float16).view(np.uint16) if dtype == "f16" else bf16_rne(values)
            finite = ~np.isnan(values)
            check(np.array_equal(got[finite], ref[finite]), f"--dtype {dtype}: bits vs numpy round-to-nearest-even")
            nan_bits = got[~finite]
            exp_mask, man_mask = (0x7C00, 0x03FF) if dtype == "f16" else (0x7F80, 0x007F)
            check(all((b & exp_mask) == exp_mask and (b & man_mask) != 0 for b in nan_bits), f"--dtype {dtype}: NaN stays NaN")
            # bf16 → f32 is exact, so a second cast back gives the bf16 values widened.
            if dtype == "bf16":
                wide = os.path.join(tmp, "wide.ingot")
                ingot(binary, "convert", cast, "-o", wide, "--dtype", "f32")
                widened = np.frombuffer(IngotFile(wide).payload("x"), dtype="<u4")
                check(np.array_equal(widened, got.astype(np.uint32) << 16), "bf16 → f32 is exact")

        # 4. quantized containers: ingot_read.py dequantizes every scheme to the
        #    same float32 bits as the Swift exporter, and the report's SQNR
        #    recomputed here from the original values agrees to 0.01 dB.
        rng = np.random.default_rng(11)
        mats = {"a.weight": (rng.standard_normal((64, 256)) * 0.05).astype(np.float32),
                "b.weight": (rng.standard_normal((96, 384)) * 0.02).astype(np.float32),
                "c.weight": (rng.standard_normal((16, 96)) * 0.1).astype(np.float32),
                "norm.weight": np.ones(64, dtype=np.float32)}
        qsrc = os.path.join(tmp, "mats.safetensors")
        write_safetensors(qsrc, mats)
        schemes = [["--scheme", "int8"], ["--scheme", "int8", "--group-size", "32"],
                   ["--scheme", "int4"], ["--scheme", "int4", "--scales", "f16"],
                   ["--scheme", "int4", "--symmetric"], ["--scheme", "int4", "--group-size", "64", "--no-search"],
                   ["--scheme", "int4", "--symmetric", "--group-size", "128"]]
        for args in schemes:
            qout = os.path.join(tmp, "q.ingot")
            report = json.loads(ingot(binary, "quantize", qsrc, "-o", qout, "--force", "--json", *args))
            qf = IngotFile(qout)
            check(qf.verify() == [], f"{args}: ingot_read verify")
            back_q = os.path.join(tmp, "q.safetensors")
            ingot(binary, "export", qout, "--to", "safetensors", "-o", back_q, "--force")
            exported, _ = read_safetensors(back_q)
            for t in report["tensors"]:
                name = t["name"]
                mine = qf.array(name)
                check(np.array_equal(mine.view(np.uint32), np.ascontiguousarray(exported[name]).view(np.uint32)),
                      f"{args} {name}: Python dequantization == Swift export, bit for bit")
                x = mats[name].astype(np.float64)
                e = x - mine.astype(np.float64)
                sqnr = 10 * np.log10((x * x).sum() / (e * e).sum())
                check(abs(sqnr - t["sqnr_db"]) < 0.01, f"{args} {name}: SQNR {t['sqnr_db']} vs recomputed {sqnr}")
            check({k["name"] for k in report["kept"]} >= {"norm.weight"}, f"{args}: 1-D tensor kept")

        # 5. compressed containers: ingot_read.py decompresses every chunk
        #    (zstandard package) to the same payloads; digests unchanged.
        try:
            import zstandard  # noqa: F401
            have_zstd = True
        except ImportError:
            have_zstd = False
            print("crosscheck: zstandard not installed; compressed-container checks skipped", file=sys.stderr)
        if have_zstd:
            for src_path in (out, os.path.join(tmp, "q.ingot"), os.path.join(tmp, "f16.ingot"), os.path.join(tmp, "bf16.ingot")):
                z = src_path + ".z.ingot"
                ingot(binary, "compress", src_path, "-o", z, "--chunk-size", "4096", "--force")
                a, b = IngotFile(src_path), IngotFile(z)
                check(b.verify() == [], f"{z}: ingot_read verify of a compressed container")
                check(b.model_digest() == a.model_digest(), f"{z}: model digest unchanged by compression")
                for name in a.names():
                    check(a.payload(name) == b.payload(name), f"{z} {name}: payload after decompression")
                    check(np.array_equal(np.asarray(a.array(name)), np.asarray(b.array(name)), equal_nan=True), f"{z} {name}: values")

        # 6. NumPy: every fixture converts to the values numpy loads.
        for fname in sorted(os.listdir(os.path.join(FIX, "numpy"))):
            src_np = os.path.join(FIX, "numpy", fname)
            dst = os.path.join(tmp, fname + ".ingot")
            ingot(binary, "convert", src_np, "-o", dst)
            g = IngotFile(dst)
            check(g.verify() == [], f"{fname}: verify")
            arrays = dict(np.load(src_np)) if fname.endswith(".npz") else {fname[:-4]: np.load(src_np)}
            check(sorted(arrays) == sorted(g.names()), f"{fname}: array names")
            for k, v in arrays.items():
                mine = g.array(k)
                check(mine.shape == v.shape and np.array_equal(mine, v.astype(v.dtype.newbyteorder("<"))), f"{fname} {k}: values equal to numpy's")

        # 7. GGUF written here the way llama.cpp's converter writes a Llama
        #    (its names, q/k rows permuted with its own numpy expression):
        #    ingot's default --names hf must give back the original tensors.
        llama = os.path.join(FIX, "models", "tiny-llama")
        cfg = json.load(open(os.path.join(llama, "config.json")))
        orig = read_safetensors(os.path.join(llama, "model.safetensors"))[0]
        n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        def permute(w, n_head, n_head_kv):  # llama.cpp convert_hf_to_gguf.py
            if n_head_kv is not None and n_head != n_head_kv:
                n_head = n_head_kv
            return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
        names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"}
        per = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
               "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
               "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
        tensors = []
        for hf, w in sorted(orig.items()):
            w = np.ascontiguousarray(w, dtype=np.float32)
            if hf in names:
                g = names[hf]
            else:
                parts = hf.split(".")
                g = "blk.%s.%s.%s" % (parts[2], per[".".join(parts[3:-1])], parts[-1])
            if hf.endswith("q_proj.weight"):
                w = permute(w, n_head, n_head)
            if hf.endswith("k_proj.weight"):
                w = permute(w, n_head, n_kv)
            tensors.append((g, w))
        def gstr(x):
            return struct.pack("<Q", len(x.encode())) + x.encode()
        kv = [gstr("general.architecture") + struct.pack("<I", 8) + gstr("llama"),
              gstr("llama.attention.head_count") + struct.pack("<I", 4) + struct.pack("<I", n_head),
              gstr("llama.attention.head_count_kv") + struct.pack("<I", 4) + struct.pack("<I", n_kv)]
        # The keys llama.cpp's converter writes for the config (u32 = 4, f32 = 6).
        kv += [gstr("llama." + k) + struct.pack("<I", 4) + struct.pack("<I", cfg[c]) for k, c in
               [("context_length", "max_position_embeddings"), ("embedding_length", "hidden_size"),
                ("block_count", "num_hidden_layers"), ("feed_forward_length", "intermediate_size")]]
        kv += [gstr("llama.attention.layer_norm_rms_epsilon") + struct.pack("<If", 6, cfg["rms_norm_eps"]),
               gstr("llama.rope.freq_base") + struct.pack("<If", 6, cfg["rope_parameters"]["rope_theta"])]
        out_g = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + b"".join(kv)
        offset, blobs = 0, []
        for g, w in tensors:
            out_g += gstr(g) + struct.pack("<I", w.ndim) + b"".join(struct.pack("<Q", d) for d in reversed(w.shape)) + struct.pack("<IQ", 0, offset)
            blob = w.tobytes() + b"\0" * (-w.nbytes % 32)
            blobs.append(blob)
            offset += len(blob)
        out_g += b"\0" * (-len(out_g) % 32) + b"".join(blobs)
        gpath = os.path.join(tmp, "tiny-llama.gguf")
        open(gpath, "wb").write(out_g)
        ingot(binary, "convert", gpath, "-o", os.path.join(tmp, "gl.ingot"))
        gl = IngotFile(os.path.join(tmp, "gl.ingot"))
        check(sorted(gl.names()) == sorted(orig), "GGUF llama: Hugging Face names")
        for hf, w in orig.items():
            check(np.array_equal(gl.array(hf), w), f"GGUF llama {hf}: equals the original (q/k un-permuted)")
        # ... and it runs: our forward pass on the GGUF-born container gives
        # the logits transformers computed for the original checkpoint.
        ids = np.load(os.path.join(llama, "input_ids.npy")).reshape(-1)
        ingot(binary, "forward", os.path.join(tmp, "gl.ingot"), "--tokens", ",".join(str(int(t)) for t in ids),
              "-o", os.path.join(tmp, "gl-logits.npy"))
        got, want_logits = np.load(os.path.join(tmp, "gl-logits.npy")), np.load(os.path.join(llama, "expected_logits.npy"))
        check(got.shape == want_logits.reshape(got.shape).shape and float(np.abs(got - want_logits.reshape(got.shape)).max()) <= 1e-4,
              "GGUF-born llama: forward logits equal transformers' within 1e-4")
        ingot(binary, "convert", gpath, "-o", os.path.join(tmp, "gg.ingot"), "--names", "gguf")
        gg = IngotFile(os.path.join(tmp, "gg.ingot"))
        check(np.array_equal(gg.array("blk.0.attn_q.weight"), dict(tensors)["blk.0.attn_q.weight"]), "--names gguf keeps llama.cpp rows")

        # GGUF blocks kept native (the default): every type in ggml's own
        # bytes, the digest the SHA-256 of the GGUF tensor data, and
        # ingot_read.py's dequantization gguf-py's values, bit for bit.
        native = os.path.join(tmp, "native.ingot")
        ingot(binary, "convert", os.path.join(FIX, "gguf", "all_types.gguf"), "-o", native)
        nf = IngotFile(native)
        gwant = manifest["gguf/all_types.gguf"]["tensors"]
        gfile = read_gguf_tensors(os.path.join(FIX, "gguf", "all_types.gguf"))
        for name, (gtype, data) in sorted(gfile.items()):
            if gtype in ("F32", "F16", "BF16"):
                continue
            check(nf.tensors[name]["encoding"] == {"kind": "ggml", "type": gtype}, f"native {name}: stored as ggml {gtype}")
            check(nf.tensors[name]["digest"] == hashlib.sha256(data).hexdigest(), f"native {name}: digest is the GGUF bytes' SHA-256")
            ref = np.load(os.path.join(FIX, gwant[name]["dequantized_f32"]))
            check(np.array_equal(nf.array(name).view(np.uint32), ref.astype(np.float32).view(np.uint32)),
                  f"native {name}: Python dequantization equals gguf-py's, bit for bit")

        # 8. export back out
        back = os.path.join(tmp, "back.safetensors")
        ingot(binary, "export", out, "--to", "safetensors", "-o", back)
        tensors, how = read_safetensors(back)
        with open(back, "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            meta = json.loads(fh.read(n))["__metadata__"]
        check(meta.get("format") == "pt", "exported __metadata__.format")
        for name in want:
            check(hashlib.sha256(np.ascontiguousarray(tensors[name]).tobytes()).hexdigest() == want[name]["sha256_raw_le"],
                  f"export {name} ({how})")

        # 9. The CycloneDX ML-BOM of a converted, quantized, compressed and
        #    signed model validates against the official CycloneDX 1.6 JSON
        #    schema (strict), via cyclonedx-python-lib when it is installed.
        try:
            from cyclonedx.schema import SchemaVersion
            from cyclonedx.validation.json import JsonStrictValidator
        except ImportError:
            JsonStrictValidator = None
            print("crosscheck: cyclonedx-python-lib not installed; CycloneDX schema check skipped", file=sys.stderr)
        if JsonStrictValidator is not None:
            steps = [os.path.join(tmp, f"bom{i}.ingot") for i in range(3)]
            ingot(binary, "convert", llama, "-o", steps[0])
            ingot(binary, "quantize", steps[0], "-o", steps[1], "--scheme", "int4")
            ingot(binary, "compress", steps[1], "-o", steps[2])
            key = os.path.join(tmp, "bom-key")
            ingot(binary, "keygen", "-o", key)
            ingot(binary, "sign", steps[2], "--key", key)
            bom = ingot(binary, "inspect", steps[2], "--format", "cyclonedx")
            errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom)
            check(errors is None, f"CycloneDX 1.6 schema: {errors}")
            model = [c for c in json.loads(bom)["components"] if c["type"] == "machine-learning-model"][0]
            digest = hashlib.sha256(open(steps[2], "rb").read()).hexdigest()
            check({"alg": "SHA-256", "content": digest} in model["hashes"], "CycloneDX: the file's SHA-256")
    print(f"crosscheck: {checks} checks passed (Swift binary vs reference values, numpy casts and tools/ingot_read.py)")


if __name__ == "__main__":
    main()
