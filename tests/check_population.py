"""Checks the population loss of a results file (-population true) against a
Monte-Carlo estimate over Gaussian inputs (doc/math.md section 3b):

    check_population.py FILE [--samples 1000000] [--sigmas 4] [--finite F ...]

For the first and the last snapshot, F = E[(f(x) - f*(x))^2 / 2] with
f(x) = (1/m) sum_i w_i s(theta_i . x) and f* the teacher's network (/truth),
estimated from independent draws x ~ N(0, I_d); the closed form must lie
within --sigmas standard errors of the estimate. s is relu or
erf(z / sqrt 2), from the file's options.
With --finite, results files of the same particles and teacher on finite
samples (-population false -bias false): the n -> infinity limit. Each one's
first loss must lie within --sigmas standard errors (those of its n
per-sample losses, from its /data) of the population loss at t = 0.
Exits 1 when a check fails."""
import argparse
import math
import re
import sys

import h5py
import numpy as np

try:
    from scipy.special import erf
except ImportError:  # scipy is optional: math.erf, element by element
    erf = np.frompyfunc(math.erf, 1, 1)


def activation(name):
    if name == "erf":
        return lambda z: np.asarray(erf(z / math.sqrt(2)), dtype=float)
    return lambda z: np.maximum(z, 0)


def estimate(s, w, theta, tw, ttheta, samples, rng, chunk=100000):
    total = total2 = 0.0
    for start in range(0, samples, chunk):
        x = rng.standard_normal((min(chunk, samples - start), theta.shape[1]))
        f = s(x @ theta.T) @ w / len(w) - s(x @ ttheta.T) @ tw / len(tw)
        loss = 0.5 * f * f
        total += loss.sum()
        total2 += (loss * loss).sum()
    mean = total / samples
    return mean, math.sqrt(max(total2 / samples - mean * mean, 0) / samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--samples", type=int, default=1000000)
    ap.add_argument("--sigmas", type=float, default=4)
    ap.add_argument("--finite", nargs="*", default=[])
    args = ap.parse_args()
    with h5py.File(args.file, "r") as f:
        options = f.attrs["options"]
        options = options.decode() if isinstance(options, bytes) else str(options)
        act = re.search(r"-activation\s+(\w+)", options)
        s = activation(act.group(1) if act else "relu")
        tw, ttheta = f["/truth/w"][()], f["/truth/theta"][()]
        snaps = [(k, f["/snapshots/w"][k], f["/snapshots/theta"][k], f["/snapshots/loss"][k]) for k in (0, len(f["/snapshots/t"]) - 1)]
    rng = np.random.default_rng(12345)
    ok = True
    for k, w, theta, F in snaps:
        mean, se = estimate(s, w, theta, tw, ttheta, args.samples, rng)
        good = abs(F - mean) <= args.sigmas * se
        ok = ok and good
        print(f"snapshot {k}: closed form {F:.8e}, Monte-Carlo {mean:.8e} +- {se:.2e} ({args.samples} samples): "
              f"{abs(F - mean) / se:.2f} standard errors {'ok' if good else 'FAILED'}")
    F0 = snaps[0][3]
    for name in args.finite:
        with h5py.File(name, "r") as f:
            X, y = f["/data/X"][()], f["/data/y"][()]
            w, theta, Fn = f["/snapshots/w"][0], f["/snapshots/theta"][0], f["/snapshots/loss"][0]
        loss = 0.5 * (s(X @ theta.T) @ w / len(w) - y) ** 2
        se = loss.std() / math.sqrt(len(y))
        good = abs(Fn - F0) <= args.sigmas * se and abs(loss.mean() - Fn) <= 1e-12 * Fn
        ok = ok and good
        print(f"n = {len(y)}: loss {Fn:.8e}, population {F0:.8e}, difference {abs(Fn - F0):.2e} = "
              f"{abs(Fn - F0) / se:.2f} standard errors of the sample mean {'ok' if good else 'FAILED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
