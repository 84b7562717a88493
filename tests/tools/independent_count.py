#!/usr/bin/python3
"""An independent count of a model's parameters, weight bytes and ops, made with
the onnx Python package (Debian's python3-onnx), for checking `pare inspect`.

Counts initializers and Constant-node tensors (subgraphs included) as
parameters; Constant nodes are weights, not ops, so they are left out of the op
histogram and node counts, as pare reports them."""
import json
import sys

import onnx
from onnx import numpy_helper

DTYPE_NAMES = {1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string",
               9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64", 16: "bfloat16"}


def constant_tensor(node):
    attr = node.attribute[0]
    if attr.name == "value":
        return numpy_helper.to_array(attr.t), attr.t.data_type
    if attr.name == "value_float":
        return [attr.f], 1
    if attr.name == "value_floats":
        return list(attr.floats), 1
    if attr.name == "value_int":
        return [attr.i], 7
    if attr.name == "value_ints":
        return list(attr.ints), 7
    raise ValueError("unexpected Constant attribute " + attr.name)


def walk(graph, stats, top):
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        add_weight(stats, array.size, array.nbytes, init.data_type)
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            values, dtype = constant_tensor(node)
            if isinstance(values, list):  # value_float(s) / value_int(s)
                add_weight(stats, len(values), len(values) * (4 if dtype == 1 else 8), dtype)
            else:
                add_weight(stats, values.size, values.nbytes, dtype)
            continue
        stats["nodes_total"] += 1
        if top:
            stats["nodes"] += 1
        op = node.op_type if node.domain in ("", "ai.onnx") else node.domain + ":" + node.op_type
        stats["ops"][op] = stats["ops"].get(op, 0) + 1
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                walk(attr.g, stats, False)
            for g in attr.graphs:
                walk(g, stats, False)


def add_weight(stats, size, nbytes, dtype):
    name = DTYPE_NAMES[dtype]
    stats["parameters"] += int(size)
    stats["weight_bytes"][name] = stats["weight_bytes"].get(name, 0) + int(nbytes)
    stats["weight_bytes"]["total"] = stats["weight_bytes"].get("total", 0) + int(nbytes)


def conv_macs(model):
    """Conv MACs from ONNX shape inference: output elements x C_in/group x kernel size."""
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input):
        dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    weights = {i.name: list(i.dims) for i in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        out, w = shapes.get(node.output[0]), weights.get(node.input[1])
        if out is None or w is None or None in out:
            return None
        kernel = 1
        for k in w[2:]:
            kernel *= k
        elements = 1
        for d in out:
            elements *= d
        total += elements * w[1] * kernel
    return total


def main():
    model = onnx.load(sys.argv[1])
    stats = {"parameters": 0, "weight_bytes": {}, "ops": {}, "nodes": 0, "nodes_total": 0}
    walk(model.graph, stats, True)
    stats["conv_macs"] = conv_macs(model)
    print(json.dumps(stats, sort_keys=True))


if __name__ == "__main__":
    main()
