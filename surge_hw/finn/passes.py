"""Our own graph passes for the FINN flow, in qonnx ``Transformation`` style: ``apply(model) -> (model, changed)``.

Checks raise :class:`FinnFlowError` naming the node and why; they never modify the graph. The rest fill gaps
between FINN's stock passes for binary networks (see each docstring for the math).
"""
from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from .errors import FinnFlowError

FPGADATAFLOW_DOMAIN = "finn.custom_op.fpgadataflow"
MATMUL_OPS = ("MatMul", "Gemm", "XnorPopcountMatMul")
# layout-only ops that may sit anywhere in a streamlined graph (they move data, never compute)
LAYOUT_OPS = ("Transpose", "Reshape", "Flatten", "Im2Col", "MaxPoolNHWC", "MaxPool", "Squeeze", "Unsqueeze")
# ops that end up in the parent graph around the accelerator: input re-layout in front, the final
# float scale/bias (TensorNorm, BN of the last layer) behind
HEAD_OPS = ("Transpose", "Reshape", "Flatten")
TAIL_OPS = ("Mul", "Add", "Sub", "Div")


def is_hw_node(node) -> bool:
    return node.domain.startswith(FPGADATAFLOW_DOMAIN)


def is_mvau(node) -> bool:
    return node.op_type.startswith("MVAU")


def downstream_op_types(model: ModelWrapper, node) -> set[str]:
    """op_types of every node reachable from ``node``'s outputs."""
    seen, todo, ops = set(), list(node.output), set()
    while todo:
        tensor = todo.pop()
        for consumer in model.find_consumers(tensor) or []:
            if consumer.name in seen:
                continue
            seen.add(consumer.name)
            ops.add(consumer.op_type)
            todo.extend(consumer.output)
    return ops


# ------------------------------------------------------------------------------------------ input checks


class CheckGraphInput(Transformation):
    """The graph must have one NCHW input of batch 1 (and one output): that is what the torch model took."""

    def __init__(self, step: str = "load"):
        super().__init__()
        self.step = step

    def apply(self, model):
        if len(model.graph.input) != 1 or len(model.graph.output) != 1:
            raise FinnFlowError(self.step, f"expected one graph input and one output, got "
                                f"{len(model.graph.input)} and {len(model.graph.output)}")
        name = model.graph.input[0].name
        shape = model.get_tensor_shape(name)
        if shape is None or len(shape) != 4 or shape[0] != 1 or any(d is None or d < 1 for d in shape):
            raise FinnFlowError(self.step, f"input must be a static NCHW image batch (1, C, H, W), got {shape}",
                                node=name)
        return model, False


class CheckSupportedOps(Transformation):
    """Every node must be one of ``allowed`` (for the QONNX input: Quant/BipolarQuant, MatMul/Gemm/Conv, ...)."""

    def __init__(self, allowed, step: str = "load"):
        super().__init__()
        self.allowed = frozenset(allowed)
        self.step = step

    def apply(self, model):
        for node in model.graph.node:
            if node.op_type not in self.allowed:
                raise FinnFlowError(self.step, f"op {node.op_type!r} is not supported by the binary FINN flow "
                                    f"(supported: {', '.join(sorted(self.allowed))})", node=node.name)
        if not any(n.op_type in ("BipolarQuant", "MultiThreshold") for n in model.graph.node):
            raise FinnFlowError(self.step, "no BipolarQuant node: not a binary neural network")
        from surge_hw.export.qonnx_export import BINARY_WEIGHTS_ONLY, multi_bit_weight_quant

        bad = multi_bit_weight_quant(model)
        if bad is not None:
            raise FinnFlowError(self.step, f"{bad[1]}-bit weights; {BINARY_WEIGHTS_ONLY}", node=bad[0])
        for node in model.graph.node:
            if node.op_type in ("MatMul", "Gemm", "Conv") and model.get_initializer(node.input[1]) is None \
                    and model.find_producer(node.input[1]) is None:
                raise FinnFlowError(self.step, "weights are a graph input, not a constant", node=node.name)
        return model, False


# ------------------------------------------------------------------------------------------ preprocessing


