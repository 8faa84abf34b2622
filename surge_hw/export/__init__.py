"""Export stage: trained Brevitas BNN -> QONNX graph (+ the golden reference the later stages must match).

Imports are lazy so that loading a :class:`GoldenSet` (numpy only) does not pull in torch and Brevitas.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "export_qonnx_model": "qonnx_export",
    "check_qonnx_model": "qonnx_export",
    "ExportError": "qonnx_export",
    "SUPPORTED_QONNX_OPS": "qonnx_export",
    "torch_reference": "reference",
    "make_golden_set": "reference",
    "GoldenSet": "golden",
    "export_brevitas": "user_model",
    "load_model_file": "user_model",
    "ModelFileError": "user_model",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
