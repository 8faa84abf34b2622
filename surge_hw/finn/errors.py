"""Errors of the FINN stage: each names the flow step and, where there is one, the graph node."""
from __future__ import annotations


class FinnFlowError(RuntimeError):
    """The network cannot go through the binary FINN flow (or a check failed): says which step, which node, why."""

    def __init__(self, step: str, message: str, node: str | None = None):
        self.step = step
        self.node = node
        self.reason = message
        where = f"[{step}] node {node!r}: " if node else f"[{step}] "
        super().__init__(where + message)


class GoldenMismatchError(FinnFlowError):
    """A graph's integer output differs from the PyTorch model's (bit-exactness is required)."""
