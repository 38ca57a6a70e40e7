"""Checks a results file's /baseline, /snapshots/refit_loss and /final/spectrum_*
against a plain serial LAPACK computation (numpy) of the same quantities
(doc/math.md section 6):

    check_convex.py FILE [--tol 1e-10]

A = s(X~ theta^T) / m, the ridge weights solve (A^T A / n + (lambda/m) I) w =
A^T y / n (the minimum-norm least-squares solution when pgflow reports a
rank below m), and the spectra are the eigenvalues of J^T J / n and J J^T / n
with J = dh/du at the final particles. Prints one line per check and exits 1
when any differs by more than tol (relative; for losses near 0, relative to
the loss of w = 0; for eigenvalues, relative to the largest)."""
import argparse
import math
import re
import sys

import h5py
import numpy as np


def activation(name):
    if name == "relu":
        return lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)
    if name == "sigmoid":
        s = lambda z: 1 / (1 + np.exp(-z))
        return s, lambda z: s(z) * (1 - s(z))
    if name == "erf":  # erf(z / sqrt 2); numpy has no erf
        erf = np.frompyfunc(lambda z: math.erf(z / math.sqrt(2)), 1, 1)
        return lambda z: erf(z).astype(float), lambda z: np.sqrt(2 / np.pi) * np.exp(-z * z / 2)
    return np.tanh, lambda z: 1 - np.tanh(z) ** 2


def inputs(f, p):
    X = f["data/X"][...]
    return np.hstack([X, np.ones((X.shape[0], 1))]) if p == X.shape[1] + 1 else X


def ridge(S, dS, X, theta, y, lam, rank):
    m = theta.shape[0]
    n = X.shape[0]
    A = S(X @ theta.T) / m
    G = A.T @ A / n + lam / m * np.eye(m)
    b = A.T @ y / n
    # pgflow falls back to least squares when the reciprocal condition of G
    # is below m eps (a refit records no rank: decide the same way here)
    if rank >= m and 1 / np.linalg.cond(G, 1) >= m * np.finfo(float).eps:
        w = np.linalg.solve(G, b)
    else:
        e, V = np.linalg.eigh(G)
        keep = e > m * np.finfo(float).eps * e[-1]
        w = V[:, keep] @ ((V[:, keep].T @ b) / e[keep])
    r = A @ w - y
    return w, 0.5 * np.mean(r * r) + lam / (2 * m) * (w @ w)


def relative(a, b):
    return np.linalg.norm(np.atleast_1d(a - b)) / max(np.linalg.norm(np.atleast_1d(b)), 1e-300)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--tol", type=float, default=1e-10)
    args = ap.parse_args()
    failures = 0

    def report(name, err, tol=args.tol):
        nonlocal failures
        ok = err <= tol
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: relative difference {err:.2e} (tolerance {tol:.0e})")

    with h5py.File(args.file, "r") as f:
        opts = f.attrs["options"]
        opts = opts.decode() if isinstance(opts, bytes) else opts
        act = re.search(r"-activation (\w+)", opts)
        S, dS = activation(act.group(1) if act else "relu")
        y = f["data/y"][...]
        n = y.size
        trivial = 0.5 * np.mean(y * y)  # the loss of w = 0: the scale of losses near 0
        if "baseline" in f:
            theta = f["baseline/theta"][...]
            X = inputs(f, theta.shape[1])
            lam = f["baseline/lambda"][0]
            rank = int(f["baseline/rank"][0])
            w, loss = ridge(S, dS, X, theta, y, lam, rank)
            report("baseline weights", relative(f["baseline/w"][...], w))
            report("baseline loss", abs(f["baseline/loss"][0] - loss) / max(loss, trivial))
        if "snapshots/refit_loss" in f:
            refit = f["snapshots/refit_loss"][...]
            thetas = f["snapshots/theta"][...]
            X = inputs(f, thetas.shape[2])
            lam = f["baseline/lambda"][0] if "baseline" in f else 0.0
            ref = np.array([ridge(S, dS, X, th, y, lam, th.shape[0])[1] for th in thetas])
            report(f"refit loss at {len(ref)} snapshots", np.max(np.abs(refit - ref) / np.maximum(ref, trivial)))
        if "final/spectrum_gn" in f:
            w = f["final/w"][...]
            theta = f["final/theta"][...]
            m, p = theta.shape
            X = inputs(f, p)
            Z = X @ theta.T
            J = np.empty((n, m, 1 + p))
            J[:, :, 0] = S(Z) / m
            J[:, :, 1:] = (w * dS(Z) / m)[:, :, None] * X[:, None, :]
            J = J.reshape(n, m * (1 + p))
            gn = np.linalg.eigvalsh(J.T @ J / n)[::-1]
            report("Gauss-Newton spectrum", np.max(np.abs(f["final/spectrum_gn"][...] - gn)) / gn[0])
            if "final/spectrum_ntk" in f:
                ntk = np.linalg.eigvalsh(J @ J.T / n)[::-1]
                report("tangent kernel spectrum", np.max(np.abs(f["final/spectrum_ntk"][...] - ntk)) / ntk[0])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
