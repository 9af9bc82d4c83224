#!/usr/bin/env python3
"""Independent reader for .ingot files, written from formats/ingot-v1.md only.

Python 3 and numpy, nothing else. It shares no code with the Swift
implementation, so agreement between the two is evidence that the spec says
what the code does.

    python3 tools/ingot_read.py FILE [--verify] [--npz OUT.npz] [--json]

As a module:

    from ingot_read import IngotFile
    f = IngotFile("model.ingot")
    f.names(); f.array("w"); f.verify()  # -> list of problems, empty if good
"""

import argparse
import hashlib
import json
import mmap
import struct
import sys

import numpy as np

try:  # optional: only compressed containers need it
    import zstandard
except ImportError:
    zstandard = None

MAGIC = b"\x89INGOT\r\n"
PREAMBLE = 72
MAX_HEADER = 256 << 20
MAX_DECOMPRESSION_RATIO = 4096  # spec section 13
KNOWN_FEATURES = {"int8_channel", "int8_block", "int4_group", "mlx_affine", "ggml", "zstd"}
KNOWN_ENCODINGS = {"raw"} | KNOWN_FEATURES

# dtype -> (numpy dtype or None, bits)
DTYPES = {
    "bool": ("?", 8), "u8": ("<u1", 8), "i8": ("<i1", 8), "u16": ("<u2", 16), "i16": ("<i2", 16),
    "u32": ("<u4", 32), "i32": ("<i4", 32), "u64": ("<u8", 64), "i64": ("<i8", 64),
    "f16": ("<f2", 16), "bf16": (None, 16), "f32": ("<f4", 32), "f64": ("<f8", 64),
    "c64": ("<c8", 64), "f8_e4m3": (None, 8), "f8_e5m2": (None, 8), "f8_e8m0": (None, 8),
    "f8_e4m3fnuz": (None, 8), "f8_e5m2fnuz": (None, 8), "f4": (None, 4),
    "f6_e2m3": (None, 6), "f6_e3m2": (None, 6),
}


class IngotError(Exception):
    pass


