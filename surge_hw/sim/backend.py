"""The RTL simulator as a stream backend for the PYNQ driver (:mod:`surge_hw.deploy.driver`).

The driver packs images into DMA beats exactly as it would on the board; this backend turns the beats back
into stream elements with the same :mod:`surge_hw.rtl.packing`, runs them through the simulated accelerator,
and packs the output stream into beats. So the driver's packing, sizes and label logic are tested against the
real RTL, with no board and no fake results.
"""
from __future__ import annotations

import os

import numpy as np

from ..rtl.packing import pack, unpack
from .rtlsim import SimResult, simulate


class RtlSimBackend:
    def __init__(self, project_dir: str | os.PathLike, io: dict, simulator: str = "verilator", **sim_kwargs):
        self.project_dir, self.io, self.simulator, self.sim_kwargs = project_dir, io, simulator, sim_kwargs
        self.last: SimResult | None = None

    def transfer(self, in_beats: np.ndarray, n_out_beats: int) -> np.ndarray:
        io = self.io
        x = unpack(in_beats, io["in_bits"], io["in_per_beat"], io["in_elems"])
        self.last = simulate(self.project_dir, x, simulator=self.simulator, **self.sim_kwargs)
        out = pack(self.last.outputs, io["out_bits"], io["out_per_beat"])
        if len(out) != n_out_beats:
            raise RuntimeError(f"simulated accelerator produced {len(out)} output beats, driver expected {n_out_beats}")
        return out
