"""Bring your own model and test data (issue 14 §1): a Brevitas model that is NOT one of surge_hw's goes
export -> build -> rtl -> rtlsim -> compare bit-exact on real MNIST test images, from a model file
(``surge-hw export --model-file``), and as a bare QONNX file with the user's test vectors (``build --golden``).

The model is defined here, in the test file, with Brevitas' own binary quantizers (scale 0.1 weights, not the
zoo's scale-1 ones); ``tests/test_byo_model.py:build_model`` is the ``--model-file`` spec.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from brevitas.nn import QuantIdentity, QuantLinear
from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst

from surge_hw.cli import main

pytestmark = pytest.mark.xdist_group("byo_model")
N = 100  # real MNIST test images through every stage


class TwoHiddenBinaryMLP(nn.Module):
    """784 -> 48 -> 32 -> 10, binary weights and activations, BN between; takes pixels / 255 as the zoo does."""

    def __init__(self):
        super().__init__()
        self.input_quant = QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
        self.fc1 = QuantLinear(784, 48, bias=False, weight_quant=SignedBinaryWeightPerTensorConst)
        self.bn1 = nn.BatchNorm1d(48)
        self.act1 = QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
        self.fc2 = QuantLinear(48, 32, bias=False, weight_quant=SignedBinaryWeightPerTensorConst)
        self.bn2 = nn.BatchNorm1d(32)
        self.act2 = QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
        self.fc3 = QuantLinear(32, 10, bias=False, weight_quant=SignedBinaryWeightPerTensorConst)

    def forward(self, x):
        x = self.input_quant(2.0 * x.flatten(1) - 1.0)
        x = self.act1(self.bn1(self.fc1(x)))
        x = self.act2(self.bn2(self.fc2(x)))
        return self.fc3(x)


def build_model() -> nn.Module:
    """The ``--model-file`` callable."""
    torch.manual_seed(0)
    return TwoHiddenBinaryMLP()


def not_a_module():
    return {"fc": 1}


def assert_labels_agree_but_for_float_ties(labels, golden: dict) -> None:
    """Labels from the integer outputs equal PyTorch's argmax, except where PyTorch's float logits break a tie
    between equal integer outputs (Brevitas' 0.1 weight scale: the float sums of +-0.1 round differently)."""
    torch_labels = golden["logits"].argmax(1)
    rows = np.flatnonzero(labels != torch_labels)
    dots = golden["int_dots"]
    assert all(dots[r, labels[r]] == dots[r, torch_labels[r]] == dots[r].max() for r in rows), rows
    assert len(rows) <= len(labels) // 10


def _train_a_little(model: nn.Module, steps: int = 60) -> nn.Module:
    """A few Adam steps on real MNIST (Brevitas' binary quantizers pass the gradient straight through)."""
    from surge_hw.data import load_dataset

    train = load_dataset("mnist", "train")
    x = torch.from_numpy(train.images[:steps * 128].astype(np.float32) / 255.0)
    y = torch.from_numpy(train.labels[:steps * 128].astype(np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for i in range(steps):
        xb, yb = x[i * 128:(i + 1) * 128], y[i * 128:(i + 1) * 128]
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``surge-hw export --model-file tests/test_byo_model.py:build_model --checkpoint w.pt --dataset mnist``."""
    root = tmp_path_factory.mktemp("byo")
    torch.save(_train_a_little(build_model()).state_dict(), root / "w.pt")
    rc = main(["export", "--model-file", f"{__file__}:build_model", "--checkpoint", str(root / "w.pt"),
               "--dataset", "mnist", "--images", str(N), "--out", str(root / "export")])
    assert rc == 0
    return root


def test_model_file_export_build_rtl_rtlsim_compare_bit_exact(exported, capsys):
    root = exported
    info = json.loads((root / "export" / "export_info.json").read_text())
    assert info["model_name"] == "TwoHiddenBinaryMLP" and info["model_file"].endswith("test_byo_model.py:build_model")
    assert info["torch_top1"] > 0.5  # trained: well above chance on real test images
    assert main(["build", str(root / "export"), "--out", str(root / "build"), "--golden-images", "0",
                 "--no-progress"]) == 0
    build_info = json.loads((root / "build" / "build_info.json").read_text())
    assert build_info["mw_last"] == 32 and build_info["label_sign"] == 1  # read off the graphs
    assert [g["step"] for g in build_info["golden_checks"]][-1] == "folded"
    assert all(g["int_equal"] and g["images"] == N for g in build_info["golden_checks"])
    assert main(["rtl", str(root / "build"), "--no-synth"]) == 0
    assert main(["rtlsim", str(root / "build"), "--images", "0", "--no-progress"]) == 0
    sim = json.loads((root / "build" / "rtlsim.json").read_text())
    assert sim["int_equal_images"] == N and sim["reference"] == "PyTorch"
    golden = np.load(root / "export" / "golden.npz")
    assert_labels_agree_but_for_float_ties(np.load(root / "build" / "rtlsim_outputs.npz")["labels"], golden)
    assert main(["compare", str(root / "build"), "--images", "0"]) == 0
    report = json.loads((root / "build" / "report" / "report.json").read_text())
    stages = {s["name"]: s for s in report["stages"]}
    assert stages["PyTorch"]["available"], "compare rebuilds the module from --model-file + --checkpoint"
    ran = [s for s in report["stages"] if s["available"] and s["int_agree"] is not None]
    assert {"PyTorch", "QONNX exec", "folded (FINN exec)", "RTL sim (verilator)"} <= {s["name"] for s in ran}
    assert all(s["int_agree"] == s["n_images"] == N for s in ran), ran
    assert len({s["label_agree"] for s in ran if s["name"] != "PyTorch"}) == 1  # the same labels in every stage
    assert "test_byo_model.py:build_model" in report["meta"]["reference"]


def test_per_layer_references_agree(exported):
    """compare's divergence locator: the user module's per-layer outputs (hooks on its QuantIdentity layers)
    equal the QONNX graph's, the reference used when there is no module."""
    from surge_hw.compare.layers import QonnxLayers, TorchLayers
    from surge_hw.export.golden import GoldenSet
    from surge_hw.export.user_model import load_model_file

    golden = GoldenSet.load(exported / "export" / "golden.npz")
    module = load_model_file(f"{__file__}:build_model", exported / "w.pt")
    rows = np.arange(12)
    torch_layers = TorchLayers(module, golden.images).rows(rows)
    qonnx_layers = QonnxLayers(exported / "export" / "model.qonnx.onnx", golden.images, 32).rows(rows)
    assert [t.shape for t in torch_layers] == [(12, 784), (12, 48), (12, 32), (12, 10)]
    for t, q in zip(torch_layers, qonnx_layers):
        np.testing.assert_array_equal(t, q)


def test_qonnx_file_with_user_test_vectors(exported, tmp_path, capsys):
    """A bare QONNX file + ``--golden`` with images (N, 784) and labels only: the expected integer outputs come
    from QONNX execution, and equal PyTorch's; every later stage reproduces them."""
    onnx = tmp_path / "qonnx" / "my_bnn.onnx"
    onnx.parent.mkdir()
    shutil.copy(exported / "export" / "model.qonnx.onnx", onnx)
    torch_golden = np.load(exported / "export" / "golden.npz")
    n = 60
    np.savez(tmp_path / "vectors.npz", images=torch_golden["images"][:n].reshape(n, -1),
             labels=torch_golden["labels"][:n])
    build = tmp_path / "build"
    assert main(["build", str(onnx), "--golden", str(tmp_path / "vectors.npz"), "--out", str(build),
                 "--no-progress"]) == 0
    info = json.loads((build / "build_info.json").read_text())
    assert info["golden"] == str(build / "golden.npz") and "QONNX execution" in info["reference"]
    completed = np.load(build / "golden.npz")
    np.testing.assert_array_equal(completed["int_dots"], torch_golden["int_dots"][:n])  # QONNX exec == PyTorch
    assert main(["rtl", str(build), "--no-synth"]) == 0
    assert main(["rtlsim", str(build), "--images", "0", "--no-progress"]) == 0
    assert f"{n}/{n} images bit-exact vs QONNX execution" in capsys.readouterr().out  # not "vs PyTorch"
    sim = json.loads((build / "rtlsim.json").read_text())
    assert sim["reference"] == "QONNX execution"
    assert sim["int_equal_images"] == sim["label_equal_images"] == n  # the reference's logits: QONNX's own
    assert sim["accuracy"] == sim["torch_accuracy"]


def test_export_brevitas_python_api(tmp_path):
    import surge_hw
    from surge_hw.data import load_dataset

    test = load_dataset("mnist", "test")
    res = surge_hw.export_brevitas(build_model(), torch.zeros(1, 1, 28, 28), test.images[:16], tmp_path / "exp",
                                   labels=test.labels[:16])
    assert sorted(p.name for p in (tmp_path / "exp").iterdir()) == ["export_info.json", "golden.npz",
                                                                      "model.qonnx.onnx"]
    assert res.n_images == 16 and np.load(res.golden)["int_dots"].shape == (16, 10)
    with pytest.raises(ValueError, match="test_images have shape"):
        surge_hw.export_brevitas(build_model(), torch.zeros(1, 1, 28, 28), test.images[:4, :, :20],
                                 tmp_path / "exp2")


def _one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"surge-hw {command}: error: "), err
    return err[0]


@pytest.mark.parametrize("spec, says", [
    ("{tmp}/no_such_model.py:build_model", "does not exist"),
    ("{here}:no_such_callable", "has no callable 'no_such_callable'"),
    ("{here}:not_a_module", "returned dict, not a torch nn.Module"),
    ("{here}", "expected FILE.py:CALLABLE"),
])
def test_bad_model_file_spec_is_one_line_exit_2(spec, says, tmp_path, capsys):
    out = tmp_path / "export"
    rc = main(["export", "--model-file", spec.format(tmp=tmp_path, here=__file__), "--out", str(out)])
    assert rc == 2 and says in _one_line_error(capsys, "export")
    assert not out.exists()


def test_golden_file_missing_keys_is_one_line_exit_2(exported, tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", pixels=np.zeros((4, 784), np.uint8))
    out = tmp_path / "build"
    rc = main(["build", str(exported / "export" / "model.qonnx.onnx"), "--golden", str(tmp_path / "bad.npz"),
               "--out", str(out)])
    line = _one_line_error(capsys, "build")
    assert rc == 2 and "lacks images and int_dots or labels" in line and "'pixels'" in line
    assert not out.exists()
