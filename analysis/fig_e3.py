"""E3: two-layer networks in dimension 2 (doc/experiments.md).

For each results file, one row: particle trajectories in the input plane
(|w_i| theta_i for relu, theta_i for sigmoid and tanh; the bias coordinate is
dropped), time as colour on a log scale, teacher neurons marked; and the loss
against time, log-log.

    analysis/pgf-python analysis/fig_e3.py results/e3-relu.h5 results/e3-sigmoid.h5
"""

import numpy as np

import pgfplot as pp
import pgfresults as pr


def trajectory_panel(fig, ax, r):
    act = r.opt("activation", "relu")
    t = r["/snapshots/t"]
    theta = r["/snapshots/theta"][:, :, :2]
    tw, tt = r.get("/truth/w"), r.get("/truth/theta")
    if act == "relu":
        paths = np.abs(r["/snapshots/w"])[:, :, None] * theta
        ax.set_title("relu: |w_i| theta_i (input plane)")
    else:
        paths = theta
        ax.set_title("%s: theta_i (input plane)" % act)
    norm = pp.trajectories(ax, t, paths)
    ax.plot(paths[-1, :, 0], paths[-1, :, 1], "k.", ms=2)
    if tt is not None:
        tm = (np.abs(tw)[:, None] * tt[:, :2]) if act == "relu" else tt[:, :2]
        lim = max(np.abs(paths).max(), np.abs(tm).max()) * 1.1
        for k in range(len(tm)):
            if act == "relu":
                d = tt[k, :2] / max(np.linalg.norm(tt[k, :2]), 1e-300)
                ax.plot([0, 2 * lim * d[0]], [0, 2 * lim * d[1]], ":", color="grey", lw=1)
            ax.plot(tm[k, 0], tm[k, 1], "*", ms=14, mec="k",
                    color="tab:red" if tw[k] > 0 else "tab:blue",
                    label="teacher (red w* > 0)" if k == 0 else None)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.legend(loc="upper right", fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlabel("coordinate 1")
    ax.set_ylabel("coordinate 2")
    pp.colorbar(fig, ax, norm)


def loss_panel(ax, r):
    pp.loglog(ax, r["/history/t"], r["/history/loss"], label="loss F(t)")
    pp.loglog(ax, r["/snapshots/t"], r["/snapshots/loss"], label="snapshots", ls="", marker=".")
    ax.set_ylabel("loss")
    ax.set_title("final loss %.3g at t = %.3g" % (r.final_loss(), float(np.ravel(r["/final/t"])[0])))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def main():
    args = pp.parser(__doc__.split("\n")[0]).parse_args()
    runs = [r for r in pr.load(args.inputs) if r.problem == "twolayer"]
    if not runs:
        pr.die("no two-layer results among " + " ".join(args.inputs))
    fig, axes = pp.plt.subplots(len(runs), 2, figsize=(12, 5 * len(runs)), squeeze=False,
                                gridspec_kw={"width_ratios": [1.1, 1]})
    for row, r in zip(axes, runs):
        trajectory_panel(fig, row[0], r)
        loss_panel(row[1], r)
    fig.suptitle("E3: two-layer network, d = %s, m = %d" % (runs[0].opt("dim", "?"), runs[0].m))
    pp.save(fig, pp.output_path(args, "e3"), "\n".join(r.caption() for r in runs))


if __name__ == "__main__":
    main()
