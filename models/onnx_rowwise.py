"""Per-row activation quantisation for the int8 MiniLM: a post's vector must not depend
on the posts it was batched with.

ONNX Runtime's dynamic quantisation (``DynamicQuantizeLinear``) picks **one** scale and
zero point for the whole activation tensor of a batch, from its minimum and maximum. A
post's int8 activations, hence its vector and its score, then depend on which posts
shared its batch: measured on 398 sample posts, the same post alone and in a batch of
32 differed by up to 0.045 per dimension (cosine down to 0.981). A live worker batches
by arrival, replay by file order and ``vigil serve`` by concurrent requests, so the same
post scored differently in each, and replay could not reproduce live.

This rewrite of the quantised graph gives every row its own scale instead: each token's
activation vector (the rows a MatMul reduces over) is quantised symmetrically by its own
largest magnitude, ``q = round(x * 127 / max|x|) + 128`` (uint8, zero point 128), so no
other row, post or padding changes it. For the attention products, where both operands
are activations, the right-hand operand is scaled per column (the axis the product
does not reduce). Measured (800 TweetEval posts, 2 threads, against the fp32 export):
cosine mean 0.9966 / min 0.9835 (per-tensor: 0.9917 / 0.9740); a post alone and in any
batch identical to the bit; 0.89 of per-tensor's posts/s.

ONNX Runtime's ``MatMulIntegerToFloatFusion`` assumes a per-tensor scale and must be
disabled for the rewritten graph (:data:`DISABLED_OPTIMIZERS`). Used by the one-off
exporter (:mod:`models.onnx_export`), which has ``onnx`` installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["DISABLED_OPTIMIZERS", "rewrite_per_row"]

#: ONNX Runtime graph optimisations that would fold the per-row scale into a scalar one
DISABLED_OPTIMIZERS = ["MatMulIntegerToFloatFusion"]

_EPS = 1e-8  # an all-zero row quantises to zeros instead of dividing by zero


def rewrite_per_row(src: Path, dst: Path) -> int:
    """Replace every ``DynamicQuantizeLinear`` in ``src`` by per-row quantisation and
    write ``dst``; returns how many were replaced."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    const = lambda name, value, dtype=np.float32: numpy_helper.from_array(  # noqa: E731
        np.array(value, dtype=dtype), name)
    graph.initializer.extend([const("rowq_127", 127.0), const("rowq_eps", _EPS),
                              const("rowq_1", 1.0), const("rowq_255", 255.0),
                              const("rowq_128", 128.0), const("rowq_zero", 0.0),
                              const("rowq_zp", 128, np.uint8), const("rowq_flat", [-1], np.int64)])
    # which side of a MatMulInteger each quantised tensor feeds: the left operand is
    # reduced along its last axis, the right one along its second-to-last
    side: dict[str, set[int]] = {}
    for node in graph.node:
        if node.op_type == "MatMulInteger":
            side.setdefault(node.input[0], set()).add(0)
            side.setdefault(node.input[1], set()).add(1)
    nodes, replaced = [], 0
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        x, (q, scale, zero_point) = node.input[0], node.output
        sides = side.get(q, set())
        if len(sides) != 1:
            raise ValueError(f"{q} feeds {sorted(sides) or 'no'} MatMulInteger side(s)")
        left = sides == {0}
        p = f"{x}_rowq_"
        nodes += [
            helper.make_node("Abs", [x], [p + "abs"]),
            helper.make_node("ReduceMax", [p + "abs"], [p + "max"], axes=[-1 if left else -2],
                             keepdims=1),
            helper.make_node("Max", [p + "max", "rowq_eps"], [p + "maxe"]),
            helper.make_node("Div", [p + "maxe", "rowq_127"], [scale]),  # broadcasts downstream
            helper.make_node("Identity", ["rowq_zp"], [zero_point]),
        ]
        if left:
            # QuantizeLinear per axis on the rows of a 2-D view: one fused pass
            nodes += [
                helper.make_node("Shape", [x], [p + "shape"]),
                helper.make_node("Flatten", [x], [p + "rows"], axis=-1),
                helper.make_node("Reshape", [scale, "rowq_flat"], [p + "scale1d"]),
                helper.make_node("Mul", [p + "scale1d", "rowq_zero"], [p + "zero"]),
                helper.make_node("Add", [p + "zero", "rowq_128"], [p + "zpf"]),
                helper.make_node("Cast", [p + "zpf"], [p + "zp1d"], to=TensorProto.UINT8),
                helper.make_node("QuantizeLinear", [p + "rows", p + "scale1d", p + "zp1d"],
                                 [p + "q2d"], axis=0),
                helper.make_node("Reshape", [p + "q2d", p + "shape"], [q]),
            ]
        else:  # scale varies along two axes: no per-axis QuantizeLinear, do it by hand
            nodes += [
                helper.make_node("Div", ["rowq_127", p + "maxe"], [p + "inv"]),
                helper.make_node("Mul", [x, p + "inv"], [p + "scaled"]),
                helper.make_node("Add", [p + "scaled", "rowq_128"], [p + "shifted"]),
                helper.make_node("Clip", [p + "shifted", "rowq_1", "rowq_255"], [p + "clipped"]),
                helper.make_node("Round", [p + "clipped"], [p + "rounded"]),
                helper.make_node("Cast", [p + "rounded"], [q], to=TensorProto.UINT8),
            ]
        replaced += 1
    del graph.node[:]
    graph.node.extend(nodes)
    # shapes recorded for the old per-tensor outputs (scalars, uint8) no longer hold
    kept = [vi for vi in graph.value_info
            if not vi.name.endswith(("_quantized", "_scale", "_zero_point"))]
    del graph.value_info[:]
    graph.value_info.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return replaced