class PrependToTensorScale(Transformation):
    """Make the graph input raw uint8 pixels: insert ``x = p * (1/255)`` in front (torchvision ``ToTensor``).

    Streamlining then folds the 1/255 (and the model's own ``2x - 1``) into the first thresholds, so the
    accelerator compares raw pixels against integer thresholds. The input is annotated UINT8.
    """

    def apply(self, model):
        graph = model.graph
        old_in = graph.input[0]
        if model.get_tensor_datatype(old_in.name) == DataType["UINT8"]:
            return model, False  # already done
        float_name = old_in.name
        uint8_name = model.make_new_valueinfo_name()
        shape = model.get_tensor_shape(float_name)
        scale_name = model.make_new_valueinfo_name()
        model.set_initializer(scale_name, np.asarray(1.0 / 255.0, dtype=np.float32))
        new_in = helper.make_tensor_value_info(uint8_name, TensorProto.FLOAT, shape)
        graph.input.remove(old_in)
        graph.input.insert(0, new_in)
        graph.value_info.append(helper.make_tensor_value_info(float_name, TensorProto.FLOAT, shape))
        graph.node.insert(0, helper.make_node("Mul", [uint8_name, scale_name], [float_name],
                                              name="ToTensorScale"))
        model.set_tensor_datatype(uint8_name, DataType["UINT8"])
        return model, False


# ------------------------------------------------------------------------------------------ streamlining


class CheckStreamlined(Transformation):
    """After streamlining, only integer compute may remain between input and output.

    Allowed: MultiThreshold (BN + sign as integer thresholds), XnorPopcountMatMul, MatMul on integer inputs and
    integer weights, layout ops; float Mul/Add/Sub/Div only behind the last MatMul (TensorNorm's scale/bias,
    which stays in the parent graph). A float MatMul, a float Mul in the datapath, or a leftover Conv/BN/Quant
    means the network is not a FINN-compatible BNN.
    """

    DATAPATH = ("MultiThreshold", "XnorPopcountMatMul", "MatMul")

    def __init__(self, step: str = "streamline"):
        super().__init__()
        self.step = step

    def apply(self, model):
        for node in model.graph.node:
            op = node.op_type
            if op in ("MatMul", "XnorPopcountMatMul"):
                for i, what in ((0, "input"), (1, "weights")):
                    dt = model.get_tensor_datatype(node.input[i])
                    if not dt.is_integer():
                        raise FinnFlowError(self.step, f"float MatMul left after streamlining: its {what} "
                                            f"{node.input[i]!r} have type {dt.name}, so no XNOR/integer MVAU can "
                                            f"compute it (a scale or bias could not be absorbed)", node=node.name)
                if model.get_initializer(node.input[1]) is None:
                    raise FinnFlowError(self.step, "MatMul weights are not constant", node=node.name)
            elif op in TAIL_OPS:
                behind = downstream_op_types(model, node) & set(self.DATAPATH)
                if behind:
                    raise FinnFlowError(self.step, f"float {op} left in the datapath (before "
                                        f"{', '.join(sorted(behind))}): streamlining could not absorb it into "
                                        f"thresholds", node=node.name)
            elif op not in self.DATAPATH + LAYOUT_OPS:
                raise FinnFlowError(self.step, f"op {op!r} left after streamlining: it cannot be mapped to "
                                    f"FINN hardware", node=node.name)
        return model, False


