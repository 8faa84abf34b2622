"""SURGE/DPGC: exact binary forward, compensated gradients, adaptive lambda, no aux work at inference."""
import copy

import pytest
import torch
import torch.nn.functional as F
from brevitas.nn import QuantConv2d, QuantLinear

from surge_hw.train.models import build_model
from surge_hw.train.quantizers import act_quant, binary_weight_kwargs, set_estimator
from surge_hw.train.surge import BinaryBlock, SurgeConfig, enable_surge, last_lambdas, strip_surge


def make_block(kind="linear", seed=0):
    torch.manual_seed(seed)
    op = QuantLinear(12, 7, **binary_weight_kwargs()) if kind == "linear" else QuantConv2d(3, 4, 3, **binary_weight_kwargs())
    torch.nn.init.uniform_(op.weight, -1, 1)
    block = BinaryBlock(act_quant(1), op, None)
    set_estimator(block, "ste")
    return block


@pytest.mark.parametrize("name,shape", [("tfc", (16, 1, 28, 28)), ("cnv", (2, 3, 32, 32))])
def test_forward_bit_exact_with_and_without_aux(name, shape):
    torch.manual_seed(0)
    pure = build_model(name)
    surge = copy.deepcopy(pure)
    enable_surge(surge, SurgeConfig(eta=0.3))
    x = torch.rand(shape)
    pure.train(), surge.train()
    assert torch.equal(pure(x), surge(x))  # training forward: exactly the binary network
    pure.eval(), surge.eval()
    assert torch.equal(pure(x), surge(x))


def test_forward_bit_exact_with_dropout():
    torch.manual_seed(0)
    pure = build_model("tfc", dropout=0.2)
    surge = copy.deepcopy(pure)
    enable_surge(surge, SurgeConfig())
    x = torch.rand(16, 1, 28, 28)
    pure.train(), surge.train()
    torch.manual_seed(5)
    y_pure = pure(x)
    torch.manual_seed(5)  # the binary path draws its dropout mask first, as the pure model does
    assert torch.equal(y_pure, surge(x))


@pytest.mark.parametrize("kind,aux_input", [("linear", "real"), ("linear", "clipped"), ("conv", "real"),
                                            ("linear", "binary")])
