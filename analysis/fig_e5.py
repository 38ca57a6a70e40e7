"""E5: the flow against its convex baseline (doc/experiments.md).

Left: final loss against the number of particles m, log-log, for the particle
flow (/final/loss) and for the frozen-position baseline of the same run
(/baseline/loss: random features at the initial positions, the best weights
by a ScaLAPACK ridge solve): one point per seed, the median over seeds as a
line. Right, when the runs have -refit: the loss of the flow and the best
loss on its current positions (/snapshots/refit_loss) against time, one run
per m (the first seed).

    analysis/pgf-python analysis/fig_e5.py results/e5/        (a directory)
    analysis/pgf-python analysis/fig_e5.py results/e5/*.h5    (or files)
"""

import numpy as np

import pgfplot as pp
import pgfresults as pr


def medians(ax, ms, loss, style, label, color):
    floor = loss[loss > 0].min() / 10 if np.any(loss > 0) else 1e-16
    ax.loglog(ms, np.maximum(loss, floor), style, color=color, alpha=0.5)
    mu = np.unique(ms)
    ax.loglog(mu, [np.median(np.maximum(loss[ms == v], floor)) for v in mu], "-", color=color,
              label=label)


def main():
    args = pp.parser(__doc__.split("\n")[0]).parse_args()
    runs = [r for r in pr.load(args.inputs) if r.get("/baseline/loss") is not None]
    if not runs:
        pr.die("no results with /baseline (runs with -baseline rf) among " + " ".join(args.inputs))
    runs.sort(key=lambda r: (r.m, int(r.attrs.get("seed", 0))))
    refits = [r for r in runs if r.get("/snapshots/refit_loss") is not None]
    fig, axes = pp.plt.subplots(1, 2 if refits else 1, figsize=(12 if refits else 6, 5), squeeze=False)
    ax = axes[0][0]
    ms = np.array([r.m for r in runs])
    flow = np.array([r.final_loss() for r in runs])
    base = np.array([float(np.ravel(r["/baseline/loss"])[0]) for r in runs])
    medians(ax, ms, base, "s", "frozen positions (random features)", "tab:orange")
    medians(ax, ms, flow, "o", "particle flow (positions move)", "tab:blue")
    m0 = int(runs[0].opt("teacher_neurons", 0))
    if m0 > 0:
        ax.axvline(m0, ls="--", color="tab:red", label="m = m0 = %d" % m0)
    ax.set_xlabel("particles m")
    ax.set_ylabel("final loss")
    ax.set_title("final loss against m")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)

    if refits:
        ax = axes[0][1]
        first = {}
        for r in refits:
            first.setdefault(r.m, r)
        colors = pp.plt.cm.viridis(np.linspace(0, 0.9, len(first)))
        for color, (m, r) in zip(colors, sorted(first.items())):
            t = np.ravel(r["/snapshots/t"])
            pp.loglog(ax, t, np.ravel(r["/snapshots/loss"]), color=color, label="m = %d: flow" % m)
            pp.loglog(ax, t, np.ravel(r["/snapshots/refit_loss"]), color=color, ls=":",
                      label="m = %d: best weights on its positions" % m)
        ax.set_xlabel("time t")
        ax.set_ylabel("loss")
        ax.set_title("flow and refit on the current positions")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)

    seeds = sorted({int(r.attrs.get("seed", 0)) for r in runs})
    caption = "m in %s, seeds %s | %s" % (
        sorted(np.unique(ms).tolist()), seeds,
        runs[0].caption(1000, ("output", "particles", "seed")).split(" | ", 1)[1])
    fig.suptitle("E5: the particle flow against its frozen-position baseline")
    pp.save(fig, pp.output_path(args, "e5"), "\n".join(caption[i:i + 150] for i in range(0, len(caption), 150)))


if __name__ == "__main__":
    main()