class RestoreOutputPolarity(Transformation):
    """Undo a sign flip that streamlining moved into the LAST layer's weights, so that the accelerator's
    integer output stays the PyTorch model's integer output.

    Why: with a negative final scale (e.g. TensorNorm weight < 0), FINN factors out the sign
    (FactorOutMulSignMagnitude) and absorbs the -1 into the preceding +-1 weights (Absorb1BitMulIntoMatMul):
    column j computes ``d' = -d``. Correct, but then the hardware's output no longer equals torch's ``d``.
    We flip those columns back and move the sign into the float tail instead: for XNOR layers
    ``p' = MW - p`` (since ``d = 2p - MW``), for integer MatMuls ``y' = -y``; the tail
    ``f(v) = A*v + B`` (composed from its Mul/Add/Sub/Div) becomes one ``Mul(A*s)`` + ``Add(A*c + B)`` with
    ``v' = s*v + c`` per column. ``reference_weights`` are the last MatMul's +-1 weights before streamlining.
    """

    def __init__(self, reference_weights: np.ndarray | None, step: str = "streamline"):
        super().__init__()
        self.ref = None if reference_weights is None else np.asarray(reference_weights, dtype=np.float64)
        self.step = step

    def apply(self, model):
        if self.ref is None:
            return model, False
        mms = [n for n in model.graph.node if n.op_type in ("MatMul", "XnorPopcountMatMul")]
        if not mms:
            return model, False
        last = mms[-1]
        w = model.get_initializer(last.input[1]).astype(np.float64)
        xnor = last.op_type == "XnorPopcountMatMul"
        w_pm1 = 2 * w - 1 if xnor else w
        if w_pm1.shape != self.ref.shape:
            raise FinnFlowError(self.step, f"last layer weights changed shape {self.ref.shape} -> {w_pm1.shape}",
                                node=last.name)
        same = np.all(w_pm1 == self.ref, axis=0)
        flipped = np.all(w_pm1 == -self.ref, axis=0)
        if not np.all(same | flipped):
            bad = int(np.flatnonzero(~(same | flipped))[0])
            raise FinnFlowError(self.step, f"streamlining changed the last layer's weights (column {bad}) beyond "
                                "a sign flip", node=last.name)
        flipped &= ~same  # an all-zero column counts as unchanged
        if not flipped.any():
            return model, False
        tail = self._tail(model, last)
        if not tail:
            raise FinnFlowError(self.step, "last layer weights were sign-flipped but no float tail exists to "
                                "carry the sign", node=last.name)
        mh = w.shape[1]
        a, b = self._compose(model, tail, mh)
        s = np.where(flipped, -1.0, 1.0)
        c = np.where(flipped, float(w.shape[0]) if xnor else 0.0, 0.0)
        w_fixed = w.copy()
        w_fixed[:, flipped] = (1 - w[:, flipped]) if xnor else -w[:, flipped]
        model.set_initializer(last.input[1], w_fixed.astype(np.float32))
        # replace the tail by one Mul + one Add
        out_name = tail[-1].output[0]
        for node in tail:
            model.graph.node.remove(node)
        mul_param, mul_out, add_param = (model.make_new_valueinfo_name() for _ in range(3))
        model.set_initializer(mul_param, (a * s).astype(np.float32))
        model.set_initializer(add_param, (a * c + b).astype(np.float32))
        idx = list(model.graph.node).index(last) + 1
        model.graph.node.insert(idx, helper.make_node("Mul", [last.output[0], mul_param], [mul_out],
                                                      name="OutputScale"))
        model.graph.node.insert(idx + 1, helper.make_node("Add", [mul_out, add_param], [out_name],
                                                          name="OutputBias"))
        model.set_tensor_datatype(mul_out, DataType["FLOAT32"])
        return model, False

    def _tail(self, model, last):
        tail, tensor = [], last.output[0]
        out = model.graph.output[0].name
        while tensor != out:
            consumers = model.find_consumers(tensor) or []
            if len(consumers) != 1 or consumers[0].op_type not in TAIL_OPS:
                raise FinnFlowError(self.step, "the last layer's output feeds something other than a chain of "
                                    "Mul/Add/Sub/Div", node=last.name)
            node = consumers[0]
            if node.input[0] != tensor or model.get_initializer(node.input[1]) is None:
                raise FinnFlowError(self.step, "unsupported float tail (non-constant operand)", node=node.name)
            tail.append(node)
            tensor = node.output[0]
        return tail

    @staticmethod
    def _compose(model, tail, mh):
        a, b = np.ones(mh), np.zeros(mh)
        for node in tail:
            k = np.broadcast_to(model.get_initializer(node.input[1]).astype(np.float64).reshape(-1), (mh,))
            if node.op_type == "Mul":
                a, b = a * k, b * k
            elif node.op_type == "Div":
                a, b = a / k, b / k
            elif node.op_type == "Add":
                b = b + k
            else:  # Sub
                b = b - k
        return a, b


# ------------------------------------------------------------------------------------------ HW layers


class CheckHWConverted(Transformation):
    """After conversion to HW layers: everything between the first and the last HW node must be HW, and what is
    left around them may only be input re-layout in front (Reshape/Transpose) and the float scale/bias behind."""

    def __init__(self, step: str = "hw_layers"):
        super().__init__()
        self.step = step

    def apply(self, model):
        nodes = list(model.graph.node)
        hw = [i for i, n in enumerate(nodes) if is_hw_node(n)]
        if not hw:
            raise FinnFlowError(self.step, "no node could be converted to a FINN HW layer")
        first, last = hw[0], hw[-1]
        for i, node in enumerate(nodes):
            if is_hw_node(node):
                continue
            if first < i < last:
                raise FinnFlowError(self.step, f"op {node.op_type!r} could not be converted to a HW layer and sits "
                                    "between HW layers (the accelerator must be one dataflow pipeline)",
                                    node=node.name)
            allowed = HEAD_OPS if i < first else TAIL_OPS
            if node.op_type not in allowed:
                raise FinnFlowError(self.step, f"op {node.op_type!r} could not be converted to a HW layer "
                                    f"(only {'/'.join(allowed)} may stay {'before' if i < first else 'after'} "
                                    "the accelerator)", node=node.name)
        return model, False


