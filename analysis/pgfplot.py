"""The drawing shared by the figure scripts (matplotlib, Agg backend): their
command line, the footer that captions a figure with its runs, trajectories
coloured by time and log-log curves. Reading files is pgfresults.py's.
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402


def parser(description, many=True):
    """Command line shared by the figure scripts: inputs, -o OUT, --pdf."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("inputs", nargs="+" if many else 1, help="results files (.h5) or directories of them")
    ap.add_argument("-o", "--output", help="output file (default: first input with the figure name, .png)")
    ap.add_argument("--pdf", action="store_true", help="write PDF instead of PNG")
    return ap


def output_path(args, name):
    ext = ".pdf" if args.pdf else ".png"
    if args.output:
        return os.path.splitext(args.output)[0] + ext
    first = args.inputs[0].rstrip("/")
    base = first if os.path.isdir(first) else os.path.splitext(first)[0]
    return base + "-" + name + ext


def save(fig, path, caption=""):
    """Lay the panels out above a footer holding the caption, and write."""
    height = fig.get_figheight()
    foot = (0.14 * (caption.count("\n") + 1) + 0.1) / height if caption else 0
    fig.tight_layout(rect=(0, foot, 1, 1 - 0.45 / height))
    if caption:
        fig.text(0.01, 0.01, caption, fontsize=7, family="monospace", va="bottom", ha="left")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print("wrote", path)


def save_deconv(fig, args, runs, name, torus):
    """Title (cutoff, spikes, lambda of the first run), captions and file of a deconvolution figure."""
    r0 = runs[0]
    fig.suptitle("%s: sparse deconvolution on the %s-torus, fc = %s, m0 = %d, lambda = %s"
                 % (name.upper(), torus, r0.cutoff(), len(r0["/truth/a"]), r0.opt("lambda", "default")))
    save(fig, output_path(args, name), "\n".join(r.caption() for r in runs))


def time_norm(t):
    """Log colour scale over the positive snapshot times."""
    tp = t[t > 0]
    lo = tp.min() if tp.size else 1e-3
    hi = max(t.max(), lo * 10)
    return LogNorm(vmin=lo, vmax=hi)


def trajectories(ax, t, paths, cmap="viridis", wrap=None):
    """Draw paths (K x m x 2) coloured by time t (K) on a log scale.

    Segments starting at t = 0 take the colour of the first positive time.
    With wrap = (True, False) etc., a segment that jumps by more than half the
    period along a periodic axis (a torus wrap) is not drawn.
    """
    norm = time_norm(t)
    K = len(t)
    if K < 2:
        return norm
    seg = np.stack([paths[:-1], paths[1:]], axis=2)  # (K-1) x m x 2 x 2
    keep = np.ones(seg.shape[:2], dtype=bool)
    if wrap is not None:
        for axis, periodic in enumerate(wrap):
            if periodic:
                keep &= np.abs(seg[:, :, 1, axis] - seg[:, :, 0, axis]) < 0.5
    tc = np.maximum(t[1:], norm.vmin)
    colours = np.repeat(tc[:, None], paths.shape[1], axis=1)
    lc = LineCollection(seg[keep], cmap=cmap, norm=norm, linewidths=0.8)
    lc.set_array(colours[keep])
    ax.add_collection(lc)
    ax.autoscale()
    return norm


def colorbar(fig, ax, norm, cmap="viridis", label="time t"):
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label=label)


def loglog(ax, t, y, label=None, **kw):
    """y against t on log-log axes, dropping the points a log axis cannot show."""
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    ok = (t > 0) & (y > 0) & np.isfinite(y)
    ax.loglog(t[ok], y[ok], label=label, **kw)
    ax.set_xlabel("time t")
