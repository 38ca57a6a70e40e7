"""E1: sparse deconvolution on the 1-torus (doc/experiments.md).

One panel per results file (e.g. m = 6, 10, 100): particle trajectories in the
(position, weight) plane, time as colour on a log scale, ground-truth spikes
as vertical dotted lines, final duality gap in the title. A last panel shows
the duality gap of every file against time, log-log.

    analysis/pgf-python analysis/fig_e1.py results/e1-*.h5
"""

import numpy as np

import pgfplot as pp
import pgfresults as pr


def final_gap(r):
    gap = r.get("/snapshots/gap")
    return float(gap[-1]) if gap is not None and len(gap) else float("nan")


def trajectory_panel(fig, ax, r):
    t = r["/snapshots/t"]
    paths = np.stack([r["/snapshots/theta"][:, :, 0], r["/snapshots/w"]], axis=2)
    norm = pp.trajectories(ax, t, paths, wrap=(True, False))
    ax.plot(paths[-1, :, 0], paths[-1, :, 1], "k.", ms=3)
    for k, x in enumerate(np.ravel(r["/truth/x"][:, 0])):
        ax.axvline(x, ls=":", color="tab:red", lw=1.2, label="true spikes" if k == 0 else None)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("position theta (1-torus)")
    ax.set_ylabel("weight w")
    ax.set_title("m = %d, lift %s: final gap %.2g" % (r.m, r.opt("lift", "?"), final_gap(r)))
    ax.legend(loc="upper right", fontsize=8)
    pp.colorbar(fig, ax, norm)


def main():
    args = pp.parser(__doc__.split("\n")[0]).parse_args()
    runs = sorted((r for r in pr.load(args.inputs) if r.problem == "deconv"), key=lambda r: r.m)
    if not runs:
        pr.die("no deconvolution results among " + " ".join(args.inputs))
    n = len(runs) + 1
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    fig, axes = pp.plt.subplots(rows, cols, figsize=(7 * cols, 4.5 * rows), squeeze=False)
    axes = axes.ravel()
    for ax, r in zip(axes, runs):
        trajectory_panel(fig, ax, r)
    ax = axes[len(runs)]
    for r in runs:
        gap = r.get("/snapshots/gap")
        if gap is None:
            pp.loglog(ax, r["/snapshots/t"], r["/snapshots/loss"], label="m = %d: objective (no gap in file)" % r.m, marker=".", ls="--")
        else:
            pp.loglog(ax, r["/snapshots/t"], gap, label="m = %d" % r.m, marker=".")
    ax.set_ylabel("duality gap (else objective)")
    ax.set_title("duality gap against time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    for ax in axes[n:]:
        ax.set_visible(False)
    pp.save_deconv(fig, args, runs, "e1", 1)


if __name__ == "__main__":
    main()