class InferBinaryMVAUKeepActVal(Transformation):
    """FINN's ``InferBinaryMatrixVectorActivation`` (XnorPopcountMatMul + MultiThreshold -> XNOR MVAU), but the
    absorbed MultiThreshold's output bias is kept as ``ActVal``.

    Why: FINN sets ``ActVal = min(out_dtype)``, i.e. assumes ``out = count + min``. Brevitas' narrow-range 2-bit
    activations are {-1, 0, +1}: INT2 with bias -1, not -2, so w1a2 nets came out shifted by one (caught by the
    golden check on 05_hw_layers). The integer MVAU conversion already uses the bias; only this one did not.
    """

    def apply(self, model):
        from finn.transformation.fpgadataflow.convert_to_hw.binary_matrix_vector_activation import (
            InferBinaryMatrixVectorActivation,
        )

        biases = {}
        for node in model.graph.node:
            if node.op_type != "XnorPopcountMatMul":
                continue
            consumers = model.find_consumers(node.output[0]) or []
            if len(consumers) == 1 and consumers[0].op_type == "MultiThreshold":
                mt = getCustomOp(consumers[0])
                if DataType[mt.get_nodeattr("out_dtype")].bitwidth() > 1:
                    biases[consumers[0].output[0]] = (consumers[0].name, mt.get_nodeattr("out_scale"),
                                                      mt.get_nodeattr("out_bias"))
        model = model.transform(InferBinaryMatrixVectorActivation())
        for node in model.graph.node:
            if is_mvau(node) and node.output[0] in biases:
                name, scale, bias = biases[node.output[0]]
                if scale != 1 or bias != int(bias):
                    raise FinnFlowError("05_hw_layers", f"MultiThreshold out_scale={scale}, out_bias={bias}: an MVAU "
                                        "needs scale 1 and an integer bias", node=name)
                getCustomOp(node).set_nodeattr("ActVal", int(bias))
        return model, False


class SetXnorPopcountAccumulator(Transformation):
    """XNOR MVAUs accumulate a popcount ``p`` in ``[0, MW]``: accumulator UINT(ceil(log2(MW+1))).

    FINN's value-based MinimizeAccumulatorWidth computes the range of ``{0,1} x {-1,+1}`` products instead
    (e.g. INT10 = [-512, 511] for MW=784), which a popcount above 511 would overflow in hardware. For a
    noActivation MVAU (the last layer) the output type is the accumulator, rounded up to a byte multiple when it
    leaves the accelerator (as FINN does).
    """

    def apply(self, model):
        for node in model.graph.node:
            if not is_mvau(node):
                continue
            inst = getCustomOp(node)
            if inst.get_nodeattr("binaryXnorMode") != 1:
                continue
            mw = inst.get_nodeattr("MW")
            bits = max(1, math.ceil(math.log2(mw + 1)))
            inst.set_nodeattr("accDataType", f"UINT{bits}")
            if inst.get_nodeattr("noActivation") == 1:
                if model.find_direct_successors(node) is None:
                    bits = 8 * math.ceil(bits / 8)
                inst.set_nodeattr("outputDataType", f"UINT{bits}")
                model.set_tensor_datatype(node.output[0], DataType[f"UINT{bits}"])
        return model, False


class ClipXnorThresholds(Transformation):
    """XNOR MVAU thresholds ``T`` act on a popcount ``p`` in ``[0, MW]``: ``p >= T`` equals
    ``p >= clip(ceil(T), 0, MW + 1)`` for every reachable ``p``, so clipping is exact.

    Negative thresholds do occur (BN with a large bias makes a neuron always fire) and trip FINN's
    non-negativity assert in HW code generation.
    """

    def apply(self, model):
        for node in model.graph.node:
            if not is_mvau(node) or len(node.input) < 3:
                continue
            inst = getCustomOp(node)
            if inst.get_nodeattr("binaryXnorMode") != 1 or inst.get_nodeattr("noActivation") == 1:
                continue
            thr = model.get_initializer(node.input[2])
            mw = inst.get_nodeattr("MW")
            clipped = np.clip(np.ceil(thr), 0, mw + 1).astype(np.float32)
            model.set_initializer(node.input[2], clipped)
        return model, False


