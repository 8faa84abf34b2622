"""FINN's own RTL sliding-window generator (finn-rtllib ``swg/``) for an IR :class:`SlidingWindow`.

:func:`write_swg_sources` builds a one-node graph holding FINN's ``ConvolutionInputGenerator_rtl`` with the
layer's attributes and lets FINN's ``generate_hdl`` fill its templates, so the parameters (buffer depth,
address increments, loop counts) are exactly the ones a FINN build computes. The result is FINN's wrapper
``<module_name>`` (AXI-Stream ``in0_V``/``out0_V``, ``ap_clk``, active-low ``ap_rst_n``) and its
``<module_name>_impl``; the package ``swg_pkg.sv`` and ``swg_common.sv`` (controller, buffers) are copied
from finn-rtllib unchanged and are the same for every SWG, so several generated SWGs share one copy.

finn-rtllib is BSD-3-Clause (Copyright (C) 2022-2024, Advanced Micro Devices, Inc.); the generated files
keep FINN's license header.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .ir import IRError, SlidingWindow

SWG_DOMAIN = "finn.custom_op.fpgadataflow.rtl"
SWG_OP = "ConvolutionInputGenerator_rtl"
SHARED_SOURCES = ("swg_pkg.sv", "swg_common.sv")
PORTS = {
    "clk": "ap_clk",
    "rst_n": "ap_rst_n",  # active low
    "in_tdata": "in0_V_TDATA", "in_tvalid": "in0_V_TVALID", "in_tready": "in0_V_TREADY",
    "out_tdata": "out0_V_TDATA", "out_tvalid": "out0_V_TVALID", "out_tready": "out0_V_TREADY",
}


def finn_datatype(bits: int, signed: bool) -> str:
    """The FINN DataType name of a ``bits``-wide element: BINARY/BIPOLAR for 1 bit, else INTn/UINTn."""
    if bits == 1:
        return "BIPOLAR" if signed else "BINARY"
    return f"{'INT' if signed else 'UINT'}{bits}"


def make_swg_model(layer: SlidingWindow, module_name: str, code_gen_dir: Path | str = ""):
    """A qonnx ModelWrapper with one ``ConvolutionInputGenerator_rtl`` node named ``module_name``."""
    from onnx import TensorProto, helper
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.basic import qonnx_make_model

    (h, w), (oh, ow), (kh, kw) = layer.ifm_dim, layer.ofm_dim, layer.kernel
    c = layer.channels
    dt = finn_datatype(layer.in_bits, layer.in_signed)
    inp = helper.make_tensor_value_info("inp", TensorProto.FLOAT, [1, h, w, c])
    outp = helper.make_tensor_value_info("outp", TensorProto.FLOAT, [1, oh, ow, kh * kw * c])
    node = helper.make_node(
        SWG_OP, ["inp"], ["outp"], name=module_name, domain=SWG_DOMAIN, backend="fpgadataflow",
        ConvKernelDim=[kh, kw], IFMChannels=c, IFMDim=[h, w], OFMDim=[oh, ow], SIMD=layer.simd,
        Stride=list(layer.stride), Dilation=list(layer.dilation), inputDataType=dt, outputDataType=dt,
        depthwise=int(bool(layer.depthwise)), parallel_window=0, is1D=0, M=1,
        code_gen_dir_ipgen=str(code_gen_dir))
    graph = helper.make_graph([node], f"{module_name}_graph", [inp], [outp])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="surge_hw"))
    model.set_tensor_datatype("inp", DataType[dt])
    model.set_tensor_datatype("outp", DataType[dt])
    return model


def _finn_check(layer: SlidingWindow, op) -> str:
    """FINN's implementation style for the node, or IRError with FINN's own message."""
    try:
        return op.select_impl_style()
    except AssertionError as e:
        raise IRError(f"{layer.name}: FINN {SWG_OP} rejects this configuration: {e}") from None


def write_swg_sources(layer: SlidingWindow, module_name: str, out_dir: Path,
                      fpgapart: str = "xc7z020clg400-1", clk_ns: float = 10.0) -> dict:
    """Generate FINN's SWG for ``layer`` as Verilog module ``module_name`` in ``out_dir``.

    FINN picks the implementation style itself (``select_impl_style``): "default" (addressable cyclic
    buffer) for every K > 1 window with ``parallel_window=0``, "parallel" for 1x1 kernels; both are
    generated. ``clk_ns`` is passed to ``generate_hdl`` (the SWG templates do not use it).

    Returns ``{"files": [swg_pkg.sv, <name>_wrapper.v, <name>_impl.sv, swg_common.sv]`` (absolute paths in
    compile order, package first), ``"module"``: the wrapper's name (= ``module_name``), ``"impl_module"``
    (``<name>_impl``), ``"ports"``: :data:`PORTS`, ``"in_width_padded"`` / ``"out_width_padded"``: the TDATA
    port widths (FINN rounds the stream widths up to multiples of 8), ``"in_bits"``/``"out_bits"``: the
    unpadded ones (the low bits of TDATA; the padding of out0_V_TDATA is driven 0), ``"exp_cycles"``: FINN's
    ``get_exp_cycles()``, ``"impl_style"``, ``"buffer_depth"`` (elements of SIMD*bits) and ``"datatype"``
    (the FINN DataType name)}.
    Raises :class:`IRError` naming the layer when the layer or FINN rejects the configuration.
    """
    from qonnx.custom_op.registry import getCustomOp
    from qonnx.util.basic import roundup_to_integer_multiple

    layer.check()
    if not module_name.isidentifier():
        raise IRError(f"{layer.name}: module name {module_name!r} is not a Verilog identifier")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    model = make_swg_model(layer, module_name, out_dir)
    op = getCustomOp(model.graph.node[0])
    style = _finn_check(layer, op)
    if op.get_nodeattr("dynamic_mode"):
        raise IRError(f"{layer.name}: dynamic_mode SWG is not supported")

    from surge_hw.finn.vivado import finn_build_dir
    from finn.util.settings import get_settings

    with finn_build_dir(out_dir / ".finn_scratch"):
        rtllib = Path(get_settings().finn_rtllib) / "swg"
        try:
            op.generate_hdl(model, fpgapart, clk_ns)
        except AssertionError as e:
            raise IRError(f"{layer.name}: FINN {SWG_OP} code generation failed: {e}") from None
        rel = op.get_rtl_file_list(abspath=False)
    shutil.rmtree(out_dir / ".finn_scratch", ignore_errors=True)
    for name in SHARED_SOURCES:
        src, dst = rtllib / name, out_dir / name
        if not dst.is_file() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
    files = [out_dir / Path(f).name for f in rel]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise IRError(f"{layer.name}: FINN {SWG_OP} did not write {missing}")
    in_bits, out_bits = op.get_instream_width(), op.get_outstream_width()
    return {
        "files": files,
        "module": op.get_nodeattr("gen_top_module"),
        "impl_module": op.get_nodeattr("gen_top_module") + "_impl",
        "ports": dict(PORTS),
        "in_width_padded": roundup_to_integer_multiple(in_bits, 8),
        "out_width_padded": roundup_to_integer_multiple(out_bits, 8),
        "in_bits": in_bits,
        "out_bits": out_bits,
        "exp_cycles": int(op.get_exp_cycles()),
        "impl_style": style,
        "buffer_depth": int(op.get_buffer_depth()),
        "datatype": finn_datatype(layer.in_bits, layer.in_signed),
    }
