"""A stand-in for the PYNQ API the deploy package's driver uses (``Overlay``, ``allocate``, the AXI DMA's
``sendchannel``/``recvchannel``), backed by the RTL simulation of the generated accelerator.

Put this directory on PYTHONPATH and run the package's own ``validate.py`` unchanged: the driver packs DMA
frames, "transfers" them, and this module hands the frames to :class:`surge_hw.sim.backend.RtlSimBackend`
(the accelerator simulated on Verilator; the DMA shell's frame conversion is done by the same numpy packing
that rtl_tests/test_dma_shell.py proves the shell's Verilog against). Not a board: no bitstream is loaded,
nothing is timed like hardware. ``__surge_stand_in__`` lets the driver label its results as simulated.

Environment: ``SURGE_PYNQ_RTL`` = the build's ``rtl/`` directory; ``io.json`` is read from the working
directory (the package), as validate.py does.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

__surge_stand_in__ = True
__version__ = "3.0-surge-stand-in"


class PynqBuffer(np.ndarray):
    """``pynq.allocate``'s contiguous buffer: an ndarray with the cache and lifetime methods PYNQ has."""

    physical_address = 0

    def flush(self):
        pass

    def invalidate(self):
        pass

    def freebuffer(self):
        pass

    def close(self):
        pass


def allocate(shape, dtype="u4", **_):
    return np.zeros(shape, dtype=dtype).view(PynqBuffer)


class _Channel:
    def __init__(self, dma, name):
        self.dma, self.name, self.buffer, self.running = dma, name, None, False

    def transfer(self, array, start=0, nbytes=0):
        if not isinstance(array, PynqBuffer):
            raise TypeError("DMA transfers need a buffer from pynq.allocate")
        self.buffer, self.running = array, True
        if self.name == "send":
            self.dma._run()

    def wait(self):
        if not self.running:
            raise RuntimeError(f"DMA {self.name} channel: wait() without a transfer")
        self.running = False

    @property
    def idle(self):
        return not self.running


class _AxiDma:
    def __init__(self):
        self.sendchannel, self.recvchannel = _Channel(self, "send"), _Channel(self, "recv")

    def _run(self):
        from surge_hw.sim.backend import RtlSimBackend

        if self.recvchannel.buffer is None or not self.recvchannel.running:
            raise RuntimeError("start the S2MM (recvchannel) transfer before MM2S, as on the board")
        io = json.loads(Path("io.json").read_text())
        rtl = os.environ["SURGE_PYNQ_RTL"]
        out = RtlSimBackend(rtl, io, progress=False).transfer(np.asarray(self.sendchannel.buffer),
                                                              len(self.recvchannel.buffer))
        self.recvchannel.buffer[:] = out


class Overlay:
    def __init__(self, bitfile, download=True, **_):
        self.bitfile_name = str(bitfile)
        self.axi_dma_0 = _AxiDma()
        self.ip_dict = {"axi_dma_0": {"type": "xilinx.com:ip:axi_dma:7.1"}}
