"""E4: two-layer networks in high dimension (doc/experiments.md).

Final loss (the excess loss, since F* = 0) against the number of particles m,
log-log: one point per seed, the median over seeds as a line, a vertical line
at m = m0. One panel per activation.

    analysis/pgf-python analysis/fig_e4.py results/e4/        (a directory)
    analysis/pgf-python analysis/fig_e4.py results/e4-*.h5    (or files)
"""

from collections import defaultdict

import numpy as np

import pgfplot as pp
import pgfresults as pr


def main():
    args = pp.parser(__doc__.split("\n")[0]).parse_args()
    runs = [r for r in pr.load(args.inputs) if r.problem == "twolayer"]
    if not runs:
        pr.die("no two-layer results among " + " ".join(args.inputs))
    by_act = defaultdict(list)
    for r in runs:
        by_act[r.opt("activation", "relu")].append(r)
    acts = sorted(by_act)
    fig, axes = pp.plt.subplots(1, len(acts), figsize=(6 * len(acts), 5), squeeze=False)
    captions = []
    for ax, act in zip(axes[0], acts):
        group = by_act[act]
        ms = np.array([r.m for r in group])
        loss = np.array([r.final_loss() for r in group])
        floor = loss[loss > 0].min() / 10 if np.any(loss > 0) else 1e-16
        ax.loglog(ms, np.maximum(loss, floor), "o", alpha=0.6, label="one seed (%d runs)" % len(group))
        mu = np.unique(ms)
        ax.loglog(mu, [np.median(np.maximum(loss[ms == v], floor)) for v in mu], "-", color="k",
                  label="median over seeds")
        m0 = int(group[0].opt("teacher_neurons", 0))
        if m0 > 0:
            ax.axvline(m0, ls="--", color="tab:red", label="m = m0 = %d" % m0)
        ax.set_xlabel("particles m")
        ax.set_ylabel("final loss (excess loss)")
        ax.set_title("%s, d = %s, n = %s" % (act, group[0].opt("dim", "?"), group[0].opt("samples", "?")))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        seeds = sorted({int(r.attrs.get("seed", 0)) for r in group})
        tmax = sorted({r.opt("ts_max_time", "?") for r in group})
        captions.append("%s: m in %s, seeds %s, t_max %s | %s" % (
            act, sorted(mu.tolist()), seeds, ",".join(tmax),
            group[0].caption(1000, ("output", "particles", "seed")).split(" | ", 1)[1]))
    fig.suptitle("E4: final loss against the number of particles")
    caption = "\n".join(c[i:i + 150] for c in captions for i in range(0, len(c), 150))
    pp.save(fig, pp.output_path(args, "e4"), caption)


if __name__ == "__main__":
    main()
