"""What a user sees on the console: progress bars that stay out of log files, and no library noise.

``progress_bar`` is the one constructor every long loop uses: a tqdm bar on an interactive terminal (or a Jupyter
widget), a silent one when stderr is a file or a pipe, so logs get no carriage returns or cursor escape codes.
``quiet_library_noise`` drops the library messages that say nothing a user can act on (``surge-hw`` calls it once
at start-up).
"""
from __future__ import annotations

import logging
import sys
import warnings

# (message regex matched at the start, category): warnings whose cause is not the user's
IGNORED_WARNINGS = (
    ("Assuming 4D input is NCHW", UserWarning),  # qonnx InferDataLayouts: our graphs are NCHW
    ("fast_hadamard_transform", UserWarning),  # Brevitas at import: an optional CUDA kernel we never use
)
# logger -> message fragments: AbsorbAddIntoMultiThreshold assumes channel index 1, which is our layout
IGNORED_LOG_MESSAGES = {"finn_logger": ("No layout annotations for",)}


class _DropMessages(logging.Filter):
    def __init__(self, fragments: tuple[str, ...]):
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not any(f in msg for f in self.fragments)


def quiet_library_noise() -> None:
    """Filter the warnings and log records above (idempotent; no library is imported but tqdm, which is light)."""
    for message, category in IGNORED_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    try:
        from tqdm import TqdmWarning  # "IProgress not found", experimental-notebook notices

        warnings.filterwarnings("ignore", category=TqdmWarning)
    except ImportError:
        pass
    for name, fragments in IGNORED_LOG_MESSAGES.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessages) for f in logger.filters):
            logger.addFilter(_DropMessages(fragments))


def interactive(stream=None) -> bool:
    """A terminal or a Jupyter kernel: where a redrawn bar helps instead of filling a log."""
    stream = sys.stderr if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty or _in_jupyter_kernel()


def _in_jupyter_kernel() -> bool:
    """A running Jupyter kernel (not merely ipykernel imported, as a notebook test runner does)."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def progress_bar(iterable=None, *, enabled: bool = True, **kwargs):
    """``tqdm.auto.tqdm(iterable, **kwargs)``, disabled when ``enabled`` is false (``--no-progress``) or the output
    is not interactive; a disabled bar accepts ``update``/``set_postfix``/``close`` and prints nothing."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not (enabled and interactive(kwargs.get("file"))), **kwargs)
