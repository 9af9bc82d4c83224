#!/usr/bin/env python3
"""Writes Tests/IngotTests/Fixtures/tokenizers/hf_ids.json: Hugging Face
tokenizers' ids (add_special_tokens, no padding or truncation) and decoded
text for lines of ../shared/corpus, for the architecture fixtures'
tokenizer.json and MiniLM's (when tools/fetch-models has run).

    $(tools/reference-venv) tools/make_tokenizer_fixtures.py
"""
import glob, json, os
from tokenizers import Tokenizer, __version__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
lines = []
for path in sorted(glob.glob(os.path.join(CORPUS, "*.txt"))):
    lines += [l for l in open(path, encoding="utf-8").read().split("\n") if l]
# Every 4th line: the multilingual file's scripts and the English one's prose.
lines = lines[::4]
out = {"tokenizers": __version__, "lines": lines, "cases": {}}
for name, path in (("arch/llama3/tokenizer.json", os.path.join(ROOT, "Tests/IngotTests/Fixtures/arch/llama3/tokenizer.json")),
                   ("all-MiniLM-L6-v2", os.path.join(ROOT, ".models/all-MiniLM-L6-v2/tokenizer.json"))):
    if not os.path.exists(path):
        continue
    t = Tokenizer.from_file(path)
    t.no_padding()
    t.no_truncation()
    ids = [e.ids for e in t.encode_batch(lines)]
    out["cases"][name] = {"ids": ids, "decoded": [t.decode(i, skip_special_tokens=False) for i in ids]}
dest = os.path.join(ROOT, "Tests/IngotTests/Fixtures/tokenizers/hf_ids.json")
with open(dest, "w", encoding="utf-8") as fh:
    json.dump(out, fh, ensure_ascii=False, separators=(",", ":"))
print("wrote", dest, os.path.getsize(dest), "bytes")
