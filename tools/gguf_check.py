#!/usr/bin/env python3
"""Check `ingot convert GGUF` and `ingot export --to gguf` against llama.cpp
itself (llama-cpp-python) and gguf-py.

usage: .venv/bin/python tools/gguf_check.py PATH/TO/ingot
(tools/test installs llama-cpp-python and gguf into the project's .venv.)

  - Round trip: every GGUF fixture (llama.cpp's converter output for each
    architecture fixture, and ../shared's all-types file), converted with
    native blocks and exported again, holds every tensor with the same type,
    shape and bytes, and the same keys with the same wire types and values,
    besides the ingot.* keys; llama.cpp's logits from the two are identical.
  - HF-born exports: each architecture fixture's Hugging Face folder,
    exported, holds the tensors llama.cpp's converter wrote for it, and
    llama.cpp's logits agree with `ingot forward` on the same container
    (mean KLD ≤ 1e-3) for f32, Q8_0, Q4_0, Q4_K and the q4_k_m recipe
    (the k-quants on a synthetic Llama whose rows hold 256-value blocks).
  - ggml's own dequantization (gguf-py) of every block type our quantizers
    write equals ingot's, bit for bit.
  - The exported vocabulary tokenizes corpus lines in llama.cpp as Hugging
    Face tokenizers does from the original tokenizer.json.
  - Crafted GGUFs (an unknown block type, a block count that does not match
    the shape, a row that is not whole blocks) are refused by tensor name;
    an encoding without a GGUF form is refused by name on export.
Exits 1 on the first mismatch.
"""
import json
import os
import struct
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from ingot_read import IngotFile, ggml_dequantize  # noqa: E402
from benchlib import synthetic_llama  # noqa: E402

import gguf  # noqa: E402

try:
    import llama_cpp
except ImportError:
    llama_cpp = None

import checklib  # noqa: E402
from checklib import check, ingot, llama_embeddings, llama_logits, mean_kld, run  # noqa: E402

checklib.name = "gguf_check"
ARCH = os.path.join(ROOT, "Tests", "IngotTests", "Fixtures", "arch")
SHARED = os.path.join(os.path.dirname(ROOT), "shared")












def fields(path):
    r = gguf.GGUFReader(path)
    out = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF."):
            continue
        out[k] = (tuple(int(t) for t in f.types), [bytes(f.parts[i]) for i in f.data])
    return out, {t.name: (t.tensor_type.name, [int(d) for d in t.shape], bytes(np.asarray(t.data).tobytes())) for t in r.tensors}






def llama_quantize(src, dst, ftype):
    """llama.cpp's own quantizer (llama-quantize's library call)."""
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
    check(rc == 0, f"llama_model_quantize {src}: {rc}")
    return {t.name: t.tensor_type.name for t in gguf.GGUFReader(dst).tensors}


def ingot_outputs(binary, container, seqs, tmp):
    out = []
    for s in seqs:
        path = os.path.join(tmp, "ids.npy")
        np.save(path, np.asarray(s, dtype=np.int64))
        o = os.path.join(tmp, "out.npy")
        ingot(binary, "forward", container, "--token-file", path, "-o", o, "--force")
        out.append(np.load(o).reshape(len(s), -1))
    return out


def sequences(folder):
    ids = np.load(os.path.join(folder, "input_ids.npy")).reshape(-1)
    lengths = np.load(os.path.join(folder, "lengths.npy")).reshape(-1)
    seqs, at = [], 0
    for n in lengths:
        seqs.append([int(t) for t in ids[at:at + n]])
        at += int(n)
    return seqs


