"""E11: birth-death jumps against the flow, and mean-field Langevin (doc/math.md sections 2.6, 2.7).

Reads a directory laid out by `make figures` (analysis/make-figures):
relu-m{M}-s{S}-{flow,bd}.h5 (E3 relu, the loss against t with and without
jumps at equal m, averaged over the seeds) and langevin-T{T}.h5 (E3 relu
with l2 weight decay: the final loss against T, and along each run
F + T int rho log rho, the objective the dynamics decreases, with the
entropy estimated from each snapshot's particles by Kozachenko-Leonenko).

    analysis/pgf-python analysis/fig_e11.py results/e11 -o results/figures/e11
"""

import glob
import os
import re

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln

import pgfplot as pp
import pgfresults as pr


def kl_entropy(x):
    """Kozachenko-Leonenko estimate of -int rho log rho from the points x (m x d)."""
    m, d = x.shape
    dist, _ = cKDTree(x).query(x, k=2)
    eps = np.maximum(dist[:, 1], 1e-300)
    logvol = d / 2 * np.log(np.pi) - gammaln(d / 2 + 1)
    return digamma(m) - digamma(1) + logvol + d * np.mean(np.log(eps))


def on_grid(t, loss, grid):
    return np.interp(grid, t, loss, left=loss[0], right=loss[-1])


def birth_death(ax, d):
    runs = {}
    for path in glob.glob(os.path.join(d, "relu-m*-s*-*.h5")):
        m, s, kind = re.search(r"relu-m(\d+)-s(\d+)-(\w+)\.h5$", path).groups()
        runs.setdefault((int(m), kind), []).append(pr.Results(path))
    grid = np.logspace(-2, np.log10(200), 200)
    colors = {}
    for (m, kind), rs in sorted(runs.items()):
        losses = [on_grid(r["/history/t"], r["/history/loss"], grid) for r in rs]
        c = colors.setdefault(m, "C%d" % len(colors))
        ax.loglog(grid, np.exp(np.mean(np.log(losses), axis=0)), color=c, ls="-" if kind == "flow" else "--",
                  label="m = %d, %s (%d seeds)" % (m, "flow" if kind == "flow" else "flow + birth-death", len(rs)))
    ax.set_xlabel("t")
    ax.set_ylabel("loss (geometric mean over seeds)")
    ax.set_title("E3 relu: birth-death (A = 1) against the flow")
    ax.legend(fontsize=7)


def langevin(ax_final, ax_obj, d):
    rows = []
    for path in glob.glob(os.path.join(d, "langevin-T*.h5")):
        T = float(re.search(r"langevin-T([-0-9.e]+)\.h5$", path).group(1))
        rows.append((T, pr.Results(path)))
    rows.sort(key=lambda x: x[0])
    for T, r in rows:
        if T > 0:
            t = r["/snapshots/t"]
            w, theta = r["/snapshots/w"], r["/snapshots/theta"]
            H = np.array([kl_entropy(np.column_stack([w[k], theta[k]])) for k in range(len(t))])
            obj = r["/snapshots/loss"] - T * H
            ax_obj.semilogx(t[1:], obj[1:] - obj[-1] + 1e-12, label="T = %g" % T)
    Ts = np.array([T for T, _ in rows])
    final = np.array([r["/final/loss"][0] for _, r in rows])
    ax_final.semilogy(np.where(Ts > 0, Ts, np.min(Ts[Ts > 0]) / 10), final, "o-")
    ax_final.set_xscale("log")
    ax_final.set_xlabel("T (T = 0 drawn at a tenth of the smallest)")
    ax_final.set_ylabel("final F")
    ax_final.set_title("E3 relu, l2: final loss against T")
    ax_obj.set_xlabel("t")
    ax_obj.set_ylabel("F + T int rho log rho - its final value")
    ax_obj.set_title("the objective Langevin decreases (entropy: Kozachenko-Leonenko)")
    ax_obj.legend(fontsize=7)


def main():
    args = pp.parser(__doc__.splitlines()[0], many=False).parse_args()
    directory = args.inputs[0]
    if not glob.glob(os.path.join(directory, "*.h5")):
        pr.die("no results in " + directory)
    fig, ax = pp.plt.subplots(1, 3, figsize=(17, 5))
    birth_death(ax[0], directory)
    langevin(ax[1], ax[2], directory)
    fig.suptitle("E11: birth-death jumps and mean-field Langevin on E3 relu")
    pp.save(fig, pp.output_path(args, "e11"))


if __name__ == "__main__":
    main()
