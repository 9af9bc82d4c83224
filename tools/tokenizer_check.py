#!/usr/bin/env python3
"""Check `ingot tokenize` against the reference tokenizers, line by line.

usage: .venv/bin/python tools/tokenizer_check.py PATH/TO/ingot LLAMA_CPP_MODELS
(tools/test runs it; LLAMA_CPP_MODELS is what tools/fetch-llama-cpp prints.)

  - llama.cpp's own tokenizer suite: every models/ggml-vocab-*.gguf with its
    .inp/.out (ids written by the models' Hugging Face tokenizers), every
    test, ids identical; a vocabulary type ingot does not read is refused by
    its key;
  - llama-cpp-python's Llama.tokenize on the same GGUFs, for the suite's
    inputs and every corpus line (when llama_cpp is installed);
  - Hugging Face `tokenizers` on every line of ../shared/corpus (English and
    multilingual) for every tokenizer.json in the fixtures, MiniLM's, and
    tokenizer.json files rebuilt from the suite's Llama 3, Qwen2, GPT-2 and
    BERT vocabularies with the pre-tokenizers their models publish: ids
    identical, and decode gives the same text.
Exits 1 on the first mismatch.
"""
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        print(f"tokenizer_check: FAIL: {what}", file=sys.stderr)
        sys.exit(1)


