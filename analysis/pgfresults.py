"""Reading pgflow results files: numpy and h5py only, no plotting.

A results file is described in doc/results-file.md: root attributes (problem,
particles, ranks, seed, version, options, completed, stop_reason) and the
groups /data, /truth, /snapshots, /history and /final. The tests, the job
scripts and the figure scripts (through pgfplot.py for the drawing) read
files with it; nothing here runs the flow.

    analysis/pgf-python analysis/pgfresults.py FILE GROUP NAME

prints one attribute of a group (/stats seconds_per_rhs, /parameters
ts_type), for shell scripts: never parse what a run prints.
"""

import math
import os
import sys
import textwrap

import h5py
import numpy as np


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


# The two-layer network of a file's particles, in numpy: what a file's loss
# is checked against (doc/math.md section 3).
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
    if len(sys.argv) != 4:
        die("usage: pgfresults.py FILE GROUP NAME")
    with h5py.File(sys.argv[1], "r") as f:
        if sys.argv[2] not in f or sys.argv[3] not in f[sys.argv[2]].attrs:
            die("%s has no attribute %s of %s" % (sys.argv[1], sys.argv[3], sys.argv[2]))
        print(_str(f[sys.argv[2]].attrs[sys.argv[3]]))
