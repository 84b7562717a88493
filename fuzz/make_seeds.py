#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into OUT/<target>/.

Seeds are the real inputs pare reads: the committed models (testdata/models),
tensor files in both formats, a small PNG, pipelines and budget/plan YAML as
the docs write them. Generated here (no binary seeds are committed); the
fuzzers grow the corpora from these. Usage: make_seeds.py REPO OUT
"""
import os
import shutil
import struct
import sys
import zlib


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def npy(dtype, shape, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype, "".join("%d," % d for d in shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def tensor_pb(name, data_type, dims, raw):
    """A TensorProto: dims (1), data_type (2), name (8), raw_data (9)."""
    out = b"".join(b"\x08" + varint(d) for d in dims)
    out += b"\x10" + varint(data_type)
    out += b"\x42" + varint(len(name)) + name.encode()
    out += b"\x4a" + varint(len(raw)) + raw
    return out


def field(number, payload):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def small_model(op, inputs, elem_type, initializers=()):
    """ModelProto: ir_version 8, opset 13, one node `op` over float/int [2] values."""
    def value_info(name):
        dim = field(1, b"\x08\x02")                        # Dimension{dim_value: 2}
        tensor = b"\x08" + varint(elem_type) + field(2, dim)  # Tensor{elem_type, shape}
        return field(1, name.encode()) + field(2, field(1, tensor))
    node = b"".join(field(1, i.encode()) for i in inputs) + field(2, b"y") + field(4, op.encode())
    graph = field(1, node) + field(2, b"g")
    graph += b"".join(field(5, tensor_pb(n, elem_type, (2,), raw)) for n, raw in initializers)
    graph += field(11, value_info("x")) + field(12, value_info("y"))
    return b"\x08\x08" + field(7, graph) + field(8, b"\x10\x0d")


def png(width, height):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\x00" + bytes((x * 16 + y * 8) & 255 for x in range(width) for _ in range(3))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def main():
    repo, out = sys.argv[1], sys.argv[2]
    models = os.path.join(repo, "testdata", "models")
    os.makedirs(os.path.join(out, "model_fuzz"), exist_ok=True)
    for name in sorted(os.listdir(models)):
        if name.endswith(".onnx"):
            shutil.copy(os.path.join(models, name), os.path.join(out, "model_fuzz", name))
    m = os.path.join(out, "model_fuzz")
    write(os.path.join(m, "relu.onnx"), small_model("Relu", ["x"], 1))
    write(os.path.join(m, "add.onnx"), small_model("Add", ["x", "w"], 1, [("w", struct.pack("<2f", 1, 2))]))
    write(os.path.join(m, "div.onnx"), small_model("Div", ["x", "d"], 7, [("d", struct.pack("<2q", 3, -1))]))
    t = os.path.join(out, "tensor_fuzz")
    write(os.path.join(t, "f32.npy"), npy("<f4", (2, 3), struct.pack("<6f", *range(6))))
    write(os.path.join(t, "i64.npy"), npy("<i8", (3,), struct.pack("<3q", -1, 0, 1)))
    write(os.path.join(t, "u8.npy"), npy("|u1", (1, 2, 2), bytes(range(4))))
    write(os.path.join(t, "f32.pb"), tensor_pb("x", 1, (2, 2), struct.pack("<4f", 1, 2, 3, 4)))
    write(os.path.join(t, "i64.pb"), tensor_pb("ids", 7, (3,), struct.pack("<3q", 5, 6, 7)))
    i = os.path.join(out, "image_fuzz")
    write(os.path.join(i, "rgb.png"), b"\x01" + png(8, 6))
    p = os.path.join(out, "pipeline_fuzz")
    for k, text in enumerate([
            "fold, fuse-bn, fuse-act, dce, quantize(int8, weights-only), strip",
            "quantize(fp16)",
            "prune(ratio=0.5), dce",
            "quantize(int8, calib=samples, method=percentile, percentile=99.9, bias=int32)",
            "strip(names, defaults)",
            "upgrade-opset(13), fold"]):
        write(os.path.join(p, "%d.txt" % k), text)
    y = os.path.join(out, "yaml_fuzz")
    write(os.path.join(y, "budget.yaml"),
          "models:\n  - path: out/heads.onnx\n    max-download-bytes: 80KB\n  - path: out/*.onnx\n"
          "    max-params: 1M\n    max-macs: 2G\n    max-growth: 5%\n    warn:\n      max-download-bytes: 60KB\n"
          "      max-growth: 1%\n")
    write(os.path.join(y, "plan.yaml"),
          "model: models/face.onnx\noutput: out/\nimage: {size: 128x128, mean: \"0.5\", std: \"0.5\", "
          "layout: NHWC, channels: rgb}\ndims: {batch: 1}\nsubtasks:\n  detector:\n"
          "    cut: {inputs: [x], outputs: [boxes, scores]}\n    passes: \"quantize(int8, weights-only), strip\"\n"
          "    budget: {max-download-bytes: 200KB, min-sqnr: 30}\n")


if __name__ == "__main__":
    main()
