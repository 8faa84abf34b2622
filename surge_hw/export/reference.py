"""PyTorch-side golden reference: the integer output of the last binary layer, via a forward hook.

The torch model takes float pixels ``x = p / 255`` (it computes ``2x - 1`` itself); the accelerator takes the raw
uint8 pixels ``p``. ``torch_reference`` therefore feeds ``images_uint8 / 255``.

Integer dot of the last ``QuantLinear``: with input codes ``x_int = x / s_x`` (``s_x`` = scale of the activation
quantizer feeding it) and weight codes ``w_int`` (+-1), ``d = x_int @ w_int.T``, exactly (float64 sums of
small integers). We check ``y == d * s_x * s_w`` against the layer's own output, so a wrong pairing of
quantizer and layer cannot pass silently.
"""
from __future__ import annotations

import numpy as np
import torch

from .golden import GoldenSet


def _last_quant_linear(model: torch.nn.Module) -> torch.nn.Module:
    from brevitas.nn import QuantLinear

    last = getattr(model, "last_binary_layer", None)
    if last is not None:
        return last
    layers = [m for m in model.modules() if isinstance(m, QuantLinear)]
    if not layers:
        raise ValueError("model has no brevitas QuantLinear layer")
    return layers[-1]


def _input_act_proxy(model: torch.nn.Module, layer: torch.nn.Module):
    """The activation quantizer proxy of the last QuantIdentity registered before ``layer``."""
    from brevitas.nn import QuantIdentity

    proxy = None
    for module in model.modules():
        if module is layer:
            return proxy
        if isinstance(module, QuantIdentity):
            proxy = module.act_quant
    return proxy


@torch.no_grad()
def torch_reference(model: torch.nn.Module, images_uint8: np.ndarray, batch_size: int = 1000
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` on uint8 NCHW images; return ``(int_dots int64 (N, K), logits float32 (N, K))``."""
    images_uint8 = np.asarray(images_uint8)
    if images_uint8.dtype != np.uint8 or images_uint8.ndim != 4:
        raise ValueError(f"images must be uint8 (N, C, H, W), got {images_uint8.dtype} {images_uint8.shape}")
    model.eval()
    layer = _last_quant_linear(model)
    proxy = _input_act_proxy(model, layer)
    seen: dict = {}
    hooks = [layer.register_forward_hook(lambda m, i, o: seen.update(x=i[0], y=o))]
    if proxy is not None:
        hooks.append(proxy.register_forward_hook(lambda m, i, o: seen.update(act=o)))
    dots, logits = [], []
    try:
        qw = layer.quant_weight()
        s_w = qw.scale.detach().double().reshape(-1)  # per-tensor (1,) or per-output-channel (K,)
        w_int = torch.round(qw.value.detach().double() / qw.scale.detach().double().reshape(-1, 1))
        for start in range(0, len(images_uint8), batch_size):
            seen.clear()
            x = torch.from_numpy(images_uint8[start:start + batch_size].astype(np.float32) / 255.0)
            logits.append(model(x).detach().float().numpy())
            d, y = _integer_dot(seen, w_int, s_w)
            dots.append(d)
    finally:
        for h in hooks:
            h.remove()
    return np.concatenate(dots).astype(np.int64), np.concatenate(logits)


def _integer_dot(seen: dict, w_int: torch.Tensor, s_w: torch.Tensor):
    x = seen["x"]
    x = (x.value if hasattr(x, "value") else x).detach().double().flatten(1)
    act = seen.get("act")
    if act is not None and hasattr(act, "scale") and act.value.numel() == x.numel():
        s_x = act.scale.detach().double().reshape(-1)
    else:
        # no quantizer in front: binary activations are +-s, so s = |x|
        s_x = x.abs().amax().reshape(1)
    x_int = x / s_x
    if not torch.equal(x_int, torch.round(x_int)):
        raise ValueError("the last QuantLinear's input is not an integer multiple of its quantizer's scale")
    d = x_int @ w_int.T
    y = seen["y"]
    y = (y.value if hasattr(y, "value") else y).detach().double()
    if not torch.allclose(y, d * s_x * s_w, rtol=1e-5, atol=1e-4):
        raise ValueError("integer dot * scales does not reproduce the last QuantLinear's output")
    return d.numpy(), y.numpy()


def make_golden_set(model: torch.nn.Module, images_uint8: np.ndarray, labels=None) -> GoldenSet:
    """Golden set for the FINN / RTL stages: images, torch's integer dots and logits, labels."""
    dots, logits = torch_reference(model, images_uint8)
    return GoldenSet(np.asarray(images_uint8), dots, labels, logits)
