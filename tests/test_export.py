"""Export stage: Brevitas BNN -> QONNX, and the torch-side golden reference."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from surge_hw.export import (
    SUPPORTED_QONNX_OPS,
    ExportError,
    GoldenSet,
    export_qonnx_model,
    make_golden_set,
    torch_reference,
)

pytestmark = pytest.mark.xdist_group("export")


def randomize_bn(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial BN statistics (incl. negative BN weights) so that thresholds are not all at 0."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            n = m.num_features
            m.running_mean.data = torch.randn(n, generator=g) * 3
            m.running_var.data = torch.rand(n, generator=g) * 5 + 0.5
            m.weight.data = torch.randn(n, generator=g)
            m.bias.data = torch.randn(n, generator=g)
    return model.eval()


def make_tfc(seed: int = 0):
    from brevitas_examples.bnn_pynq.models.FC import FC

    torch.manual_seed(seed)
    model = FC(num_classes=10, weight_bit_width=1, act_bit_width=1, in_bit_width=1, in_channels=1,
               out_features=[64, 64, 64])
    return randomize_bn(model, seed)


def qonnx_execute_batch(onnx_path, x: np.ndarray) -> dict:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes

    m = ModelWrapper(str(onnx_path)).transform(ChangeBatchSize(len(x))).transform(InferShapes())
    return m, execute_onnx(m, {m.graph.input[0].name: x}, return_full_exec_context=True)


def test_tfc_export_is_valid_qonnx_and_bit_exact(tmp_path):
    from qonnx.core.modelwrapper import ModelWrapper

    model = make_tfc()
    out = export_qonnx_model(model, (1, 1, 28, 28), tmp_path / "model.qonnx.onnx")
    assert out == tmp_path / "model.qonnx.onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.qonnx.onnx"]  # no temp or .data files left
    wrapped = ModelWrapper(str(out))
    ops = {n.op_type for n in wrapped.graph.node}
    assert ops <= SUPPORTED_QONNX_OPS and "BipolarQuant" in ops and "MatMul" in ops and "Gemm" not in ops
    assert wrapped.get_tensor_shape(wrapped.graph.input[0].name) == [1, 1, 28, 28]

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (16, 1, 28, 28), dtype=np.uint8)
    x = images.astype(np.float32) / np.float32(255.0)
    m, ctx = qonnx_execute_batch(out, x)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = ctx[m.graph.output[0].name]
    np.testing.assert_array_equal(got, expected)  # bit-exact, float logits included

    # the last MatMul holds the integer dot; torch_reference gets the same from a hook
    dots, logits = torch_reference(model, images)
    last_mm = [n for n in m.graph.node if n.op_type == "MatMul"][-1]
    np.testing.assert_array_equal(ctx[last_mm.output[0]], dots)
    np.testing.assert_array_equal(logits, expected)


def test_torch_reference_is_the_pm1_dot_of_the_last_layer():
    model = make_tfc(3)
    images = np.random.default_rng(0).integers(0, 256, (8, 1, 28, 28), dtype=np.uint8)
    captured = {}
    last = [m for m in model.modules() if type(m).__name__ == "QuantLinear"][-1]
    h = last.register_forward_hook(lambda m, i, o: captured.update(x=i[0].detach()))
    dots, logits = torch_reference(model, images)
    h.remove()
    w = torch.sign(last.quant_weight().value.detach())
    manual = (torch.sign(captured["x"]) @ w.T).numpy()
    np.testing.assert_array_equal(dots, manual)
    assert dots.dtype == np.int64 and logits.shape == (8, 10)
    # +-1 dots over 64 inputs: even numbers in [-64, 64]
    assert np.all(np.abs(dots) <= 64) and np.all(dots % 2 == 0)


def test_export_of_our_training_model(tmp_path):
    models = pytest.importorskip("surge_hw.train.models")
    for kwargs in ({}, {"act_bits": 2}):
        model = randomize_bn(models.build_model("tfc", **kwargs))
        out = export_qonnx_model(model, (1, 1, 28, 28), tmp_path / "bnn.onnx")
        images = np.random.default_rng(0).integers(0, 256, (8, 1, 28, 28), dtype=np.uint8)
        m, ctx = qonnx_execute_batch(out, images.astype(np.float32) / np.float32(255.0))
        dots, _ = torch_reference(model, images)
        last_mm = [n for n in m.graph.node if n.op_type == "MatMul"][-1]
        np.testing.assert_array_equal(ctx[last_mm.output[0]], dots)


def test_golden_set_roundtrip(tmp_path):
    model = make_tfc()
    images = np.random.default_rng(0).integers(0, 256, (12, 1, 28, 28), dtype=np.uint8)
    golden = make_golden_set(model, images, labels=np.arange(12) % 10)
    path = golden.save(tmp_path / "golden.npz")
    loaded = GoldenSet.load(path)
    np.testing.assert_array_equal(loaded.int_dots, golden.int_dots)
    np.testing.assert_array_equal(loaded.images, images)
    assert len(loaded.first(5)) == 5 and len(loaded.first(None)) == 12
    with pytest.raises(ValueError):
        GoldenSet(images.astype(np.float32), golden.int_dots)


def test_unsupported_op_is_refused_and_nothing_is_written(tmp_path):
    from brevitas.nn import QuantIdentity, QuantLinear
    from brevitas_examples.bnn_pynq.models.common import CommonActQuant, CommonWeightQuant

    model = torch.nn.Sequential(
        torch.nn.Flatten(),
        QuantIdentity(act_quant=CommonActQuant, bit_width=1),
        QuantLinear(784, 10, bias=False, weight_quant=CommonWeightQuant, weight_bit_width=1),
        torch.nn.Softmax(dim=1),
    )
    target = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match="Softmax"):
        export_qonnx_model(model, (1, 1, 28, 28), target)
    assert os.listdir(tmp_path) == []
