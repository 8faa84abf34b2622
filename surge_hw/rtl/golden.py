"""Numpy golden model of the accelerator IR: the reference every RTL bench compares against.

It executes exactly the integer semantics documented in :mod:`surge_hw.rtl.ir`, layer by layer, on each layer's
stream in stream order (per image, flattened), so a bench can compare whole-accelerator outputs and also each
layer's stream (the divergence locator).
"""
from __future__ import annotations

import numpy as np

from .ir import Accelerator, BinaryMVAU, IntegerMVAU, MaxPool, SlidingWindow, ThresholdLayer
from .packing import threshold  # the host steps of a packed-input build run the same function


def xnor_popcount(x_bits: np.ndarray, w_bits: np.ndarray) -> np.ndarray:
    """``acc[n, r] = popcount(XNOR(W[r], x[n]))``: matches minus mismatches folded to a count of matches."""
    x = x_bits.astype(np.int64)
    w = w_bits.astype(np.int64)
    return x @ w.T + (1 - x) @ (1 - w).T


def bipolar_dot(x: np.ndarray, w_bits: np.ndarray) -> np.ndarray:
    """``acc[n, r] = sum_i (W[r, i] ? x[n, i] : -x[n, i])``: integer inputs times +-1 weights."""
    return x.astype(np.int64) @ (2 * w_bits.astype(np.int64) - 1).T


def sliding_window(layer: SlidingWindow, x: np.ndarray) -> np.ndarray:
    """(N, H*W*C) NHWC pixels -> (N, OH*OW*K*K*C) windows in the layer's stream order."""
    n, c = len(x), layer.channels
    (h, w), (oh, ow), (kh, kw) = layer.ifm_dim, layer.ofm_dim, layer.kernel
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    img = x.reshape(n, h, w, c)
    rows = (np.arange(oh) * sh)[:, None] + np.arange(kh) * dh  # (OH, KH)
    cols = (np.arange(ow) * sw)[:, None] + np.arange(kw) * dw  # (OW, KW)
    win = img[:, rows[:, None, :, None], cols[None, :, None, :], :]  # (N, OH, OW, KH, KW, C)
    if layer.depthwise:
        s = layer.simd
        win = win.reshape(n, oh, ow, kh, kw, c // s, s).transpose(0, 1, 2, 5, 3, 4, 6)
    return np.ascontiguousarray(win).reshape(n, -1)


def max_pool(layer: MaxPool, x: np.ndarray) -> np.ndarray:
    """(N, P * C/PE * K * PE) depthwise windows -> (N, P * C) maxima, channel order restored."""
    n, pe = len(x), layer.pe
    v = x.reshape(n, layer.out_pixels, layer.channels // pe, layer.kernel_elems, pe)
    return v.max(axis=3).reshape(n, -1)


def run_layer(layer, x: np.ndarray) -> np.ndarray:
    """One layer on (N, in_elems) integers -> (N, out_elems) int64."""
    x = np.asarray(x).astype(np.int64)
    n = len(x)
    if isinstance(layer, ThresholdLayer):
        return threshold(x.reshape(-1, layer.channels), layer.thresholds).reshape(n, -1) + layer.out_bias
    if isinstance(layer, BinaryMVAU):  # IntegerMVAU included
        v = x.reshape(n * layer.num_vectors, layer.mw)
        acc = bipolar_dot(v, layer.weights) if isinstance(layer, IntegerMVAU) else xnor_popcount(v, layer.weights)
        out = acc if layer.thresholds is None else threshold(acc, layer.thresholds)
        return out.reshape(n, -1)
    if isinstance(layer, SlidingWindow):
        return sliding_window(layer, x)
    if isinstance(layer, MaxPool):
        return max_pool(layer, x)
    raise TypeError(f"no golden model for {type(layer).__name__}")


def run_accelerator(accel: Accelerator, inputs: np.ndarray, all_layers: bool = False):
    """Run (N, input_elems) integer inputs through every layer.

    Returns the last layer's (N, output_elems) int64 outputs, or the list of every layer's outputs when
    ``all_layers`` is true.
    """
    x = np.asarray(inputs).reshape(len(inputs), -1).astype(np.int64)
    outs = []
    for layer in accel.layers:
        x = run_layer(layer, x)
        outs.append(x)
    return outs if all_layers else x


def host_inputs(accel: Accelerator, pixels: np.ndarray) -> np.ndarray:
    """(N, E) stream-ordered pixels -> the stream's (N, input_elems) elements: the accelerator's host layers
    (``--input-format packed``), else the pixels unchanged. Same function as the driver's host steps."""
    x = np.asarray(pixels).reshape(len(pixels), -1).astype(np.int64)
    for layer in accel.host_layers:
        x = run_layer(layer, x)
    return x