def ingot_batch(binary, model, texts, tmp, *flags):
    path = os.path.join(tmp, "batch.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(texts, fh, ensure_ascii=False)
    r = subprocess.run([binary, "tokenize", model, "--batch", path, *flags], capture_output=True, text=True)
    check(r.returncode == 0, f"ingot tokenize {model}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def corpus_lines():
    lines = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.txt"))):
        with open(path, encoding="utf-8") as fh:
            lines += [l for l in fh.read().split("\n") if l]
    return lines


def suite(models):
    """(gguf path, inputs, expected ids) for each vocabulary with tests."""
    out = []
    for inp in sorted(glob.glob(os.path.join(models, "ggml-vocab-*.gguf.inp"))):
        gguf = inp[: -len(".inp")]
        texts = open(inp, encoding="utf-8").read().split("\n__ggml_vocab_test__\n")
        if texts and texts[-1].strip() == "":
            texts = texts[:-1]
        texts[-1] = texts[-1].removesuffix("\n__ggml_vocab_test__")
        lines = open(gguf + ".out", encoding="utf-8").read().split("\n")
        want = [[int(x) for x in l.split()] for l in lines[: len(texts)]]
        out.append((gguf, texts, want))
    return out


# Vocabulary models ingot does not read yet, refused by this key (none now).
UNSUPPORTED = {}


def llama_cpp_suite(binary, models, tmp):
    for gguf, texts, want in suite(models):
        name = os.path.basename(gguf)
        kind = gguf_keys(gguf)["tokenizer.ggml.model"]
        if kind in UNSUPPORTED:
            r = subprocess.run([binary, "tokenize", gguf, "--text", "x"], capture_output=True, text=True)
            check(r.returncode != 0 and UNSUPPORTED[kind] in r.stderr, f"{name}: model '{kind}' refused by {UNSUPPORTED[kind]}: {r.stderr.strip()}")
            print(f"tokenizer_check: {name}: tokenizer model '{kind}' not implemented; refused by its key")
            continue
        got = ingot_batch(binary, gguf, texts, tmp, "--no-special")
        for t, w, g in zip(texts, want, got):
            check(g == w, f"{name}: {t!r}: llama.cpp's test wants {w}, ingot gives {g}")
        print(f"tokenizer_check: {name}: {len(texts)}/{len(texts)} of llama.cpp's tests identical")


def llama_cpp_python(binary, models, tmp, lines):
    try:
        import llama_cpp
    except ImportError:
        print("tokenizer_check: llama-cpp-python not installed; Llama.tokenize comparison skipped")
        return
    for gguf, texts, _ in suite(models):
        name = os.path.basename(gguf)
        if gguf_keys(gguf)["tokenizer.ggml.model"] in UNSUPPORTED:
            continue
        try:
            llm = llama_cpp.Llama(model_path=gguf, vocab_only=True, verbose=False)
        except Exception as e:  # a vocabulary this llama.cpp build does not know
            print(f"tokenizer_check: {name}: llama-cpp-python cannot load it ({e}); skipped")
            continue
        inputs = texts + lines
        try:
            got = ingot_batch(binary, gguf, inputs, tmp, "--no-special")
        except SystemExit:
            raise
        n = 0
        started = time.time()
        for t, g in zip(inputs, got):
            w = llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) if t else []
            check(g == w, f"{name}: {t[:80]!r}: llama_cpp.Llama.tokenize gives {w[:20]}, ingot {g[:20]}")
            n += 1
        print(f"tokenizer_check: {name}: {n} texts identical to llama_cpp.Llama.tokenize ({time.time() - started:.1f} s)")
        del llm


_gguf_cache = {}


def gguf_keys(path):
    """A GGUF's metadata as a dict (strings, numbers and arrays of them),
    read from the spec directly: gguf-py's reader takes 20 s on a 256k vocabulary."""
    if path in _gguf_cache:
        return _gguf_cache[path]
    import struct
    data = open(path, "rb").read()
    at = 0

    def take(fmt):
        nonlocal at
        v = struct.unpack_from("<" + fmt, data, at)
        at += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal at
        n = take("Q")
        s = data[at:at + n].decode("utf-8")
        at += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            if et == 8:
                return [string() for _ in range(n)]
            fmt = scalar[et]
            size = struct.calcsize("<" + fmt)
            nonlocal at
            out = list(struct.unpack_from(f"<{n}{fmt}", data, at))
            at += n * size
            return out
        return take(scalar[t])

    assert data[:4] == b"GGUF"
    at = 4
    take("I")  # version
    take("Q")  # tensor count
    n = take("Q")
    keys = {}
    for _ in range(n):
        k = string()
        keys[k] = value(take("I"))
    _gguf_cache[path] = keys
    return keys


# The pre-tokenizer patterns of the models' published tokenizer.json files.
HF_PATTERNS = {
    "llama-bpe": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}


def rebuilt_tokenizers(models, tmp):
    """tokenizer.json files for the suite's real vocabularies, as their models publish them."""
    out = []
    for name in ("llama-bpe", "qwen2", "gpt-2"):
        path = os.path.join(models, f"ggml-vocab-{name}.gguf")
        if not os.path.exists(path):
            continue
        r = gguf_keys(path)
        tokens, types, merges = r["tokenizer.ggml.tokens"], r["tokenizer.ggml.token_type"], r["tokenizer.ggml.merges"]
        vocab = {}
        for i, t in enumerate(tokens):
            vocab[t] = i
        added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                 for i, t in enumerate(tokens) if types[i] == 3]
        if name in HF_PATTERNS:
            pre = {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": HF_PATTERNS[name]}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        else:
            pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                 "fuse_unk": False, "byte_fallback": False, "ignore_merges": name == "llama-bpe", "vocab": vocab, "merges": merges}
        tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None, "pre_tokenizer": pre,
              "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
              "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}, "model": model}
        dest = os.path.join(tmp, f"{name}-tokenizer.json")
        with open(dest, "w", encoding="utf-8") as fh:
            json.dump(tj, fh, ensure_ascii=False)
        out.append((f"{name} (rebuilt from ggml-vocab-{name}.gguf)", dest))
    # BERT: llama.cpp's converter wrote ▁word starts and bare continuations.
    path = os.path.join(models, "ggml-vocab-bert-bge.gguf")
    if os.path.exists(path):
        r = gguf_keys(path)
        tokens, types = r["tokenizer.ggml.tokens"], r["tokenizer.ggml.token_type"]
        vocab = {}
        for i, t in enumerate(tokens):
            if types[i] == 3 or (t.startswith("[") and t.endswith("]")):
                vocab[t] = i
            elif t.startswith("\u2581"):
                vocab[t[1:]] = i
            else:
                vocab["##" + t] = i
        cls, sep = vocab.get("[CLS]", 101), vocab.get("[SEP]", 102)
        tj = {"version": "1.0", "truncation": None, "padding": None,
              "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                               for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t in vocab],
              "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
              "pre_tokenizer": {"type": "BertPreTokenizer"},
              "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", sep], "cls": ["[CLS]", cls]},
              "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
              "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab}}
        dest = os.path.join(tmp, "bert-tokenizer.json")
        with open(dest, "w", encoding="utf-8") as fh:
            json.dump(tj, fh, ensure_ascii=False)
        out.append(("bert-bge (rebuilt from ggml-vocab-bert-bge.gguf)", dest))
    return out


