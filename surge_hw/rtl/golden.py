"""Numpy golden model of the accelerator IR: the reference every RTL bench compares against.

It executes exactly the integer semantics documented in :mod:`surge_hw.rtl.ir`, layer by layer, so a
bench can compare whole-accelerator outputs and also each layer's stream (the divergence locator).
"""
from __future__ import annotations

import numpy as np

from .ir import Accelerator, BinaryMVAU, ThresholdLayer


def threshold(x: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``out[n, c] = #{t in T[c] : x[n, c] >= t}``; x is (N, C) integers."""
    return (x[:, :, None].astype(np.int64) >= thresholds[None, :, :]).sum(-1)


def xnor_popcount(x_bits: np.ndarray, w_bits: np.ndarray) -> np.ndarray:
    """``acc[n, r] = popcount(XNOR(W[r], x[n]))``: matches minus mismatches folded to a count of matches."""
    x = x_bits.astype(np.int64)
    w = w_bits.astype(np.int64)
    return x @ w.T + (1 - x) @ (1 - w).T


def run_layer(layer, x: np.ndarray) -> np.ndarray:
    if isinstance(layer, ThresholdLayer):
        return threshold(x, layer.thresholds)
    if isinstance(layer, BinaryMVAU):
        acc = xnor_popcount(x, layer.weights)
        return acc if layer.thresholds is None else threshold(acc, layer.thresholds)
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
