"""Reading pgflow results files and the plotting shared by the figure scripts.

A results file is described in doc/results-file.md: root attributes (problem,
particles, ranks, seed, version, options, completed, stop_reason) and the
groups /data, /truth, /snapshots, /history and /final. The figure scripts only
read files; they never run the flow.
"""

import argparse
import math
import os
import sys
import textwrap

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402


def parse_options(text):
    """The 'options' attribute ("-key value -flag ...") as a dict of strings."""
    tokens = text.split()
    opts = {}
    i = 0
    while i < len(tokens):
        key = tokens[i]
        if key.startswith("-") and not _is_number(key):
            value = ""
            if i + 1 < len(tokens) and not _is_option(tokens[i + 1]):
                value = tokens[i + 1]
                i += 1
            opts[key.lstrip("-")] = value
        i += 1
    return opts


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def _is_option(s):
    return s.startswith("-") and not _is_number(s)


def _str(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.shape == ():
        return _str(v[()])
    return v


class Results:
    """One results file, read whole (files are small at the sizes we plot)."""

    def __init__(self, path):
        self.path = path
        with h5py.File(path, "r") as f:
            self.attrs = {k: _str(v) for k, v in f.attrs.items()}
            self.data = {}
            f.visititems(self._collect)
            # every option as resolved (defaults included) and the run's
            # figures; files written before these existed fall back to the
            # option string as typed
            self.parameters = {k: _str(v) for k, v in f["parameters"].attrs.items()} if "parameters" in f else None
            self.stats = {k: float(v) for k, v in f["stats"].attrs.items()} if "stats" in f else {}
        self.options = parse_options(str(self.attrs.get("options", "")))
        if self.parameters is not None:
            given = set(self.options)
            self.options = {k: str(v) for k, v in self.parameters.items()}
            self.given = given
        else:
            self.given = set(self.options)

    def _collect(self, name, obj):
        if isinstance(obj, h5py.Dataset):
            self.data["/" + name] = obj[()]

    def __getitem__(self, name):
        return self.data[name]

    def get(self, name, default=None):
        return self.data.get(name, default)

    def opt(self, key, default=None):
        return self.options.get(key, default)

    @property
    def problem(self):
        return str(self.attrs.get("problem", self.opt("problem", "twolayer")))

    @property
    def m(self):
        return int(self.attrs.get("particles", self["/final/w"].shape[0]))

    def cutoff(self):
        """Deconvolution cutoff fc: the option, else the largest frequency in /data."""
        freq = self.get("/data/frequencies")
        if "cutoff" in self.given or freq is None:
            return self.opt("cutoff", "?")
        return "%d" % np.abs(freq).max()

    def final_loss(self):
        return float(np.ravel(self["/final/loss"])[0])

    def caption(self, width=110, skip=("output",)):
        """The file name and its option string (less skip), wrapped for a figure footer."""
        a = self.attrs
        head = "%s: %s, m = %s, seed %s, %s ranks, pgflow %s, stop: %s" % (
            os.path.basename(self.path), a.get("problem", "?"), a.get("particles", "?"),
            a.get("seed", "?"), a.get("ranks", "?"), a.get("version", "?"),
            a.get("stop_reason", "?"))
        opts = " ".join("-%s %s" % (k, v) if v else "-" + k
                        for k, v in sorted(self.options.items()) if k in self.given and k not in skip)
        return "\n".join(textwrap.wrap(head + " | " + opts, width))


def load(paths):
    """Results for every .h5 file among paths (files or directories)."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, n) for n in os.listdir(p) if n.endswith(".h5"))
        else:
            files.append(p)
    return [Results(p) for p in files]


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


def activation(s, name):
    if name == "relu":
        return np.maximum(s, 0)
    if name == "sigmoid":
        return 0.5 * (1 + np.tanh(0.5 * s))
    if name == "tanh":
        return np.tanh(s)
    if name == "erf":  # erf(z / sqrt 2); numpy has no erf
        return np.frompyfunc(lambda z: math.erf(z / math.sqrt(2)), 1, 1)(s).astype(float)
    raise ValueError("unknown activation " + name)


def predict(w, theta, X, act):
    """h(x) = (1/m) sum_i w_i s(theta_i . x~), x~ = (x, 1) when theta has d + 1 entries."""
    X = np.asarray(X, float)
    if theta.shape[-1] == X.shape[1] + 1:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    return activation(X @ theta.T, act) @ w / len(w)


def die(msg):
    print(os.path.basename(sys.argv[0]) + ": " + msg, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    # pgfresults.py FILE GROUP NAME: one attribute, for shell scripts
    # (e.g. /stats seconds_per_rhs): never parse what a run prints.
    if len(sys.argv) != 4:
        die("usage: pgfresults.py FILE GROUP NAME")
    with h5py.File(sys.argv[1], "r") as f:
        if sys.argv[2] not in f or sys.argv[3] not in f[sys.argv[2]].attrs:
            die("%s has no attribute %s of %s" % (sys.argv[1], sys.argv[3], sys.argv[2]))
        print(_str(f[sys.argv[2]].attrs[sys.argv[3]]))
