#!/usr/bin/env python3
"""make_tensorio.py - writes the malformed tensor files of the tensorio_* bad-input cases
and their .case files (see README.md). The files are committed; rerun this only to change
them: `python3 tests/bad/make_tensorio.py` (standard library only). Each entry below is
the case name, what is wrong, the file's bytes and the one line mimic must print."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def st(header, data=b"", raw_len=None):
    """A safetensors file: u64 header length, header text, data."""
    h = header.encode() if isinstance(header, str) else header
    n = len(h) if raw_len is None else raw_len
    return struct.pack("<Q", n) + h + data


def npy(header, data=b"", magic=b"\x93NUMPY", version=(1, 0)):
    """A .npy file with `header` padded as NumPy pads it (to 64 bytes, ending in '\\n')."""
    h = header.encode()
    pad = (64 - (10 + len(h) + 1) % 64) % 64
    h = h + b" " * pad + b"\n"
    return magic + bytes(version) + struct.pack("<H", len(h)) + h + data


def t(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def hdr(**tensors):
    return json.dumps(tensors, separators=(",", ":"))


F32x2 = struct.pack("<2f", 1.0, 2.0)

CASES = [
    ("short", "the file is shorter than the 8-byte header length", "safetensors",
     b"\x10\x00\x00\x00\x00",
     "truncated: the file has 5 bytes, fewer than the 8 of the header length"),
    ("hdrlen", "the header length says more than the file holds", "safetensors",
     st(hdr(w=t("F32", [2], 0, 8)), F32x2, raw_len=4096),
     "truncated: header says 4096 bytes but only 62 follow"),
    ("absurd", "a header length of a terabyte", "safetensors",
     st("{}", raw_len=1 << 40),
     "header length 1099511627776 is absurd (the limit is 100000000 bytes)"),
    ("badjson", "a comma is missing in the header", "safetensors",
     st('{"w":{"dtype":"F32","shape":[2] "data_offsets":[0,8]}}', F32x2),
     "header is not valid JSON: at byte 32: expected ',' or '}'"),
    ("notobject", "the header is a JSON list", "safetensors",
     st("[]      "),
     "header is not a JSON object"),
    ("dtype", "F16 is a safetensors dtype mimic does not read", "safetensors",
     st(hdr(w=t("F16", [2], 0, 4)), b"\0" * 4),
     "tensor 'w': unsupported dtype 'F16'"),
    ("negdim", "a negative dimension", "safetensors",
     st(hdr(w=t("F32", [2, -3], 0, 8)), F32x2),
     "tensor 'w': shape has a negative dimension (-3)"),
    ("range", "data_offsets past the end of the data", "safetensors",
     st(hdr(w=t("F32", [4], 0, 16)), F32x2),
     "tensor 'w': data_offsets [0,16] go past the end of the data (8 bytes)"),
    ("size", "data_offsets disagree with dtype and shape", "safetensors",
     st(hdr(w=t("F32", [3], 0, 8)), F32x2),
     "tensor 'w': data_offsets [0,8] do not match dtype F32 and shape [3] (12 bytes)"),
    ("overlap", "two tensors share bytes", "safetensors",
     st(hdr(a=t("F32", [2], 0, 8), b=t("F32", [2], 4, 12)), F32x2 + F32x2[:4]),
     "tensor 'b': data_offsets [4,12] overlap tensor 'a' [0,8]"),
    ("gap", "bytes between two tensors belong to neither", "safetensors",
     st(hdr(a=t("F32", [2], 0, 8), b=t("F32", [2], 12, 20)), F32x2 * 2 + b"\0" * 4),
     "tensor 'b': data_offsets [12,20] leave a gap: bytes 8 to 12 belong to no tensor"),
    ("trailing", "bytes after the last tensor", "safetensors",
     st(hdr(w=t("F32", [2], 0, 8)), F32x2 + b"\0" * 4),
     "trailing data: the tensors end at byte 8 of the 12-byte data buffer"),
    ("dup", "the same tensor name twice", "safetensors",
     st('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        '"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', F32x2 * 2),
     "duplicate tensor 'w'"),
    ("bool", "a bool byte that is neither 0 nor 1", "safetensors",
     st(hdr(m=t("BOOL", [3], 0, 3)), b"\x01\x00\x02"),
     "tensor 'm': bool element 2 is 2, not 0 or 1"),
    ("magic", "not a .npy file at all", "npy",
     b"PK\x03\x04" + b"\0" * 60,
     "not a .npy file (bad magic)"),
    ("version", "a .npy format version that does not exist", "npy",
     npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", F32x2, version=(9, 0)),
     "unsupported .npy format version 9.0"),
    ("fortran", "Fortran-order data", "npy",
     npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }", F32x2),
     "Fortran-order data is not supported (save a C-order array)"),
    ("bigendian", "big-endian floats", "npy",
     npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", struct.pack(">2f", 1, 2)),
     "big-endian data ('>f4') is not supported"),
    ("complex", "complex64, a dtype mimic does not read", "npy",
     npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", F32x2),
     "unsupported dtype '<c8' (mimic reads <f4, <f8, <i4, <i8, |b1)"),
    ("truncdata", "the data stops early", "npy",
     npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", F32x2 * 2 + b"\0" * 4),
     "truncated data: shape [2,3] of <f4 needs 24 bytes but the file has 20"),
    ("extradata", "bytes after the array", "npy",
     npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", F32x2 + b"\0" * 4),
     "trailing data: 4 bytes after the 8 of shape [2] <f4"),
    ("notuple", "shape (2) is an int in Python, not a tuple", "npy",
     npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", F32x2),
     "bad header: shape (n) is not a tuple; write (n,)"),
]


def main():
    for name, what, ext, data, message in CASES:
        base = "tensorio_%s" % name
        fname = "%s.%s" % (base, ext)
        with open(os.path.join(HERE, fname), "wb") as f:
            f.write(data)
        with open(os.path.join(HERE, base + ".case"), "w") as f:
            f.write("# %s\n" % what)
            f.write("cmd: inspect %s\n" % fname)
            f.write("exit: 1\n")
            f.write("stderr: %s: error: %s\n" % (fname, message))


if __name__ == "__main__":
    main()
