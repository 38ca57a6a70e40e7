"""E11: birth-death jumps against the flow, and mean-field Langevin (doc/math.md sections 2.6, 2.7).

Reads a directory laid out by `make figures` (analysis/make-figures):
relu-m{M}-s{S}-A{A}.h5 (E4's teacher-student setting, relu: the loss
against t at rates A = 0, 1, 10 and equal m, geometric mean over the
seeds), deconv-m{M}-s{S}-A{A}.h5 (E1 at small m: the final certified gap
against m with and without jumps, and how many seeds reach 1e-8) and
langevin-T{T}.h5 (E3 relu with l2 weight decay: the final loss against T,
and along each run F + T int rho log rho, the objective the dynamics
decreases, with the entropy estimated from each snapshot's particles by
Kozachenko-Leonenko).

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


def runs_of(d, kind):
    """{(m, A): [Results]} of the files kind-m{M}-s{S}-A{A}.h5 in d."""
    runs = {}
    for path in glob.glob(os.path.join(d, kind + "-m*-s*-A*.h5")):
        m, _, A = re.search(r"-m(\d+)-s(\d+)-A([0-9.e-]+)\.h5$", path).groups()
        runs.setdefault((int(m), float(A)), []).append(pr.Results(path))
    return runs


def birth_death(ax, d):
    grid = np.logspace(-1, 3, 200)
    colors, styles = {}, {0.0: "-", 1.0: "--", 10.0: ":"}
    for (m, A), rs in sorted(runs_of(d, "relu").items()):
        losses = [on_grid(r["/history/t"], r["/history/loss"], grid) for r in rs]
        c = colors.setdefault(m, "C%d" % len(colors))
        ax.loglog(grid, np.exp(np.mean(np.log(losses), axis=0)), color=c, ls=styles.get(A, "-."),
                  label="m = %d, A = %g (%d seeds)" % (m, A, len(rs)))
    ax.set_xlabel("t")
    ax.set_ylabel("loss (geometric mean over seeds)")
    ax.set_title("E4 relu (d = 20, m0 = 10): flow (A = 0) and birth-death")
    ax.legend(fontsize=6, ncol=3)


def deconv(ax, d):
    runs = runs_of(d, "deconv")
    rates = sorted({A for _, A in runs})
    for (m, A), rs in sorted(runs.items()):
        k = rates.index(A)
        gaps = np.array([r["/snapshots/gap"][-1] for r in rs])
        x = m * 1.06 ** (k - (len(rates) - 1) / 2) * np.ones(len(gaps))
        ax.semilogy(x, np.maximum(gaps, 1e-16), "so^v"[k % 4], color="C%d" % k, ms=4,
                    label=("flow" if A == 0 else "birth-death, A = %g" % A) if m == min(mm for mm, _ in runs) else None)
        ax.annotate("%d/%d" % (np.sum(gaps < 1e-8), len(gaps)), (x[0], 10.0 ** (3 - k / 2)), fontsize=7, ha="center", color="C%d" % k)
    ax.axhline(1e-8, color="gray", lw=0.5)
    ax.set_xscale("log")
    ms = sorted({m for m, _ in runs})
    ax.set_xticks(ms, [str(m) for m in ms])
    ax.minorticks_off()
    ax.set_ylim(1e-10, 1e4)
    ax.set_xlabel("m (seeds with a certified gap below 1e-8, of 5)")
    ax.set_ylabel("final duality gap")
    ax.set_title("E1 (5 spikes), the flow (rosw) with and without jumps: final gap")
    ax.legend(fontsize=7, loc="center right")


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
    fig, ax = pp.plt.subplots(2, 2, figsize=(13, 10))
    birth_death(ax[0, 0], directory)
    deconv(ax[0, 1], directory)
    langevin(ax[1, 0], ax[1, 1], directory)
    fig.suptitle("E11: birth-death jumps (E4 relu, E1) and mean-field Langevin (E3 relu)")
    pp.save(fig, pp.output_path(args, "e11"))


if __name__ == "__main__":
    main()
