"""The figures the stages draw: training curves (train, compare) and per-layer FINN estimates (build, compare).

Each figure says one thing: labelled axes, values on the bars, the bottleneck marked, a linear axis unless the
values span more than :data:`LOG_RANGE`, and a single epoch drawn as points on a one-tick axis rather than as a
line. Functions return the matplotlib ``Figure`` (tests check its axes); :func:`save_png` writes one atomically.
matplotlib is imported only when a figure is drawn.
"""
from __future__ import annotations

import os
from pathlib import Path

LOG_RANGE = 10  # a value axis goes logarithmic only when max / min exceeds this
BOTTLENECK_COLOUR = "tab:red"


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def value_scale(values) -> str:
    """'log' when the positive values span more than LOG_RANGE x, else 'linear' (56-98 cycles reads best linear)."""
    vals = [float(v) for v in values if v is not None and float(v) > 0]
    return "log" if vals and max(vals) / min(vals) > LOG_RANGE else "linear"


def epoch_axis(ax, epochs: list) -> None:
    """Whole epochs on the x axis; one epoch is one tick in the middle, not a 0.96-1.04 range."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    if len(epochs) == 1:
        ax.set_xlim(epochs[0] - 0.5, epochs[0] + 0.5)
        ax.set_xticks([epochs[0]])
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def label_bars(ax, bars, fmt: str = "{:,.0f}", fontsize: float = 8) -> None:
    """Each bar's value above it."""
    ax.bar_label(bars, labels=[fmt.format(b.get_height()) for b in bars], padding=2, fontsize=fontsize)


def save_png(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` atomically (temp file + rename) and close it."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        pyplot().close(fig)
    return path


def training_curves(history: list[dict], title: str = ""):
    """Loss and top-1 accuracy per epoch. With one epoch each curve is one labelled point (nothing to draw a line
    through), on an accuracy axis from 0 to 100 %."""
    plt = pyplot()
    ep = [r["epoch"] for r in history]
    one = len(ep) == 1
    style = "o" if one else "o-"
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    loss = [r["train_loss"] for r in history]
    a1.plot(ep, loss, style, label="train loss")
    a1.set_ylabel("training loss")
    series = [("train", [100 * r["train_acc"] for r in history], "o", "tab:blue"),
              ("test", [100 * r["test_acc"] for r in history], "s", "tab:orange")]
    for name, acc, marker, colour in series:
        a2.plot(ep, acc, marker if one else marker + "-", color=colour, label=f"{name}")
    a2.set_ylabel("top-1 accuracy (%)")
    for ax in (a1, a2):
        epoch_axis(ax, ep)
    if one:  # a point's value is the whole story: write it down, on axes from 0
        a1.set_ylim(0, 1.25 * max(loss) if max(loss) > 0 else 1)
        a1.annotate(f"train loss {loss[0]:.3f}", (ep[0], loss[0]), textcoords="offset points", xytext=(8, 0),
                    va="center", color="tab:blue")
        a2.set_ylim(0, 100)
        for name, acc, _, colour in series:  # the labels name the points: no legend needed
            a2.annotate(f"{name} {acc[0]:.2f} %", (ep[0], acc[0]), textcoords="offset points", xytext=(8, 0),
                        va="center", color=colour)
    else:
        a1.legend(loc="upper right")
        a2.legend(loc="lower right")
    fig.suptitle((title + ": " if title else "") + (f"{len(ep)} epochs" if not one else
                                                    "1 epoch (one point per curve)"))
    return fig


def layer_estimates(estimates: dict, measured_ii: float | None = None):
    """FINN's cycles per image and LUT estimate per layer; the bottleneck layer (it sets the frame rate) in red
    and named; the RTL's measured initiation interval as a line when given. The cycle axis is linear unless the
    layers span more than LOG_RANGE x (CNV); the LUT axis is linear (shares of one budget)."""
    plt = pyplot()
    layers = estimates["layers"]
    names = [lay.get("name", str(i)) for i, lay in enumerate(layers)]
    cycles = [lay.get("cycles") or 0 for lay in layers]
    luts = [lay.get("LUT", lay.get("lut")) or 0 for lay in layers]
    bottleneck = estimates.get("bottleneck") or (names[cycles.index(max(cycles))] if cycles else None)
    colours = [BOTTLENECK_COLOUR if n == bottleneck else "tab:blue" for n in names]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(6.0, 0.9 * len(names) + 2.5), 6.5), sharex=True,
                                   layout="constrained")
    bars = ax1.bar(names, cycles, color=colours)
    label_bars(ax1, bars)
    ax1.set_yscale(value_scale(cycles))
    ax1.set_ylabel("cycles per image" + (" (log scale)" if ax1.get_yscale() == "log" else ""))
    if ax1.get_yscale() == "linear":
        ax1.set_ylim(0, 1.18 * max(cycles + [measured_ii or 0, 1]))
    else:
        ax1.set_ylim(top=max(cycles) * 3)
    if bottleneck in names:
        i = names.index(bottleneck)
        ax1.annotate("bottleneck", (i, cycles[i]), textcoords="offset points", xytext=(0, 13), ha="center",
                     color=BOTTLENECK_COLOUR, fontsize=8, fontweight="bold")
    if measured_ii and (ax1.get_yscale() == "linear" or measured_ii >= ax1.get_ylim()[0]):
        # its legend goes below the figure, where it covers no bar
        ax1.axhline(measured_ii, color="k", ls="--", lw=1,
                    label=f"initiation interval measured in the RTL simulation: {measured_ii:,.1f} cycles")
        fig.legend(loc="outside lower center", fontsize=8, frameon=False)
    fps = estimates.get("fps")
    ax1.set_title(f"{fps:,.0f} images/s at {estimates.get('fclk_mhz', 0):g} MHz: the slowest layer sets the rate"
                  if fps else "cycles per image per layer")
    bars = ax2.bar(names, luts, color="tab:green")
    label_bars(ax2, bars)
    ax2.set_ylim(0, 1.18 * max(luts + [1]))  # LUTs are shares of one budget: linear, from 0
    ax2.set_ylabel("LUT (FINN estimate)")
    total = (estimates.get("totals") or {}).get("LUT")
    ax2.set_title(f"{total:,.0f} LUT in total (FINN estimate)" if total is not None else "LUT per layer")
    ax2.set_xlabel("layer")
    ax2.tick_params(axis="x", rotation=30)
    for label in ax2.get_xticklabels():
        label.set_horizontalalignment("right")
    return fig
