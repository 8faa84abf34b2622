"""``python -m surge_hw.finn MODEL.qonnx.onnx BUILD_DIR [--golden golden.npz] ...``: the FINN stage on its own."""
from __future__ import annotations

import argparse
import sys

from .errors import FinnFlowError
from .flow import build
from .vivado import BOARDS, build_bitfile


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m surge_hw.finn", description=__doc__)
    ap.add_argument("onnx", help="QONNX graph written by the export stage")
    ap.add_argument("build_dir")
    ap.add_argument("--board", default="Pynq-Z2", choices=sorted(BOARDS))
    ap.add_argument("--target-fps", type=float, default=None)
    ap.add_argument("--max-luts", type=float, default=None)
    ap.add_argument("--fclk-mhz", type=float, default=100.0)
    ap.add_argument("--golden", default=None, help="GoldenSet .npz (images, torch integer dots, labels)")
    ap.add_argument("--golden-images", type=int, default=None, help="check only the first N golden images")
    ap.add_argument("--no-ipgen", action="store_true", help="skip FINN's HLS/RTL code generation")
    ap.add_argument("--bitfile", action="store_true", help="also run FINN's bitfile build (needs Vivado)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    try:
        result = build(args.onnx, args.build_dir, board=args.board, target_fps=args.target_fps,
                       max_luts=args.max_luts, golden=args.golden, progress=not args.quiet,
                       fclk_mhz=args.fclk_mhz, golden_images=args.golden_images, ipgen=not args.no_ipgen)
        if args.bitfile:
            status = build_bitfile(result.build_dir, args.board, args.fclk_mhz)
            print(f"[finn] bitfile: {status.message}")
            if status.ran and not status.ok:
                return 1
    except FinnFlowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"[finn] wrote {result.build_dir} (report: {result.report_md})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
