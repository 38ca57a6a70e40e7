"""Checks pgflow's conic particle gradient descent on deconvolution against
an independent implementation of its steps written from doc/math.md alone
(sections 4.1 to 4.3 for h, rho, g and grad g; section 2.5 for the steps):

    check_conic.py FILE [--tol 1e-10]

FILE is a results file of -problem deconv -lift signed_square -dynamics
conic -ts_type euler with a fixed -ts_dt and -snapshots >= 2, so that
/snapshots/w and /snapshots/theta hold the initial particles. The steps
are replayed from there (mirror: r <- r exp(-2 A dt (sign(r) g + lambda)),
canonical: r <- r (1 - 2 A dt (sign(r) g + lambda)); theta <- theta - B dt
sign(r) grad g, wrapped into [0, 1)) for as many steps as the run took, and
the final radii and positions compared with /final, relative to their
largest magnitude. Exits 1 when they differ by more than tol or when the run
undid a step (its step would then not be the fixed one)."""
import argparse
import sys

import h5py
import numpy as np


def param(f, name):
    v = f["parameters"].attrs[name]
    return v.decode() if isinstance(v, bytes) else v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--tol", type=float, default=1e-10)
    a = ap.parse_args()
    f = h5py.File(a.file, "r")
    assert param(f, "dynamics") == "conic" and param(f, "ts_type") == "euler", "not a conic run with Euler steps"
    A, B, dt, lam = (float(param(f, k)) for k in ("conic_alpha", "conic_beta", "ts_dt", "lambda"))
    mirror = param(f, "conic_retraction") == "mirror"
    steps = int(f["stats"].attrs["steps"])
    if f["stats"].attrs["rejected_steps"] != 0:
        print("FAIL: the run undid %d steps" % f["stats"].attrs["rejected_steps"])
        return 1
    omega = f["data/frequencies"][:].astype(float)  # K x q
    y = f["data/y_re"][:] + 1j * f["data/y_im"][:]
    K, m = len(y), int(f.attrs["particles"])
    W = f["snapshots/w"][0]
    r = np.sign(W) * np.sqrt(np.abs(W))  # W = r|r| (section 4.3)
    theta = f["snapshots/theta"][0].reshape(m, -1)
    for _ in range(steps):
        E = np.exp(-2j * np.pi * theta @ omega.T)  # m x K: exp(-2 pi i omega . theta_i)
        h = (r * np.abs(r)) @ E / m  # section 4.1
        rho = (h - y) / K  # section 4.2
        C = np.conj(rho)[None, :] * E
        g = C.real.sum(axis=1)
        grad = 2 * np.pi * C.imag @ omega  # m x q
        s = np.sign(r)
        step = -2 * A * dt * (s * g + lam)
        r_new = r * np.exp(step) if mirror else r * (1 + step)
        theta = np.mod(theta - B * dt * s[:, None] * grad, 1.0)
        r = r_new
    Wf, thf = f["final/w"][:], f["final/theta"][:].reshape(m, -1)
    rf = np.sign(Wf) * np.sqrt(np.abs(Wf))
    dr = np.abs(rf - r).max() / max(np.abs(r).max(), 1e-300)
    d = np.abs(thf - theta)
    dth = np.minimum(d, 1 - d).max()
    ok = dr <= a.tol and dth <= a.tol
    print("%s: %d %s steps of m = %d particles replayed: radii differ by %.2e (relative), positions by %.2e (tolerance %.0e)"
          % ("ok" if ok else "FAIL", steps, "mirror" if mirror else "canonical", m, dr, dth, a.tol))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
