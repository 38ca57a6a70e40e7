"""E2: sparse deconvolution on the 2-torus (doc/experiments.md).

For each results file, one row: the final particles in the unit square
(marker area proportional to |weight|, colour by sign) over the ground-truth
spikes, and the duality gap (and loss) against time, log-log.

    analysis/pgf-python analysis/fig_e2.py results/e2-*.h5
"""

import numpy as np

import pgfplot as pp
import pgfresults as pr


def particles_panel(ax, r):
    x = r["/final/theta"]
    w = np.ravel(r["/final/w"])
    area = 200 * np.abs(w) / max(np.abs(w).max(), 1e-300)
    colour = np.where(w > 0, "tab:red", "tab:blue")
    ax.scatter(x[:, 0], x[:, 1], s=area, c=colour, alpha=0.6, edgecolors="none")
    tx, ta = r["/truth/x"], np.ravel(r["/truth/a"])
    ax.scatter(tx[:, 0], tx[:, 1], s=200 * np.abs(ta) / np.abs(ta).max(), facecolors="none",
               edgecolors=np.where(ta > 0, "darkred", "darkblue"), marker="o", linewidths=1.5)
    ax.plot([], [], "o", color="tab:red", alpha=0.6, label="particle, w > 0")
    ax.plot([], [], "o", color="tab:blue", alpha=0.6, label="particle, w < 0")
    ax.plot([], [], "o", mfc="none", mec="k", label="true spike (area ~ |a|)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("theta_1")
    ax.set_ylabel("theta_2")
    ax.set_title("m = %d: final particles, area ~ |w|" % r.m)
    ax.legend(loc="best", fontsize=7, framealpha=0.8)


def gap_panel(ax, r):
    t = r["/snapshots/t"]
    gap = r.get("/snapshots/gap")
    if gap is not None:
        pp.loglog(ax, t, gap, label="duality gap", marker=".")
    pp.loglog(ax, r["/history/t"], r["/history/loss"], label="objective F")
    ax.set_ylabel("gap, objective")
    ax.set_title("final gap %.2g at t = %.3g" % (float(gap[-1]) if gap is not None else float("nan"), float(t[-1])))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def main():
    args = pp.parser(__doc__.split("\n")[0]).parse_args()
    runs = sorted((r for r in pr.load(args.inputs) if r.problem == "deconv"), key=lambda r: r.m)
    if not runs:
        pr.die("no deconvolution results among " + " ".join(args.inputs))
    fig, axes = pp.plt.subplots(len(runs), 2, figsize=(11, 5 * len(runs)), squeeze=False)
    for row, r in zip(axes, runs):
        particles_panel(row[0], r)
        gap_panel(row[1], r)
    pp.save_deconv(fig, args, runs, "e2", 2)


if __name__ == "__main__":
    main()
