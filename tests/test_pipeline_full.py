"""Slow: all 10,000 MNIST test images through every stage, TFC and LFC (`make test-slow`)."""
import pytest

from surge_hw.compare.stage import compare_build
from surge_hw.export.stage import export_checkpoint
from surge_hw.finn.stage import build_from_export
from surge_hw.rtl.stage import generate_from_build
from surge_hw.train.trainer import TrainConfig, train

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("model,epochs,min_acc", [("tfc", 3, 0.90), ("lfc", 1, 0.93)])
def test_full_test_set_bit_exact_every_stage(tmp_path, model, epochs, min_acc):
    train(TrainConfig(model=model, estimator="surge", epochs=epochs, progress=False, tensorboard=False, threads=1),
          tmp_path / "train")
    export_checkpoint(tmp_path / "train", tmp_path / "export")
    build_from_export(tmp_path / "export", tmp_path / "build", golden_images=None, progress=False)
    generate_from_build(tmp_path / "build", synth=False)
    stages = compare_build(tmp_path / "build", n_images=None)
    ran = [s for s in stages if s.available]
    assert any(s.name.startswith("RTL") for s in ran)
    for s in ran:
        assert s.n_images == 10000 and s.int_agree == 10000 and s.label_agree == 10000, s.name
    assert ran[0].accuracy > min_acc


def test_cnv_full_test_set_bit_exact_every_stage(tmp_path):
    """CNV-w1a1 on all 10,000 Fashion-MNIST (32x32) test images: every FINN stage and the RTL (FINN's SWG +
    our blocks, two parallel Verilator runs) equal PyTorch; one epoch of SURGE is enough to check > 80 %."""
    train(TrainConfig(model="cnv", dataset="fashion_mnist", estimator="surge", epochs=1, progress=False,
                      tensorboard=False), tmp_path / "train")
    export_checkpoint(tmp_path / "train", tmp_path / "export")
    build_from_export(tmp_path / "export", tmp_path / "build", golden_images=200, target_fps=3000, progress=False)
    generate_from_build(tmp_path / "build", synth=False)
    stages = compare_build(tmp_path / "build", n_images=None, jobs=2)
    ran = [s for s in stages if s.available]
    assert any(s.name.startswith("RTL") for s in ran)
    for s in ran:
        assert s.n_images == 10000 and s.int_agree == 10000 and s.label_agree == 10000, s.name
    assert ran[0].accuracy > 0.80
