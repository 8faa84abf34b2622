"""SURGE vs baseline estimators: run a sweep config, then write results.json, table.md and plots.

    python benchmarks/surge_vs_baselines.py --config benchmarks/configs/cpu_main.yaml \
        --out benchmarks/results/sweep_cpu_main
    python benchmarks/surge_vs_baselines.py --out benchmarks/results/sweep_cpu_main --summarize-only

Re-running the same command skips finished runs and resumes a half-finished one from its checkpoint.
On CPU use one training thread and one run at a time (the config's `threads: 1`, `parallel: 1`); on a GPU,
`--parallel K` keeps K runs in flight. See surge_hw/train/sweep.py for the config format.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported; runs also call set_num_threads

from surge_hw.train.sweep import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