class KeepBipolarWeightType(Transformation):
    """Keep +-1 weights typed BIPOLAR (1 bit each) after FINN's weight bit-width minimisation, which would
    widen them to INT2. (XNOR layers store them as BINARY {0,1} already and are not touched.)"""

    def apply(self, model):
        for node in model.graph.node:
            if not is_mvau(node):
                continue
            inst = getCustomOp(node)
            if inst.get_nodeattr("binaryXnorMode") == 1:
                continue
            w = model.get_initializer(node.input[1])
            if w is not None and np.all(np.abs(w) == 1):
                inst.set_nodeattr("weightDataType", "BIPOLAR")
                model.set_tensor_datatype(node.input[1], DataType["BIPOLAR"])
        return model, False


# ------------------------------------------------------------------------------------------ fast streamlining


def _one_bit_mul_after(model, node, op_type: str):
    """(weights, the +-1 Mul consuming ``node``'s output, its factor) when ``node`` is an ``op_type`` with constant
    weights followed by a 1-bit Mul; else None."""
    if node.op_type != op_type or model.is_fork_node(node):
        return None
    w = model.get_initializer(node.input[1])
    consumer = model.find_consumer(node.output[0])
    if w is None or consumer is None or consumer.op_type != "Mul":
        return None
    a = model.get_initializer(consumer.input[1])
    if a is None or model.get_tensor_datatype(consumer.input[1]).bitwidth() != 1:
        return None
    return w, consumer, a


def _absorb_if_allowed(model, node, consumer, w_new) -> bool:
    """Replace the weights and drop the Mul when the flipped weights still fit the weight datatype."""
    if not np.all(model.get_tensor_datatype(node.input[1]).allowed(w_new)):
        return False
    model.set_initializer(node.input[1], w_new)
    node.output[0] = consumer.output[0]
    model.graph.node.remove(consumer)
    return True


class Absorb1BitMulIntoMatMulVectorised(Transformation):
    """FINN's ``Absorb1BitMulIntoMatMul`` (a +-1 Mul after a MatMul flips weight columns: ``(x W) * a =
    x (W * a)``), with the weight-datatype check done on the whole array at once: FINN checks every weight
    through ``np.vectorize``, 20+ s on CNV."""

    def apply(self, model):
        graph_modified = False
        for n in list(model.graph.node):
            found = _one_bit_mul_after(model, n, "MatMul")
            if found is None:
                continue
            w, consumer, a = found
            w_new = a * w
            assert w_new.shape == w.shape, "1-bit Mul changed the weight shape"
            graph_modified |= _absorb_if_allowed(model, n, consumer, w_new)
        return model, graph_modified


class Absorb1BitMulIntoConvVectorised(Transformation):
    """FINN's ``Absorb1BitMulIntoConv`` (per-output-channel or scalar +-1 Mul into the conv weights), with the
    weight-datatype check vectorised."""

    def apply(self, model):
        graph_modified = False
        for n in list(model.graph.node):
            found = _one_bit_mul_after(model, n, "Conv")
            if found is None:
                continue
            w, consumer, a = found
            if not (np.prod(a.shape) == 1 or len([d for d in a.shape if d > 1]) == 1):
                continue  # only scalar or per-channel factors
            w_new = a.reshape(-1, 1, 1, 1) * w
            assert w_new.shape == w.shape, "1-bit Mul changed the conv weight shape"
            graph_modified |= _absorb_if_allowed(model, n, consumer, w_new)
        return model, graph_modified


