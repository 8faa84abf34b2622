"""HLS C-sim of whole networks on every golden image: bit-exactness vs PyTorch and wall time (issue #13).

For each ``NAME=BUILD_DIR`` (a `surge-hw build` directory built from an export, so it has a golden set) this
runs `surge-hw hlssim` (our HLS C++ from the build's IR, g++ -O2) on all images of the golden set and merges the
summary into ``--out`` (one JSON keyed by NAME; per-image lists dropped).

    python benchmarks/hls_csim.py tfc=runs/demo/build lfc=runs/lfc/build --jobs 2 --out benchmarks/results/hls_csim.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from surge_hw.hls.stage import hlssim_from_build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", metavar="NAME=BUILD_DIR")
    ap.add_argument("--images", type=int, default=0, help="0 = every golden image (default)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel C-sim processes")
    ap.add_argument("--out", required=True, help="results JSON (merged: other models' entries are kept)")
    args = ap.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    for spec in args.models:
        name, _, build = spec.partition("=")
        if not build:
            ap.error(f"{spec!r}: give NAME=BUILD_DIR")
        summary, _ = hlssim_from_build(build, n_images=args.images or None, progress=False, jobs=args.jobs)
        summary.pop("per_image_int_equal")
        results[name] = {"build": build, "date": time.strftime("%Y-%m-%d"),
                         "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)", **summary}
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(out)
        print(f"wrote {out} ({name})", flush=True)


if __name__ == "__main__":
    main()
