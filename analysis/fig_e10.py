"""E10: conic particle gradient descent against the Wasserstein flow (doc/experiments.md).

Reads a directory laid out by `make figures` (analysis/make-figures):
illustration-{conic,wasserstein}.h5 (the 1-D illustration of Chizat 2022:
particle trajectories in the (position, radius) plane), {e1,e2}-{label}.h5
(the duality gap against right-hand-side evaluations for each method), and
success/{dynamics}-m{M}-s{S}.h5 (the fraction of seeds reaching a certified
gap below 1e-8, against m).

    analysis/pgf-python analysis/fig_e10.py results/e10 -o results/figures/e10
"""

import os
import re

import numpy as np

import pgfplot as pp
import pgfresults as pr

METHODS = [("euler", "Wasserstein, Euler at its stable step"), ("rosw", "Wasserstein, rosw (default)"),
           ("conic-mirror", "conic, mirror steps"), ("conic-rosw", "conic, rosw")]
SUCCESS_GAP = 1e-8


def radius(r):
    """The radius coordinate: /snapshots/w holds W = r|r|."""
    w = r["/snapshots/w"]
    return np.sign(w) * np.sqrt(np.abs(w))


def illustration(fig, ax, r, title):
    t = r["/snapshots/t"]
    paths = np.stack([r["/snapshots/theta"][:, :, 0], radius(r)], axis=2)
    norm = pp.trajectories(ax, t, paths, wrap=(True, False))
    ax.plot(paths[-1, :, 0], paths[-1, :, 1], "k.", ms=4)
    a = np.ravel(r["/truth/a"])
    x = np.ravel(r["/truth/x"][:, 0])
    # the radius of one particle carrying the whole spike: W / m = a
    ax.plot(x, np.sign(a) * np.sqrt(np.abs(a) * r.m), "r*", ms=9, label="spikes (radius of one particle of mass a)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("position theta")
    ax.set_ylabel("radius r (weight r|r|)")
    ax.set_title("%s: %d snapshots to t = %.3g, gap %.2g" % (title, len(t), t[-1], float(r["/snapshots/gap"][-1])))
    ax.legend(loc="lower right", fontsize=7)
    pp.colorbar(fig, ax, norm)


def gap_against_evaluations(r):
    """The duality gap at each snapshot against the evaluations made by then."""
    ht, hn = r["/history/t"], r["/history/rhs_evals"]
    st, gap = r["/snapshots/t"], r["/snapshots/gap"]
    evals = np.interp(st, np.concatenate(([0.0], ht)), np.concatenate(([0.0], hn)))
    return evals, gap


def convergence(ax, runs, problem):
    for label, text in METHODS:
        r = runs.get("%s-%s" % (problem, label))
        if r is None:
            continue
        n, gap = gap_against_evaluations(r)
        ok = (gap > 0) & (n > 0)
        ax.semilogy(n[ok], gap[ok], marker=".", label="%s: %d evaluations" % (text, int(r.stats.get("rhs_evals", 0))))
    ax.axhline(1e-10, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("right-hand-side evaluations")
    ax.set_ylabel("duality gap")
    ax.set_title("%s (m = 100): gap against evaluations" % problem.upper())
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def success(ax, directory):
    rates = {}
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        mt = re.match(r"(\w+)-m(\d+)-s(\d+)\.h5$", name)
        if not mt:
            continue
        r = pr.Results(os.path.join(directory, name))
        gap = r.get("/snapshots/gap")
        ok = gap is not None and len(gap) and float(gap[-1]) < SUCCESS_GAP
        rates.setdefault(mt.group(1), {}).setdefault(int(mt.group(2)), []).append(ok)
    for dyn, by_m in sorted(rates.items()):
        ms = sorted(by_m)
        ax.plot(ms, [np.mean(by_m[m]) for m in ms], marker="o", label="%s (%d seeds)" % (dyn, len(by_m[ms[0]])))
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("particles m (5 spikes)")
    ax.set_ylabel("fraction with certified gap < 1e-8")
    ax.set_title("E1 at small m: global minimizer reached")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return rates


def main():
    args = pp.parser(__doc__.split("\n")[0], many=False).parse_args()
    directory = args.inputs[0]
    runs = {os.path.splitext(os.path.basename(r.path))[0]: r for r in pr.load([directory])}
    if not runs:
        pr.die("no results in " + directory)
    fig, axes = pp.plt.subplots(2, 3, figsize=(19, 10), squeeze=False)
    axes = axes.ravel()
    for ax, name, title in ((axes[0], "illustration-conic", "conic, mirror steps"),
                            (axes[1], "illustration-wasserstein", "Wasserstein")):
        if name in runs:
            illustration(fig, ax, runs[name], title)
        else:
            ax.set_visible(False)
    convergence(axes[3], runs, "e1")
    convergence(axes[4], runs, "e2")
    success(axes[2], os.path.join(directory, "success"))
    axes[5].set_visible(False)
    fig.suptitle("E10: conic particle gradient descent (Chizat 2022) and the Wasserstein flow")
    shown = [runs[k] for k in sorted(runs) if k.startswith(("illustration", "e1-", "e2-"))]
    pp.save(fig, pp.output_path(args, "e10"), "\n".join(r.caption(width=160) for r in shown[:6]))


if __name__ == "__main__":
    main()