def trained_tokenizers(tmp, lines):
    """tokenizer.json files trained here by tokenizers itself on the corpus,
    for the kinds no fixture has: Unigram (with NFKC and Metaspace), and
    SentencePiece-style BPE with byte fallback (Llama 2's layout: Prepend
    and Replace normalizers, no pre-tokenizer)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, decoders, trainers, processors
    out = []
    uni = Tokenizer(models.Unigram())
    uni.normalizer = normalizers.NFKC()
    uni.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    uni.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    uni.train_from_iterator(lines, trainers.UnigramTrainer(vocab_size=3000, special_tokens=["<unk>", "<s>"], unk_token="<unk>", show_progress=False))
    uni.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", uni.token_to_id("<s>"))])
    path = os.path.join(tmp, "unigram-tokenizer.json")
    uni.save(path)
    out.append(("Unigram (trained here: NFKC, Metaspace)", path))
    spm = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    spm.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    spm.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    alphabet = [f"<0x{b:02X}>" for b in range(256)]
    spm.train_from_iterator(lines[: len(lines) // 2], trainers.BpeTrainer(vocab_size=1200, special_tokens=["<unk>", "<s>"] + alphabet, show_progress=False,
                                                                          limit_alphabet=120))
    path = os.path.join(tmp, "spm-bpe-tokenizer.json")
    spm.save(path)
    out.append(("SentencePiece-style BPE (trained here: byte fallback)", path))
    return out


def hf_checks(binary, models, tmp, lines):
    from tokenizers import Tokenizer
    files = sorted(glob.glob(os.path.join(ROOT, "Tests", "IngotTests", "Fixtures", "arch", "*", "tokenizer.json")))
    minilm = os.path.join(ROOT, ".models", "all-MiniLM-L6-v2", "tokenizer.json")
    named = []
    seen = set()
    for f in files:
        h = hashlib.sha256(open(f, "rb").read()).hexdigest()
        if h not in seen:
            seen.add(h)
            named.append((os.path.relpath(f, ROOT), f))
    if os.path.exists(minilm):
        named.append(("all-MiniLM-L6-v2", minilm))
    else:
        print("tokenizer_check: MiniLM skipped: run tools/fetch-models")
    if models:
        named += rebuilt_tokenizers(models, tmp)
    named += trained_tokenizers(tmp, lines)
    for label, path in named:
        hf = Tokenizer.from_file(path)
        hf.no_padding()
        hf.no_truncation()
        want = [e.ids for e in hf.encode_batch(lines)]
        got = ingot_batch(binary, path, lines, tmp)
        for t, w, g in zip(lines, want, got):
            check(g == w, f"{label}: {t[:80]!r}: tokenizers gives {w[:24]}, ingot {g[:24]}")
        # Decode: every line's ids back to text, as tokenizers decodes them.
        texts = ingot_batch(binary, path, want, tmp, "--decode")
        for t, ids, d in zip(lines, want, texts):
            check(d == hf.decode(ids, skip_special_tokens=False), f"{label}: decode of {t[:60]!r}: {d[:60]!r}")
        print(f"tokenizer_check: {label}: {len(lines)}/{len(lines)} corpus lines identical to tokenizers {__import__('tokenizers').__version__}, and decoded alike")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    models = sys.argv[2] if len(sys.argv) > 2 else None
    lines = corpus_lines()
    if not lines:
        print(f"tokenizer_check: {CORPUS} not found (../shared beside the repository): corpus checks skipped")
    with tempfile.TemporaryDirectory() as tmp:
        if models:
            llama_cpp_suite(binary, models, tmp)
            llama_cpp_python(binary, models, tmp, lines)
        else:
            print("tokenizer_check: no llama.cpp models folder given; llama.cpp's suite skipped")
        if lines:
            check(len(lines) > 100, f"corpus at {CORPUS}: {len(lines)} lines")
            hf_checks(binary, models, tmp, lines)
    print(f"tokenizer_check: {checks} checks passed")


if __name__ == "__main__":
    main()