def canonical(value):
    """Canonical JSON bytes (spec section 3)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise IngotError("header: duplicate key %r" % k)
        out[k] = v
    return out


def _f8_e4m3_to_f32(b):
    """float8 e4m3fn (bias 7, no infinities, S.1111.111 is NaN)."""
    b = b.astype(np.uint32)
    s = np.where(b & 0x80, -1.0, 1.0)
    e = (b >> 3) & 0xF
    m = b & 0x7
    val = np.where(e == 0, m / 8.0 * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e.astype(np.int64) - 7))
    val = np.where((e == 0xF) & (m == 0x7), np.nan, val)
    return (s * val).astype(np.float32)


def _f8_e5m2_to_f32(b):
    """float8 e5m2: the top byte of an IEEE binary16."""
    return (b.astype(np.uint16) << 8).view("<f2").astype(np.float32)


def join_planes(planes, width, rotate):
    """Inverse of the byte-plane transform (formats/ingot-v1.md §6.1): byte
    planes, most significant first, of each element rotated left by `rotate` bits."""
    kind = {2: np.uint16, 4: np.uint32, 8: np.uint64}[width]
    bits = 8 * width
    p = np.frombuffer(planes, dtype=np.uint8).reshape(width, -1).astype(kind)
    r = np.zeros(p.shape[1], dtype=kind)
    for i in range(width):
        r |= p[i] << kind(bits - 8 - 8 * i)
    v = (r >> kind(rotate)) | (r << kind(bits - rotate)) if rotate else r
    return v.astype(np.dtype(kind).newbyteorder("<")).tobytes()


def check_chunk_table(t, payload_length, path):
    """The checks a reader makes before allocating anything for a compressed tensor."""
    d, name = t["data"], t["name"]
    def bad(reason):
        raise IngotError("%s: %s: %s" % (path, name, reason))
    if d.get("encoded_length") != payload_length:
        bad("encoded_length must equal the payload length %d" % payload_length)
    if d.get("transform") not in ("none", "byteplane"):
        bad("unknown transform")
    size = d.get("chunk_size")
    if not isinstance(size, int) or not 4096 <= size <= 64 << 20:
        bad("chunk_size out of range")
    if d["transform"] == "byteplane":
        if t["encoding"]["kind"] != "raw" or t["dtype"] not in ("f16", "bf16", "f32", "f64") or size % (DTYPES[t["dtype"]][1] // 8):
            bad("byteplane needs a raw float tensor and whole elements per chunk")
        rotate = d.get("rotate", 1)  # absent in files written before the field: one
        if not isinstance(rotate, int) or isinstance(rotate, bool) or not 0 <= rotate < DTYPES[t["dtype"]][1]:
            bad("rotate out of range")
    elif "rotate" in d:
        bad("rotate applies to the byteplane transform only")
    chunks = d.get("chunks")
    if not isinstance(chunks, list) or len(chunks) != -(-payload_length // size):
        bad("chunk table has the wrong number of chunks")
    total = 0
    for i, c in enumerate(chunks):
        if not (isinstance(c, list) and len(c) == 2 and isinstance(c[0], int) and c[0] > 0 and c[1] in (0, 1)):
            bad("chunk %d: malformed entry" % i)
        if c[1] == 1 and c[0] != min(payload_length, (i + 1) * size) - i * size:
            bad("chunk %d: raw chunk of the wrong size" % i)
        decoded = min(payload_length, (i + 1) * size) - i * size
        if c[1] == 0 and -(-decoded // MAX_DECOMPRESSION_RATIO) > c[0]:
            bad("chunk %d: decodes to more than %d times its stored bytes" % (i, MAX_DECOMPRESSION_RATIO))
        total += c[0]
    if total != d["length"]:
        bad("chunk lengths sum to %d, stored length is %d" % (total, d["length"]))

# ggml block types (spec section 5.3, "ggml"): name -> (values per block, bytes per block)
GGML_BLOCKS = {
    "Q4_0": (32, 18), "Q4_1": (32, 20), "Q5_0": (32, 22), "Q5_1": (32, 24), "Q8_0": (32, 34),
    "Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144), "Q5_K": (256, 176), "Q6_K": (256, 210),
    "Q8_K": (256, 292), "IQ4_NL": (32, 18), "IQ4_XS": (256, 136),
}
IQ4_LEVELS = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=np.float32)


def _half(b, off):
    """Column of f16 values at byte `off` of each block, as float32 (n, 1)."""
    return np.ascontiguousarray(b[:, off:off + 2]).view("<f2").astype(np.float32)


def _nibbles32(qs):
    """(n, 16) bytes -> (n, 32) codes: byte j holds element j (low) and j + 16 (high)."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1)


def _high32(b, off):
    """Q5's u32 of fifth bits: bit e is element e's."""
    qh = np.ascontiguousarray(b[:, off:off + 4]).view("<u4")
    return ((qh >> np.arange(32, dtype=np.uint32)) & 1).astype(np.uint8)


def _scale_min_k4(sc):
    """Q4_K/Q5_K: 12 bytes -> eight 6-bit scales and eight 6-bit minimums."""
    s = np.empty((sc.shape[0], 8), dtype=np.uint8)
    m = np.empty((sc.shape[0], 8), dtype=np.uint8)
    s[:, :4] = sc[:, 0:4] & 63
    m[:, :4] = sc[:, 4:8] & 63
    s[:, 4:] = (sc[:, 8:12] & 0x0F) | ((sc[:, 0:4] >> 6) << 4)
    m[:, 4:] = (sc[:, 8:12] >> 4) | ((sc[:, 4:8] >> 6) << 4)
    return s, m


