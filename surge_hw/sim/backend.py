"""The RTL simulator as a stream backend for the PYNQ driver (:mod:`surge_hw.deploy.driver`).

The driver packs images into DMA frames exactly as it would on the board; this backend turns the frames back
into stream elements with the same :mod:`surge_hw.rtl.packing` (what the DMA shell ``accel_dma_shell`` does in
hardware; its own bench, rtl_tests/test_dma_shell.py, proves the shell against these functions), runs them
through the simulated accelerator, and packs the output stream into frames. So the driver's packing, sizes and
label logic are tested against the real RTL, with no board and no fake results.
"""
from __future__ import annotations

import os

import numpy as np

from ..rtl.packing import pack_frames, unpack_frames
from .rtlsim import SimResult, simulate


class RtlSimBackend:
    def __init__(self, project_dir: str | os.PathLike, io: dict, simulator: str = "verilator", **sim_kwargs):
        self.project_dir, self.io, self.simulator, self.sim_kwargs = project_dir, io, simulator, sim_kwargs
        self.last: SimResult | None = None

    simulated = True

    def transfer(self, in_words: np.ndarray, n_out_words: int) -> np.ndarray:
        io = self.io
        x = unpack_frames(in_words, io["in_bits"], io["in_per_beat"], io["in_elems"], io["dma_word_bits"])
        self.last = simulate(self.project_dir, x, simulator=self.simulator, **self.sim_kwargs)
        out = pack_frames(self.last.outputs, io["out_bits"], io["out_per_beat"], io["dma_word_bits"])
        if len(out) != n_out_words:
            raise RuntimeError(f"simulated accelerator produced {len(out)} output words, driver expected {n_out_words}")
        return out