def round_trip(binary, src, tmp, name, logits_seqs=None):
    c = os.path.join(tmp, name + ".ingot")
    back = os.path.join(tmp, name + ".back.gguf")
    ingot(binary, "convert", src, "-o", c, "--force")
    ingot(binary, "export", c, "--to", "gguf", "-o", back, "--force")
    ka, ta = fields(src)
    kb, tb = fields(back)
    check(sorted(ta) == sorted(tb), f"{name}: round trip keeps every tensor name")
    for t in ta:
        check(ta[t] == tb[t], f"{name}: {t}: same type, shape and bytes after the round trip ({ta[t][:2]} vs {tb[t][:2]})")
    extra = {k for k in kb if k not in ka}
    check(extra == {"ingot.model_digest", "ingot.provenance_head"}, f"{name}: only the ingot.* keys are added ({sorted(extra)})")
    for k in ka:
        check(kb.get(k) == ka[k], f"{name}: key {k} keeps its wire type and value")
    digest = IngotFile(c).model_digest()
    check(kb["ingot.model_digest"][1][0].decode() == digest, f"{name}: ingot.model_digest is the container's")
    if logits_seqs is not None and llama_cpp is not None:
        a, b = llama_logits(src, logits_seqs), llama_logits(back, logits_seqs)
        check(all(np.array_equal(x, y) for x, y in zip(a, b)), f"{name}: llama.cpp's logits from the original and the exported file are identical")
    return c


