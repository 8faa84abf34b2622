"""Test-session settings shared by tests/ and rtl_tests/.

The suite runs on 2 cores with 2 pytest-xdist workers: one intra-op thread per process avoids OpenMP
oversubscription, which otherwise slows torch steps by 10-100x while the other worker is busy.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # also inherited by the subprocesses tests start

import torch  # noqa: E402

torch.set_num_threads(1)