class StreamlineBinary(Transformation):
    """FINN's ``Streamline`` (arXiv:1709.04060): the same passes in the same order, each followed by the same
    tidy-up, with the two 1-bit absorptions vectorised (see above). Moves float scales/biases forward and
    absorbs them (and BatchNorm) into MultiThreshold nodes, leaving integer-only MatMuls."""

    def apply(self, model):
        from qonnx.transformation.batchnorm_to_affine import BatchNormToAffine
        from qonnx.transformation.general import (
            ConvertDivToMul,
            ConvertSubToAdd,
            GiveReadableTensorNames,
            GiveUniqueNodeNames,
        )
        from qonnx.transformation.infer_data_layouts import InferDataLayouts
        from qonnx.transformation.infer_datatypes import InferDataTypes
        from qonnx.transformation.remove import RemoveIdentityOps

        from finn.transformation.streamline import absorb, collapse_repeated, reorder
        from finn.transformation.streamline.sign_to_thres import ConvertSignToThres

        passes = [
            ConvertSubToAdd(), ConvertDivToMul(), BatchNormToAffine(), ConvertSignToThres(),
            reorder.MoveMulPastMaxPool(), absorb.AbsorbScalarBiasIntoMultiThreshold(),
            reorder.MoveScalesPastIm2Col(), reorder.MoveScalarLinearPastInvariants(), reorder.MoveAddPastMul(),
            reorder.MoveScalarAddPastMatMul(), reorder.MoveAddPastConv(), reorder.MoveScalarMulPastMatMul(),
            reorder.MoveScalarMulPastConv(), reorder.MoveAddPastMul(), collapse_repeated.CollapseRepeatedAdd(),
            collapse_repeated.CollapseRepeatedMul(), reorder.MoveMulPastMaxPool(),
            absorb.AbsorbAddIntoMultiThreshold(), absorb.FactorOutMulSignMagnitude(),
            absorb.AbsorbMulIntoMultiThreshold(), Absorb1BitMulIntoMatMulVectorised(),
            Absorb1BitMulIntoConvVectorised(),
        ]
        for p in passes:
            model = model.transform(p)
            for tidy in (RemoveIdentityOps(), GiveUniqueNodeNames(), GiveReadableTensorNames(), InferDataTypes(),
                         InferDataLayouts()):
                model = model.transform(tidy)
        return model, False


class KeepInputThresholdOnHost(Transformation):
    """``--input-format packed``: the first HW layer, a Thresholding that binarizes the raw pixels (TFC/SFC/LFC's
    input quantizer, ``pixel >= 128``), goes back to a plain qonnx ``MultiThreshold`` with the same thresholds,
    output type and bias. ``CreateDataflowPartition`` then leaves it in the parent graph, in front of the
    accelerator, so the accelerator's input is 1 bit per pixel (784 bits = 13 beats of 64) and folding and FINN's
    estimates no longer count a layer the host runs (``surge_hw.rtl.packing.apply_host_steps``).

    Why not FINN: FINN has no pass for moving a layer out of the dataflow partition; this is the inverse of its
    ``InferThresholdingLayer`` for one node. Refuses (naming the node) when the first layer is no 1-bit
    threshold, e.g. CNV's first layer, which quantizes the pixels to INT8 for an integer MVAU.
    """

    def __init__(self, step: str = "06_dataflow_parent"):
        super().__init__()
        self.step = step

    def apply(self, model):
        hw = [n for n in model.graph.node if is_hw_node(n)]
        if not hw:
            raise FinnFlowError(self.step, "no HW layer to take the input threshold from")
        node = hw[0]
        fix = "build with --input-format uint8 (the accelerator then thresholds the uint8 pixels itself)"
        if not node.op_type.startswith("Thresholding"):
            raise FinnFlowError(self.step, f"--input-format packed needs a binarizing Thresholding as the first "
                                f"layer, got {node.op_type}; {fix}", node=node.name)
        inst = getCustomOp(node)
        odt = DataType[inst.get_nodeattr("outputDataType")]
        if odt.bitwidth() != 1:
            raise FinnFlowError(self.step, f"--input-format packed needs a 1-bit first layer, {node.op_type} outputs "
                                f"{odt.name} (e.g. CNV's INT8 pixel quantizer); {fix}", node=node.name)
        shape = model.get_tensor_shape(node.input[0])
        mt = helper.make_node("MultiThreshold", [node.input[0], node.input[1]], [node.output[0]],
                              domain="qonnx.custom_op.general", name=f"Host{node.name}", out_dtype=odt.name,
                              out_bias=float(inst.get_nodeattr("ActVal")),
                              data_layout="NC" if len(shape) == 2 else "NHWC")
        idx = list(model.graph.node).index(node)
        model.graph.node.remove(node)
        model.graph.node.insert(idx, mt)
        return model, False