def ggml_dequantize(kind, raw, count):
    """`count` values of ggml type `kind` from `raw` (whole blocks) as float32,
    each product rounded to float32 in ggml's order (dequantize_row_*)."""
    per, size = GGML_BLOCKS[kind]
    b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, size)
    f32 = np.float32
    if kind == "Q8_0":
        y = b[:, 2:].view(np.int8).astype(f32) * _half(b, 0)
    elif kind == "Q8_K":
        d = np.ascontiguousarray(b[:, 0:4]).view("<f4").astype(f32)
        y = d * b[:, 4:260].view(np.int8).astype(f32)
    elif kind == "Q4_0":
        y = (_nibbles32(b[:, 2:18]).astype(f32) - f32(8)) * _half(b, 0)
    elif kind == "Q4_1":
        y = _nibbles32(b[:, 4:20]).astype(f32) * _half(b, 0) + _half(b, 2)
    elif kind == "Q5_0":
        q = _nibbles32(b[:, 6:22]) | (_high32(b, 2) << 4)
        y = (q.astype(f32) - f32(16)) * _half(b, 0)
    elif kind == "Q5_1":
        q = _nibbles32(b[:, 8:24]) | (_high32(b, 4) << 4)
        y = q.astype(f32) * _half(b, 0) + _half(b, 2)
    elif kind == "IQ4_NL":
        y = _half(b, 0) * IQ4_LEVELS[_nibbles32(b[:, 2:18])]
    elif kind == "IQ4_XS":
        d = _half(b, 0)
        hi = np.ascontiguousarray(b[:, 2:4]).view("<u2").astype(np.int32)
        lo = b[:, 4:8].astype(np.int32)
        ib = np.arange(8)
        ls = ((lo[:, ib // 2] >> (4 * (ib % 2))) & 0x0F) | (((hi >> (2 * ib)) & 3) << 4)
        dl = d * (ls - 32).astype(f32)  # (n, 8)
        q = _nibbles32(b[:, 8:136].reshape(-1, 16)).reshape(-1, 8, 32)
        y = (dl[:, :, None] * IQ4_LEVELS[q]).reshape(-1, 256)
    elif kind in ("Q4_K", "Q5_K"):
        d, dmin = _half(b, 0), _half(b, 2)
        s, m = _scale_min_k4(b[:, 4:16])
        ql = b[:, 48:176] if kind == "Q5_K" else b[:, 16:144]
        ql = ql.reshape(-1, 4, 32)
        q = np.stack([ql & 0x0F, ql >> 4], axis=2).reshape(-1, 8, 32)  # sub-block 2c: low, 2c+1: high
        if kind == "Q5_K":
            qh = b[:, 16:48]
            bits = (qh[:, None, :] >> np.arange(8, dtype=np.uint8)[None, :, None]) & 1  # (n, 8, 32): bit 2c / 2c+1
            q = q | (bits << 4)
        sc = d * s.astype(f32)
        mn = dmin * m.astype(f32)
        y = (sc[:, :, None] * q.astype(f32) - mn[:, :, None]).reshape(-1, 256)
    elif kind == "Q6_K":
        d = _half(b, 208)
        ql = b[:, 0:128].reshape(-1, 2, 64)
        qh = b[:, 128:192].reshape(-1, 2, 32)
        sc = b[:, 192:208].view(np.int8).astype(f32)
        q = np.empty((b.shape[0], 2, 4, 32), dtype=np.int32)
        q[:, :, 0] = (ql[:, :, 0:32] & 0x0F) | ((qh & 3) << 4)
        q[:, :, 1] = (ql[:, :, 32:64] & 0x0F) | (((qh >> 2) & 3) << 4)
        q[:, :, 2] = (ql[:, :, 0:32] >> 4) | (((qh >> 4) & 3) << 4)
        q[:, :, 3] = (ql[:, :, 32:64] >> 4) | (((qh >> 6) & 3) << 4)
        q = (q - 32).reshape(-1, 16, 16)  # sub-block of 16 values each
        y = ((d * sc)[:, :, None] * q.astype(f32)).reshape(-1, 256)
    elif kind == "Q2_K":
        sc = b[:, 0:16].reshape(-1, 2, 4, 2)  # [n, half of 128, shift, 16-value half]
        qs = b[:, 16:80].reshape(-1, 2, 1, 2, 16)
        d, dmin = _half(b, 80), _half(b, 82)
        shifts = (2 * np.arange(4, dtype=np.uint8))[None, None, :, None, None]
        q = (qs >> shifts) & 3  # (n, 2, 4, 2, 16)
        dl = d[:, :, None, None] * (sc & 0x0F).astype(f32)
        ml = dmin[:, :, None, None] * (sc >> 4).astype(f32)
        y = (dl[..., None] * q.astype(f32) - ml[..., None]).reshape(-1, 256)
    elif kind == "Q3_K":
        hm = b[:, 0:32].reshape(-1, 1, 1, 2, 16)
        qs = b[:, 32:96].reshape(-1, 2, 1, 2, 16)
        raw_sc = b[:, 96:108].astype(np.int32)
        i = np.arange(16)
        low = np.where(i < 8, raw_sc[:, i % 8] & 0x0F, raw_sc[:, i % 8] >> 4)
        high = (raw_sc[:, 8 + i % 4] >> (2 * (i // 4))) & 3
        scales = ((low | (high << 4)) - 32).astype(f32).reshape(-1, 2, 4, 2)
        d = _half(b, 108)
        shifts = (2 * np.arange(4, dtype=np.uint8))[None, None, :, None, None]
        lq = ((qs >> shifts) & 3).astype(np.int32)
        mbit = (np.arange(2)[:, None] * 4 + np.arange(4)[None, :]).astype(np.uint8)[None, :, :, None, None]
        h = np.where(((hm >> mbit) & 1) != 0, 0, 4)
        dl = d[:, :, None, None] * scales
        y = (dl[..., None] * (lq - h).astype(f32)).reshape(-1, 256)
    else:
        raise IngotError("unknown ggml type %r" % kind)
    return y.astype(f32).reshape(-1)[:count]


def quant_layout(t):
    """Section sizes of a quantized tensor (formats/ingot-v1.md §5.3)."""
    e = t["encoding"]
    kind = e["kind"]
    if t["dtype"] not in ("f32", "f16", "bf16") or len(t["shape"]) < 2:
        raise IngotError("%s: %s needs a float matrix" % (t["name"], kind))
    count = 1
    for dim in t["shape"]:
        count *= dim
    rows = t["shape"][0]
    if rows == 0 or count == 0:
        raise IngotError("%s: empty quantized tensor" % t["name"])
    cols = count // rows
    L = {"kind": kind, "rows": rows, "cols": cols, "symmetric": True, "scale_format": "f16", "super_block": 0}
    if kind == "int8_channel":
        L["group_size"] = cols
        L["codes"], L["scales"], L["mins"] = count, 4 * rows, 0
    elif kind == "int8_block":
        if e.get("block_size") != 32 or e.get("scale_dtype") != "f16" or cols % 32:
            raise IngotError("%s: bad int8_block parameters" % t["name"])
        L["group_size"] = 32
        L["codes"], L["scales"], L["mins"] = count, 2 * (count // 32), 0
    elif kind == "int4_group":
        g = e["group_size"]
        if g not in (32, 64, 128) or cols % g or e["mode"] not in ("symmetric", "asymmetric") or e["scales"] not in ("f16", "q6"):
            raise IngotError("%s: bad int4_group parameters" % t["name"])
        L["group_size"] = g
        L["symmetric"] = e["mode"] == "symmetric"
        L["scale_format"] = e["scales"]
        groups = count // g
        L["codes"] = count // 2
        if e["scales"] == "q6":
            sb = e["super_block"]
            if L["symmetric"] or g != 32 or sb <= 0 or sb % 32 or cols % sb:
                raise IngotError("%s: bad q6 parameters" % t["name"])
            L["super_block"] = sb
            L["super_blocks"] = count // sb
            L["scales"], L["mins"] = (groups * 12 + 7) // 8, 4 * (count // sb)
        else:
            L["scales"], L["mins"] = 2 * groups, 0 if L["symmetric"] else 2 * groups
    elif kind == "ggml":
        per, size = GGML_BLOCKS.get(e.get("type"), (0, 0))
        if not per or cols % per or set(e) != {"kind", "type"}:
            raise IngotError("%s: bad ggml parameters" % t["name"])
        L["group_size"] = per
        L["ggml_type"] = e["type"]
        L["codes"], L["scales"], L["mins"] = count // per * size, 0, 0
    elif kind == "mlx_affine":
        g, bits, sd = e.get("group_size"), e.get("bits"), e.get("scale_dtype")
        if g not in (32, 64, 128) or bits not in (1, 2, 3, 4, 5, 6, 8) or sd not in ("f16", "bf16", "f32") or cols % g \
                or set(e) != {"kind", "group_size", "bits", "scale_dtype"}:
            raise IngotError("%s: bad mlx_affine parameters" % t["name"])
        L["group_size"], L["bits"], L["scale_format"], L["symmetric"] = g, bits, sd, False
        width = 4 if sd == "f32" else 2
        L["codes"] = count * bits // 8
        L["scales"] = L["mins"] = width * (count // g)
    else:
        raise IngotError("%s: unknown encoding %r" % (t["name"], kind))
    L["groups"] = count // L["group_size"]
    L["length"] = L["codes"] + L["scales"] + L["mins"]
    return L


def _bf16_round(x):
    """float32 rounded to the nearest bfloat16 (ties to even), kept as float32."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return (((b + 0x7FFF + ((b >> 16) & 1)) >> 16 << 16).astype(np.uint32)).view(np.float32)


class IngotFile:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            if size < PREAMBLE:
                raise IngotError("%s: %d bytes, too short for the preamble" % (path, size))
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        b = self._map
        if b[0:8] != MAGIC:
            raise IngotError("%s: bad magic" % path)
        major, minor, flags, n, d, l = struct.unpack_from("<HHIQQQ", b, 8)
        if major != 1:
            raise IngotError("%s: unsupported major version %d" % (path, major))
        if flags != 0:
            raise IngotError("%s: reserved flags are not zero" % path)
        if n > MAX_HEADER or d < PREAMBLE + n or d % 64 or d + l != size:
            raise IngotError("%s: preamble sizes are inconsistent with the %d-byte file" % (path, size))
        raw = bytes(b[PREAMBLE:PREAMBLE + n])
        if hashlib.sha256(raw).digest() != bytes(b[40:72]):
            raise IngotError("%s: header checksum mismatch" % path)
        if set(bytes(b[PREAMBLE + n:d])) - {0x20}:
            raise IngotError("%s: header padding is not all spaces" % path)
        self.version = (major, minor)
        self.data_offset, self.data_length = d, l
        self.header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
        if canonical(self.header) != raw:
            raise IngotError("%s: header is not canonical JSON" % path)
        h = self.header
        if h.get("format") != "ingot":
            raise IngotError("%s: format is not 'ingot'" % path)
        for feature in h.get("required_features", []):
            if feature not in KNOWN_FEATURES:
                raise IngotError("%s: requires unknown feature %r" % (path, feature))
        align = h["alignment"]
        self.tensors = {}
        spans = []
        for t in h["tensors"]:
            name = t["name"]
            if name in self.tensors:
                raise IngotError("%s: duplicate tensor %r" % (path, name))
            if t["encoding"]["kind"] not in KNOWN_ENCODINGS:
                raise IngotError("%s: %s: unknown encoding %r" % (path, name, t["encoding"]["kind"]))
            if t["data"]["compression"] not in ("none", "zstd"):
                raise IngotError("%s: %s: unknown compression %r" % (path, name, t["data"]["compression"]))
            off, length = t["data"]["offset"], t["data"]["length"]
            count = 1
            for dim in t["shape"]:
                if dim < 0:
                    raise IngotError("%s: %s: negative dimension" % (path, name))
                count *= dim
            if t["encoding"]["kind"] == "raw":
                bits = DTYPES[t["dtype"]][1] * count
                expected = bits // 8 if bits % 8 == 0 else -1
            else:
                if t["encoding"]["kind"] not in h["required_features"]:
                    raise IngotError("%s: %s: encoding not listed in required_features" % (path, name))
                expected = quant_layout(t)["length"]
            if t["data"]["compression"] == "zstd":
                if "zstd" not in h["required_features"]:
                    raise IngotError("%s: %s: zstd storage not listed in required_features" % (path, name))
                check_chunk_table(t, expected, path)
            elif expected != length:
                raise IngotError("%s: %s: stored length %d does not match shape, dtype and encoding" % (path, name, length))
            if off % align or off < 0 or off + length > l:
                raise IngotError("%s: %s: data out of bounds or misaligned" % (path, name))
            if length:
                spans.append((off, off + length, name))
            self.tensors[name] = t
        spans.sort()
        for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
            if b0 < a1:
                raise IngotError("%s: %s overlaps %s" % (path, bn, an))

    # -- access ---------------------------------------------------------------

    def names(self):
        return [t["name"] for t in self.header["tensors"]]

    def stored(self, name):
        t = self.tensors[name]
        start = self.data_offset + t["data"]["offset"]
        return bytes(self._map[start:start + t["data"]["length"]])

    def payload(self, name):
        """The encoded, uncompressed payload (what the digest covers)."""
        t = self.tensors[name]
        raw = self.stored(name)
        d = t["data"]
        if d["compression"] == "none":
            return raw
        if zstandard is None:
            raise IngotError("%s: %s is zstd-compressed; install the 'zstandard' package to read it" % (self.path, name))
        width = DTYPES[t["dtype"]][1] // 8 if d["transform"] == "byteplane" else 0
        out, at = [], 0
        for i, (n, flags) in enumerate(d["chunks"]):
            size = min(d["encoded_length"], (i + 1) * d["chunk_size"]) - i * d["chunk_size"]
            frame = raw[at:at + n]
            at += n
            if flags & 1:
                out.append(frame)
                continue
            try:
                declared = zstandard.frame_content_size(frame)
            except zstandard.ZstdError as e:
                raise IngotError("%s: %s: chunk %d: %s" % (self.path, name, i, e))
            if declared != size:
                raise IngotError("%s: %s: chunk %d declares %d bytes, expected %d" % (self.path, name, i, declared, size))
            try:
                planes = zstandard.ZstdDecompressor().decompress(frame, max_output_size=size)
            except zstandard.ZstdError as e:
                raise IngotError("%s: %s: chunk %d: %s" % (self.path, name, i, e))
            out.append(join_planes(planes, width, d.get("rotate", 1)) if width else planes)
        return b"".join(out)

    def quantized(self, name):
        """A quantized tensor's sections as numpy arrays (formats/ingot-v1.md §5.3):
        codes (one per element, row-major, as stored: int8, or 0..15 for int4),
        and the scale arrays the encoding names."""
        t = self.tensors[name]
        L = quant_layout(t)
        raw = np.frombuffer(self.payload(name), dtype=np.uint8)
        rows, cols = L["rows"], L["cols"]
        out = {"layout": L}
        codes = raw[:L["codes"]]
        if L["kind"] == "ggml":
            out["blocks"] = codes.reshape(-1, GGML_BLOCKS[L["ggml_type"]][1])
            return out
        if L["kind"] == "mlx_affine":
            # element k of a row at bit k·bits of the row's little-endian bit stream
            bits = L["bits"]
            stream = np.unpackbits(codes.reshape(rows, -1), axis=1, bitorder="little").reshape(rows, cols, bits)
            out["codes"] = (stream.astype(np.uint16) << np.arange(bits, dtype=np.uint16)).sum(-1).astype(np.uint8)
            sd = L["scale_format"]
            rest = raw[L["codes"]:]
            half = L["scales"]
            if sd == "f32":
                out["scales"], out["mins"] = rest[:half].view("<f4").copy(), rest[half:2 * half].view("<f4").copy()
            elif sd == "f16":
                out["scales"], out["mins"] = rest[:half].view("<f2").copy(), rest[half:2 * half].view("<f2").copy()
            else:
                widen = lambda b: (b.view("<u2").astype(np.uint32) << 16).view(np.float32)
                out["scales"], out["mins"] = widen(rest[:half]), widen(rest[half:2 * half])
            return out
        if L["kind"] == "int4_group":
            q = np.empty(rows * cols, dtype=np.uint8)
            q[0::2] = codes & 0x0F
            q[1::2] = codes >> 4
            out["codes"] = q.reshape(rows, cols)
        else:
            out["codes"] = codes.view(np.int8).reshape(rows, cols)
        sec = raw[L["codes"]:L["codes"] + L["scales"]]
        rest = raw[L["codes"] + L["scales"]:]
        if L["kind"] == "int8_channel":
            out["scales"] = sec.view("<f4").copy()
        elif L["scale_format"] == "q6":
            bits = np.unpackbits(sec, bitorder="little")[: 12 * L["groups"]].reshape(-1, 12)
            weights = (1 << np.arange(6)).astype(np.uint16)
            out["sub_scales"] = (bits[:, :6] * weights).sum(1).astype(np.uint8)
            out["sub_mins"] = (bits[:, 6:] * weights).sum(1).astype(np.uint8)
            nsb = L["super_blocks"]
            out["d"] = rest[: 2 * nsb].view("<f2").copy()
            out["dmin"] = rest[2 * nsb: 4 * nsb].view("<f2").copy()
        else:
            out["scales"] = sec.view("<f2").copy()
            if L["kind"] == "int4_group" and not L["symmetric"]:
                out["mins"] = rest.view("<f2").copy()
        return out

    def dequantize(self, name):
        """A quantized tensor's values as float32, with the spec's arithmetic
        (each product rounded to float32)."""
        t = self.tensors[name]
        s = self.quantized(name)
        L = s["layout"]
        rows, cols, g = L["rows"], L["cols"], L["group_size"]
        if L["kind"] == "ggml":
            v = ggml_dequantize(L["ggml_type"], s["blocks"].tobytes(), rows * cols)
            return v.reshape(tuple(t["shape"]))
        q = s["codes"].astype(np.float32)
        if L["kind"] == "mlx_affine":
            # MLX's arithmetic: round(round(scale·q) + bias) in the scale dtype.
            sd = L["scale_format"]
            narrow = {"f32": lambda x: x, "f16": lambda x: x.astype(np.float16).astype(np.float32), "bf16": _bf16_round}[sd]
            sc = s["scales"].astype(np.float32)[:, None]
            bi = s["mins"].astype(np.float32)[:, None]
            v = narrow(narrow(q.reshape(-1, g) * sc) + bi).reshape(rows, cols)
        elif L["kind"] == "int8_channel":
            v = q * s["scales"].astype(np.float32)[:, None]
        elif L["kind"] == "int8_block":
            v = (q.reshape(-1, 32) * s["scales"].astype(np.float32)[:, None]).reshape(rows, cols)
        elif L["scale_format"] == "q6":
            per_sb = L["super_block"] // 32
            d = np.repeat(s["d"].astype(np.float32), per_sb)
            dmin = np.repeat(s["dmin"].astype(np.float32), per_sb)
            sc = s["sub_scales"].astype(np.float32) * d
            mn = s["sub_mins"].astype(np.float32) * dmin
            v = (sc[:, None] * q.reshape(-1, 32) - mn[:, None]).reshape(rows, cols)
        elif L["symmetric"]:
            v = ((q.reshape(-1, g) - np.float32(8)) * s["scales"].astype(np.float32)[:, None]).reshape(rows, cols)
        else:
            v = (q.reshape(-1, g) * s["scales"].astype(np.float32)[:, None] + s["mins"].astype(np.float32)[:, None]).reshape(rows, cols)
        return v.astype(np.float32).reshape(tuple(t["shape"]))

    def array(self, name):
        """The tensor as numpy; quantized tensors dequantized to float32. Types numpy lacks come back widened: bf16 and
        8-bit floats as float32; f4/f6 as their raw packed bytes (uint8)."""
        t = self.tensors[name]
        if t["encoding"]["kind"] != "raw":
            v = self.dequantize(name)
            if t["dtype"] == "f16":
                return v.astype(np.float16)
            if t["dtype"] == "bf16":  # round to nearest even, widened back to float32
                return _bf16_round(v)
            return v
        shape = tuple(t["shape"])
        raw = self.payload(name)
        dtype = t["dtype"]
        np_type = DTYPES[dtype][0]
        if np_type is not None:
            return np.frombuffer(raw, dtype=np_type).reshape(shape).copy()
        u8 = np.frombuffer(raw, dtype=np.uint8)
        if dtype == "bf16":
            return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
        if dtype == "f8_e4m3":
            return _f8_e4m3_to_f32(u8).reshape(shape)
        if dtype == "f8_e5m2":
            return _f8_e5m2_to_f32(u8).reshape(shape)
        return u8.copy()

    # -- checks ---------------------------------------------------------------

    def model_digest(self):
        h = self.header
        doc = {
            "format": "ingot-model-digest-v1",
            "metadata": h["metadata"],
            "tensors": [{k: t[k] for k in ("digest", "dtype", "encoding", "name", "shape")}
                        for t in h["tensors"]],
        }
        return hashlib.sha256(canonical(doc)).hexdigest()

    def verify(self):
        """Every digest, the model digest, the provenance chain and padding.
        Returns a list of problems; empty means the file is intact."""
        problems = []
        h = self.header
        for t in h["tensors"]:
            if hashlib.sha256(self.payload(t["name"])).hexdigest() != t["digest"]:
                problems.append("%s: digest mismatch" % t["name"])
        if self.model_digest() != h["model_digest"]:
            problems.append("model digest mismatch")
        if hashlib.sha256(canonical(h["provenance"])).hexdigest() != h["provenance_head"]:
            problems.append("provenance_head mismatch")
        steps = h["provenance"]
        step_keys = {"tool", "tool_version", "operation", "parameters", "inputs", "input_model_digest",
                     "model_digest", "metrics", "note", "timestamp"}
        input_keys = {"path", "format", "size", "sha256", "model_digest"}
        for i, s in enumerate(steps):  # spec section 8: exactly these fields, these types
            if (set(s) - step_keys or any(not isinstance(s.get(k, ""), str) for k in ("note", "timestamp"))
                    or any(set(x) - input_keys for x in s.get("inputs", []))):
                problems.append("provenance step %d has fields outside the schema, or of the wrong type" % i)
        if not steps:
            problems.append("no provenance steps")
        else:
            for i in range(1, len(steps)):
                if steps[i]["input_model_digest"] != steps[i - 1]["model_digest"]:
                    problems.append("provenance step %d does not chain to step %d" % (i, i - 1))
            if steps[-1]["model_digest"] != h["model_digest"]:
                problems.append("last provenance step's model digest differs from the file's")
        covered = sorted((t["data"]["offset"], t["data"]["offset"] + t["data"]["length"])
                         for t in h["tensors"])
        cursor = 0
        for lo, hi in covered + [(self.data_length, self.data_length)]:
            if lo > cursor and any(self._map[self.data_offset + cursor:self.data_offset + lo]):
                problems.append("non-zero padding in the data section at %d" % cursor)
            cursor = max(cursor, hi)
        return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--verify", action="store_true", help="check every digest; exit 1 on a mismatch")
    ap.add_argument("--npz", help="write every tensor, by name, to this .npz")
    ap.add_argument("--json", action="store_true", help="print the listing as JSON")
    args = ap.parse_args(argv)
    try:
        f = IngotFile(args.file)
    except (IngotError, ValueError, KeyError, TypeError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    listing = [{"name": t["name"], "dtype": t["dtype"], "shape": t["shape"],
                "encoding": t["encoding"]["kind"], "digest": t["digest"]} for t in f.header["tensors"]]
    problems = None
    if args.verify:
        problems = f.verify()
        # Digests recomputed here from the bytes, for callers that compare readers.
        for t in listing:
            t["computed_digest"] = hashlib.sha256(f.payload(t["name"])).hexdigest()
    if args.json:
        doc = {"model_digest": f.header["model_digest"], "tensors": listing}
        if problems is not None:
            doc["computed_model_digest"] = f.model_digest()
            doc["problems"] = problems
        print(json.dumps(doc))
    else:
        print("model digest %s" % f.header["model_digest"])
        for t in listing:
            print("%-40s %-8s %-16s %s" % (t["name"], t["dtype"], t["shape"], t["digest"][:16]))
    if args.npz:
        np.savez(args.npz, **{name: f.array(name) for name in f.names()})
    if problems:
        for p in problems:
            print("FAIL %s" % p, file=sys.stderr)
        return 1
    if problems is not None and not args.json:
        print("ok: %d tensors, model digest and provenance chain verified" % len(listing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