def main():
    binary = os.path.abspath(sys.argv[1])
    if llama_cpp is None:
        print("gguf_check: llama-cpp-python not installed: the llama.cpp checks are skipped", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        # 1. Round trips of GGUF files written by others.
        all_types = os.path.join(SHARED, "fixtures", "gguf", "all_types.gguf")
        if os.path.exists(all_types):
            round_trip(binary, all_types, tmp, "all_types")
        else:
            print("gguf_check: ../shared not beside the repository: the all-types round trip is skipped", file=sys.stderr)
        decoders = ["llama3", "mistral", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"]
        for arch in decoders + ["bert"]:
            folder = os.path.join(ARCH, arch)
            round_trip(binary, os.path.join(folder, "model.gguf"), tmp, arch, None if arch == "bert" else sequences(folder))

        # 2. Hugging Face folders out to GGUF: the converter's tensors, and
        # llama.cpp's outputs against ours on the same container.
        for arch in decoders + ["bert"]:
            folder = os.path.join(ARCH, arch)
            c = os.path.join(tmp, arch + ".hf.ingot")
            ingot(binary, "convert", folder, "-o", c, "--force")
            out = os.path.join(tmp, arch + ".hf.gguf")
            # Mistral's window: llama.cpp's llama attends over everything, so
            # export says so unless told, and the logits agree up to the window.
            full = ["--full-attention"] if arch == "mistral" else []
            if full:
                r = run(binary, "export", c, "--to", "gguf", "-o", out, "--force")
                check(r.returncode != 0 and "sliding window" in r.stderr, f"mistral: a sliding window llama.cpp cannot run is refused ({r.stderr.strip()})")
            ingot(binary, "export", c, "--to", "gguf", "-o", out, "--force", *full)
            kref, tref = fields(os.path.join(folder, "model.gguf"))
            kours, tours = fields(out)
            check(sorted(tref) == sorted(tours), f"{arch}: the tensors llama.cpp's converter writes ({sorted(set(tref) ^ set(tours))})")
            for t in tref:
                if t == "rope_freqs.weight":  # computed in f32 by two libraries: within 1 ulp
                    a = np.frombuffer(tref[t][2], np.float32)
                    b = np.frombuffer(tours[t][2], np.float32)
                    check(np.allclose(a, b, rtol=1e-6, atol=0), f"{arch}: rope_freqs within 1e-6")
                    continue
                check(tref[t] == tours[t], f"{arch}: {t} equals llama.cpp's converter's, byte for byte")
            # llama.cpp's Qwen converter puts <|endoftext|> into an unused id
            # when the tokenizer lacks it (its own addition, not the tokenizer's).
            tref_tokens, tours_tokens = kref["tokenizer.ggml.tokens"][1], kours["tokenizer.ggml.tokens"][1]
            injected = [i for i, (a, b) in enumerate(zip(tref_tokens, tours_tokens)) if a != b]
            check(len(tref_tokens) == len(tours_tokens) and all(tours_tokens[i] == b"[PAD%d]" % i and arch.startswith("qwen") for i in injected),
                  f"{arch}: tokenizer.ggml.tokens as llama.cpp's converter writes them (differ at {injected[:5]})")
            ours_types = [bytes(b) for b in kours["tokenizer.ggml.token_type"][1]]
            ref_types = [bytes(b) for b in kref["tokenizer.ggml.token_type"][1]]
            check(all(a == b for i, (a, b) in enumerate(zip(ref_types, ours_types)) if i not in injected), f"{arch}: token types as the converter's")
            for k in ("tokenizer.ggml.merges", "tokenizer.ggml.model", "tokenizer.ggml.pre"):
                check(kours.get(k) == kref.get(k), f"{arch}: {k} as llama.cpp's converter writes it")
            if llama_cpp is None:
                continue
            # The q4_k_m recipe gives every tensor the type llama.cpp's
            # Q4_K_M gives it (here: its fallbacks for 64-wide rows).
            if arch != "bert":
                cm = os.path.join(tmp, arch + ".q4km.ingot")
                ingot(binary, "quantize", c, "-o", cm, "--force", "--recipe", "q4_k_m")
                om = os.path.join(tmp, arch + ".q4km.gguf")
                ingot(binary, "export", cm, "--to", "gguf", "-o", om, "--force", *(["--full-attention"] if arch == "mistral" else []))
                ours_types = {t.name: t.tensor_type.name for t in gguf.GGUFReader(om).tensors}
                theirs_types = llama_quantize(os.path.join(folder, "model.gguf"), os.path.join(tmp, "lq.gguf"), 15)
                check(ours_types == theirs_types, f"{arch}: q4_k_m types equal llama.cpp's Q4_K_M ({[(k, ours_types.get(k), v) for k, v in theirs_types.items() if ours_types.get(k) != v][:4]})")
            seqs = sequences(folder)
            if full:
                seqs = [s[:8] for s in seqs]
            if arch == "bert":
                ours, theirs = ingot_outputs(binary, c, seqs, tmp), llama_embeddings(out, seqs)
                worst = min(float(np.dot(a[i], b[i]) / (np.linalg.norm(a[i]) * np.linalg.norm(b[i]))) for a, b in zip(ours, theirs) for i in range(len(a)))
                check(worst > 0.9999, f"bert: llama.cpp's token embeddings equal ingot's (worst cosine {worst:.6f})")
                continue
            # q4_k_m on 64-wide rows is all fallbacks (Q5_0, Q8_0), as in llama.cpp.
            schemes = [("f32", None), ("q8_0", ["--scheme", "q8_0"]), ("q4_0", ["--scheme", "q4_0"]), ("q4_k_m", ["--recipe", "q4_k_m"])]
            for label, args in schemes:
                cq = c
                if args:
                    cq = os.path.join(tmp, f"{arch}.{label}.ingot")
                    extra = [] if "--recipe" in args else ["--embeddings", "quantize", "--output-head", "quantize"]
                    ingot(binary, "quantize", c, "-o", cq, "--force", *args, *extra)
                    ingot(binary, "export", cq, "--to", "gguf", "-o", out, "--force", *full)
                kld = max(mean_kld(a, b) for a, b in zip(ingot_outputs(binary, cq, seqs, tmp), llama_logits(out, seqs)))
                check(kld <= 1e-3, f"{arch} {label}: llama.cpp agrees with ingot's forward pass on the same container (mean KLD {kld:.2e})")
                print(f"gguf_check: {arch} {label}: mean KLD llama.cpp vs ingot {kld:.2e}")

        # 3. k-quants need 256-value rows: a synthetic Llama that has them.
        syn = os.path.join(tmp, "syn")
        synthetic_llama(syn, layers=2, hidden=256, ffn=512, vocab=384, heads=4, kv=2, hd=64)
        cs = os.path.join(tmp, "syn.ingot")
        ingot(binary, "convert", syn, "-o", cs, "--force")
        rng = np.random.default_rng(3)
        seqs = [[int(t) for t in rng.integers(2, 384, 40)], [int(t) for t in rng.integers(2, 384, 17)]]
        for label, args in [("f32", []), ("q8_0", ["--scheme", "q8_0"]), ("q4_k", ["--scheme", "q4_k", "--embeddings", "quantize", "--output-head", "quantize"]), ("q5_k", ["--scheme", "q5_k"]),
                            ("q6_k", ["--scheme", "q6_k"]), ("iq4_xs", ["--scheme", "iq4_xs"]), ("iq4_nl", ["--scheme", "iq4_nl"]),
                            ("q5_0", ["--scheme", "q5_0"]), ("q5_1", ["--scheme", "q5_1"]), ("q4_1", ["--scheme", "q4_1"]), ("q4_k_m", ["--recipe", "q4_k_m"])]:
            cq = os.path.join(tmp, f"syn.{label}.ingot")
            if args:
                ingot(binary, "quantize", cs, "-o", cq, "--force", *args)
            else:
                cq = cs
            out = os.path.join(tmp, f"syn.{label}.gguf")
            ingot(binary, "export", cq, "--to", "gguf", "-o", out, "--force")
            # gguf-py's dequantization of our blocks equals ingot's.
            f = IngotFile(cq)
            r = gguf.GGUFReader(out)
            for t in r.tensors:
                if t.tensor_type.name in ("F32", "F16", "BF16"):
                    continue
                ref = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32).reshape(-1)
                ours = ggml_dequantize(t.tensor_type.name, bytes(np.asarray(t.data).tobytes()), ref.size)
                check(np.array_equal(ref.view(np.uint32), ours.view(np.uint32)), f"syn {label}: {t.name}: gguf-py's dequantization equals ingot_read.py's")
            if label == "q4_k_m":
                types = {t.name: t.tensor_type.name for t in r.tensors}
                more = [i for i in range(2) if i < 2 // 8 or i >= 7 * 2 // 8 or (i - 2 // 8) % 3 == 2]
                for i in range(2):
                    want = "Q6_K" if i in more else "Q4_K"
                    check(types[f"blk.{i}.attn_v.weight"] == want and types[f"blk.{i}.ffn_down.weight"] == want, f"q4_k_m: layer {i} attn_v/ffn_down are {want}")
                    check(types[f"blk.{i}.attn_q.weight"] == "Q4_K", f"q4_k_m: layer {i} attn_q is Q4_K")
                check(types["output.weight"] == "Q6_K" and types["token_embd.weight"] == "Q4_K", "q4_k_m: output Q6_K, token_embd Q4_K")
                if llama_cpp is not None:
                    f32 = os.path.join(tmp, "syn.f32.gguf")
                    ingot(binary, "export", cs, "--to", "gguf", "-o", f32, "--force")
                    theirs_types = llama_quantize(f32, os.path.join(tmp, "syn.lq.gguf"), 15)
                    check(types == theirs_types, f"synthetic llama: q4_k_m types equal llama.cpp's Q4_K_M")
                    check(os.path.getsize(os.path.join(tmp, "syn.lq.gguf")) - os.path.getsize(out) in range(-4096, 4097),
                          "synthetic llama: q4_k_m file size within the keys' difference of llama.cpp's")
                ftype = r.fields["general.file_type"]
                check(int(ftype.parts[ftype.data[0]][0]) == 15, "q4_k_m: general.file_type is MOSTLY_Q4_K_M (15)")
            if llama_cpp is not None:
                # llama.cpp multiplies k-quant blocks by activations it first
                # rounds to 8 bits per 256 values (Q8_K); on this random model
                # that alone costs ~1e-3 (Q8_0's per-32 rounding: 6e-4), so
                # the k-quants get twice the float budget.
                bound = 1e-3 if label in ("f32", "q8_0", "q4_1", "q5_0", "q5_1", "iq4_nl") else 2e-3
                kld = max(mean_kld(a, b) for a, b in zip(ingot_outputs(binary, cq, seqs, tmp), llama_logits(out, seqs)))
                check(kld <= bound, f"synthetic llama {label}: llama.cpp agrees with ingot's forward pass (mean KLD {kld:.2e} ≤ {bound:g})")
                print(f"gguf_check: synthetic llama {label}: mean KLD llama.cpp vs ingot {kld:.2e}")

        # 4. Tokenization: the exported vocabulary in llama.cpp against HF
        # tokenizers on the original tokenizer.json.
        corpus = os.path.join(SHARED, "corpus")
        if llama_cpp is not None and os.path.isdir(corpus):
            from tokenizers import Tokenizer
            hf = Tokenizer.from_file(os.path.join(ARCH, "llama3", "tokenizer.json"))
            llm = llama_cpp.Llama(os.path.join(tmp, "llama3.hf.gguf"), vocab_only=True, verbose=False)
            lines = []
            for name in sorted(os.listdir(corpus)):
                with open(os.path.join(corpus, name), encoding="utf-8", errors="replace") as fh:
                    lines += [l.rstrip("\n") for l in fh if l.strip()][:150]
            for line in lines:
                want = hf.encode(line, add_special_tokens=False).ids
                got = llm.tokenize(line.encode(), add_bos=False, special=False)
                check(got == want, f"exported vocabulary: llama.cpp tokenizes {line[:40]!r} as HF does")
            del llm
        else:
            print("gguf_check: the corpus tokenization check is skipped (needs ../shared/corpus and llama-cpp-python)", file=sys.stderr)

        # 5. Refusals, by tensor name.
        def gguf_file(path, tensors):
            """tensors: (name, dims innermost first, type id, data bytes)."""
            def gstr(s):
                return struct.pack("<Q", len(s.encode())) + s.encode()
            head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 1) + gstr("general.architecture") + struct.pack("<I", 8) + gstr("llama")
            offset, blobs = 0, b""
            for name, dims, t, data in tensors:
                head += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", t, offset)
                blob = data + b"\0" * (-len(data) % 32)
                blobs += blob
                offset += len(blob)
            open(path, "wb").write(head + b"\0" * (-len(head) % 32) + blobs)
        cases = [("unknown block type", [("w.weight", [32, 2], 99, b"\0" * 64)], "w.weight"),
                 ("block count short of the shape", [("q.weight", [256, 2], 12, b"\0" * 144)], "q.weight"),
                 ("row not whole blocks", [("r.weight", [48, 2], 8, b"\0" * 102)], "r.weight")]
        for what, tensors, name in cases:
            path = os.path.join(tmp, "bad.gguf")
            gguf_file(path, tensors)
            r = run(binary, "convert", path, "-o", os.path.join(tmp, "bad.ingot"), "--force")
            check(r.returncode != 0 and name in r.stderr, f"a GGUF with {what} is refused by tensor name on import ({r.stderr.strip()})")
        cq = os.path.join(tmp, "q6.ingot")
        ingot(binary, "quantize", os.path.join(tmp, "llama3.hf.ingot"), "-o", cq, "--force", "--scheme", "int4", "--scales", "q6")
        r = run(binary, "export", cq, "--to", "gguf", "-o", os.path.join(tmp, "no.gguf"), "--force")
        check(r.returncode != 0 and "model.layers.0" in r.stderr and not os.path.exists(os.path.join(tmp, "no.gguf")),
              f"int4 with q6 scales has no GGUF form: refused by tensor name, no file left ({r.stderr.strip()})")
        ingot(binary, "export", cq, "--to", "gguf", "-o", os.path.join(tmp, "f16.gguf"), "--force", "--dtype", "f16")
    print(f"gguf_check: {checklib.checks} checks passed (llama.cpp {'ran' if llama_cpp else 'not installed'})")


if __name__ == "__main__":
    main()
