"""FINN stage: QONNX graph -> folded FINN dataflow graph for PYNQ-Z1/Z2, with golden checks and estimates.

Entry point: :func:`build`. See :mod:`surge_hw.finn.flow` for the list of steps and passes.
"""
from surge_hw.export.golden import GoldenSet

from .errors import FinnFlowError, GoldenMismatchError
from .flow import BuildResult, build, despecialize, golden_check_build, inline_partition
from .folding import FoldingChoice, choose_folding
from .golden import GoldenResult, check_graph
from .vivado import BitfileStatus, build_bitfile, vivado_available, vivado_status

__all__ = ["BitfileStatus", "BuildResult", "FinnFlowError", "FoldingChoice", "GoldenMismatchError", "GoldenResult",
           "GoldenSet", "build", "build_bitfile", "check_graph", "choose_folding", "despecialize",
           "golden_check_build", "inline_partition", "vivado_available", "vivado_status"]
