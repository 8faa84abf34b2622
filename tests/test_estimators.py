"""Each estimator's backward equals its formula on a grid with the edges |x| = 1 and x = 0."""
import math

import pytest
import torch

from surge_hw.train.estimators import ESTIMATORS, EstimatorState, SignFn, binary_sign, binarize, ede_t_k

GRID = torch.tensor([-2.0, -1.0001, -1.0, -0.9999, -0.5, -1e-6, 0.0, 1e-6, 0.3, 0.5, 0.9999, 1.0, 1.0001, 2.0],
                    dtype=torch.float64)


def grad_of(name, x, state=None):
    x = x.clone().requires_grad_(True)
    SignFn.apply(x, name, state or EstimatorState()).sum().backward()
    return x.grad


def test_forward_is_exact_sign_with_zero_positive():
    y = binarize(GRID, "ste")
    assert set(y.tolist()) == {-1.0, 1.0}
    assert y[GRID == 0].item() == 1.0
    assert torch.equal(y, torch.where(GRID >= 0, 1.0, -1.0).to(GRID.dtype))
    for name in ESTIMATORS:
        assert torch.equal(binarize(GRID, name), y)


def test_ste_clip():
    assert torch.equal(grad_of("ste", GRID), (GRID.abs() <= 1).to(GRID.dtype))
    assert grad_of("ste", torch.tensor([1.0]))[0] == 1 and grad_of("ste", torch.tensor([1.0001]))[0] == 0


def test_identity():
    assert torch.equal(grad_of("identity", GRID), torch.ones_like(GRID))


def test_approx_sign():
    expect = [(2 - 2 * abs(v)) if abs(v) <= 1 else 0.0 for v in GRID.tolist()]
    assert torch.allclose(grad_of("approx_sign", GRID), torch.tensor(expect, dtype=GRID.dtype))
    assert grad_of("approx_sign", torch.tensor([0.0]))[0] == 2.0


@pytest.mark.parametrize("progress", [0.0, 0.5, 1.0])
def test_ede_schedule_and_formula(progress):
    st = EstimatorState(progress=progress)
    t = 0.1 * 10 ** (progress * math.log10(10 / 0.1))
    k = max(1 / t, 1)
    assert ede_t_k(st) == pytest.approx((t, k))
    expect = [k * t * (1 - math.tanh(t * v) ** 2) for v in GRID.tolist()]
    assert torch.allclose(grad_of("ede", GRID, st), torch.tensor(expect, dtype=GRID.dtype))


def test_reste_power_law_clip_and_cap():
    st = EstimatorState(reste_o=3.0, reste_cap=10.0)
    g = grad_of("reste", GRID, st)
    for v, gv in zip(GRID.tolist(), g.tolist()):
        if abs(v) > 1:
            assert gv == 0
        else:
            expect = min((1 / 3) * max(abs(v), 1e-12) ** (-2 / 3), 10.0)
            assert gv == pytest.approx(expect, rel=1e-9)
    assert g[GRID == 0].item() == 10.0  # capped where the power law diverges


def test_unknown_estimator_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown estimator 'nope'.*ste"):
        binarize(GRID, "nope")


def test_binary_sign_dtype():
    assert binary_sign(torch.tensor([0.0], dtype=torch.float32)).dtype == torch.float32