def test_gradient_is_gb_plus_lambda_ga(kind, aux_input):
    eta = 0.4
    block = make_block(kind)
    block.enable_surge(SurgeConfig(eta=eta, aux_input=aux_input, aux_init="random"), torch.Generator().manual_seed(3))
    x0 = torch.randn(5, 12) * 1.5 if kind == "linear" else torch.randn(2, 3, 6, 6) * 1.5
    wa = block.aux_weight.detach().clone()

    # Independent reference: binary path alone (its estimator), aux path alone (plain autograd).
    ref = copy.deepcopy(block)
    ref.surge, ref.aux_weight = None, None
    ref.train()
    xb = x0.clone().requires_grad_(True)
    yb = ref(xb)
    r = torch.randn_like(yb)
    (yb * r).sum().backward()
    g_bx, g_bw = xb.grad, ref.op.weight.grad
    xa = x0.clone().requires_grad_(True)
    wa_ = wa.clone().requires_grad_(True)
    xin = {"real": xa, "clipped": xa.clamp(-1, 1), "binary": torch.where(x0 >= 0, 1.0, -1.0)}[aux_input]
    fa = F.linear(xin, wa_) if kind == "linear" else F.conv2d(xin, wa_)
    (fa * r).sum().backward()
    g_ax, g_aw = xa.grad, wa_.grad
    if aux_input == "binary":
        lam = eta * g_bw.norm() / (g_aw.norm() + 1e-8)
    else:
        lam = eta * torch.sqrt(g_bx.norm() ** 2 + g_bw.norm() ** 2) / (torch.sqrt(g_ax.norm() ** 2 + g_aw.norm() ** 2) + 1e-8)

    block.train()
    x = x0.clone().requires_grad_(True)
    y = block(x)
    assert torch.equal(y, yb.detach())
    (y * r).sum().backward()
    assert block.record.lam.item() == pytest.approx(lam.item(), rel=1e-5)
    expect_x = g_bx if aux_input == "binary" else g_bx + lam * g_ax
    torch.testing.assert_close(x.grad, expect_x, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(block.op.weight.grad, g_bw + lam * g_aw, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(block.aux_weight.grad, lam * g_aw, rtol=1e-5, atol=1e-6)
    assert block.aux_weight.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_skipped_aux_forward_has_the_same_gradients(kind):
    grads = {}
    x0 = torch.randn(5, 12) if kind == "linear" else torch.randn(2, 3, 6, 6)
    for skip in (True, False):
        block = make_block(kind)
        block.enable_surge(SurgeConfig(skip_aux_forward=skip), torch.Generator().manual_seed(1))
        block.train()
        x = x0.clone().requires_grad_(True)
        y = block(x)
        (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
        grads[skip] = (y.detach(), x.grad, block.op.weight.grad, block.aux_weight.grad)
    for a, b in zip(grads[True], grads[False]):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    assert torch.equal(grads[True][0], grads[False][0])


def test_fixed_lambda_mode():
    block = make_block()
    block.enable_surge(SurgeConfig(fixed_lambda=0.7))
    block.train()
    y = block(torch.randn(4, 12))
    (y * torch.randn_like(y)).sum().backward()
    assert block.record.lam.item() == pytest.approx(0.7)


def test_aux_params_train_in_a_whole_model():
    torch.manual_seed(1)
    model = build_model("tfc")
    enable_surge(model, SurgeConfig())
    model.train()
    F.cross_entropy(model(torch.rand(32, 1, 28, 28)), torch.randint(0, 10, (32,))).backward()
    lams = last_lambdas(model)
    assert len(lams) == 4 and all(l is not None and l > 0 for l in lams)
    for block in model.blocks:
        assert block.aux_weight.grad is not None and block.aux_weight.grad.abs().sum() > 0


def test_eval_does_no_aux_compute(monkeypatch):
    model = build_model("tfc")
    enable_surge(model, SurgeConfig())
    for block in model.blocks:
        monkeypatch.setattr(block, "_dual_path_forward", lambda x: pytest.fail("aux branch ran in eval()"))
    model.eval()
    with torch.no_grad():
        model(torch.rand(3, 1, 28, 28))


def test_strip_surge_leaves_identical_pure_bnn():
    torch.manual_seed(2)
    model = build_model("tfc")
    enable_surge(model, SurgeConfig())
    model.eval()
    x = torch.rand(8, 1, 28, 28)
    before = model(x)
    strip_surge(model)
    assert not any("aux_weight" in k for k in model.state_dict())
    assert torch.equal(model(x), before)


@pytest.mark.parametrize("bad", [dict(eta=1.0), dict(eta=0.0), dict(aux_input="x"), dict(aux_init="zeros")])
def test_bad_surge_config(bad):
    with pytest.raises(ValueError):
        SurgeConfig(**bad)


def test_eta_schedule():
    cfg = SurgeConfig(eta=0.5, eta_final=0.0)
    assert cfg.eta_at(0.0) == 0.5 and cfg.eta_at(0.5) == 0.25 and cfg.eta_at(1.0) == 0.0


def test_gradient_recording_does_not_change_gradients():
    """keep_grads (diagnostics) leaves every gradient bit-identical and records the four path gradients."""
    grads, recs = {}, {}
    x0, t0 = torch.rand(32, 1, 28, 28), torch.randint(0, 10, (32,))
    for keep in (False, True):
        torch.manual_seed(4)
        model = build_model("tfc")
        enable_surge(model, SurgeConfig(eta=0.3))
        for block in model.blocks:
            block.record.keep_grads = keep
        model.train()
        F.cross_entropy(model(x0), t0).backward()
        grads[keep] = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        recs[keep] = [b.record for b in model.blocks]
    assert len(grads[True]) == len(grads[False])
    for a, b in zip(grads[False], grads[True]):
        assert torch.equal(a, b)
    assert all(r.grads is None for r in recs[False])
    for i, (block, rec) in enumerate(zip(model.blocks, recs[True])):
        g = rec.grads
        assert (g["g_bx"] is None) == (i == 0)  # the network input has no gradient
        torch.testing.assert_close(block.op.weight.grad, g["g_bw"] + rec.lam * g["g_aw"])


def test_orthogonal_compensation_option():
    """compensation='orthogonal' (opt-in): g_b + lam*g_a_perp, g_a_perp orthogonal to g_b per tensor, |lam*g_a_perp|
    = eta*|g_b| over the pairs; the aux weights still get lam*g_a; the forward value is unchanged."""
    eta = 0.3
    x0 = torch.randn(6, 12) * 1.5
    r = torch.randn(6, 7)
    out = {}
    for comp in ("full", "orthogonal"):
        block = make_block()
        block.enable_surge(SurgeConfig(eta=eta, compensation=comp, aux_init="random"), torch.Generator().manual_seed(2))
        block.record.keep_grads = True
        block.train()
        x = x0.clone().requires_grad_(True)
        y = block(x)
        (y * r).sum().backward()
        out[comp] = (y.detach(), x.grad, block.op.weight.grad, block.aux_weight.grad, block.record)
    assert torch.equal(out["full"][0], out["orthogonal"][0])
    g_full = out["full"][4].grads  # raw path gradients (the same in both runs)
    rec = out["orthogonal"][4]
    gb = {"x": g_full["g_bx"], "w": g_full["g_bw"]}
    perp = {k: g_full[f"g_a{k}"] - ((g_full[f"g_a{k}"] * gb[k]).sum() / gb[k].pow(2).sum()) * gb[k] for k in gb}
    lam = eta * torch.sqrt(gb["x"].pow(2).sum() + gb["w"].pow(2).sum()) / torch.sqrt(
        perp["x"].pow(2).sum() + perp["w"].pow(2).sum())
    assert rec.lam.item() == pytest.approx(lam.item(), rel=1e-5)
    torch.testing.assert_close(out["orthogonal"][1], gb["x"] + lam * perp["x"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out["orthogonal"][2], gb["w"] + lam * perp["w"], rtol=1e-5, atol=1e-6)
    for k, g in (("x", out["orthogonal"][1]), ("w", out["orthogonal"][2])):
        assert abs(float(((g - gb[k]) * gb[k]).sum())) < 1e-4 * float(gb[k].norm() * (g - gb[k]).norm())
    torch.testing.assert_close(out["orthogonal"][3], lam * g_full["g_aw"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="compensation"):
        SurgeConfig(compensation="sideways")
