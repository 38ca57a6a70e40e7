"""E7: scaling (shared/spec/EXPERIMENTS.md), from a small table.

The table is a CSV file with a header line and the columns
    mode,ranks,particles,seconds_per_rhs[,allreduce_fraction]
(mode is strong or weak), one row per run; analysis/make-figures builds one
from pgflow's log lines "right-hand side: ... s each". Draws the time per
right-hand-side evaluation and the parallel efficiency against ranks
(strong: T1 / (P TP); weak: T1 / TP), and the fraction of time in
MPI_Allreduce when the column is present.

    analysis/pgf-python analysis/fig_e7.py results/e7.csv
"""

import csv

import numpy as np

import pgfresults as pr


def read_table(path):
    with open(path) as f:
        rows = [r for r in csv.DictReader(f)]
    if not rows or not {"mode", "ranks", "seconds_per_rhs"} <= set(rows[0]):
        pr.die("%s: need a CSV header with mode,ranks,particles,seconds_per_rhs" % path)
    return rows


def main():
    args = pr.parser(__doc__.split("\n")[0], many=False).parse_args()
    rows = read_table(args.inputs[0])
    has_mpi = any(r.get("allreduce_fraction") for r in rows)
    fig, axes = pr.plt.subplots(1, 3 if has_mpi else 2, figsize=(15 if has_mpi else 11, 4.5))
    for mode, marker in (("strong", "o"), ("weak", "s")):
        sel = sorted((r for r in rows if r["mode"] == mode), key=lambda r: int(r["ranks"]))
        if not sel:
            continue
        P = np.array([int(r["ranks"]) for r in sel])
        T = np.array([float(r["seconds_per_rhs"]) for r in sel])
        m = ",".join(sorted({r.get("particles", "?") for r in sel}, key=lambda s: int(s) if s.isdigit() else 0))
        axes[0].loglog(P, T, marker + "-", label="%s (m = %s)" % (mode, m))
        eff = T[0] * P[0] / (P * T) if mode == "strong" else T[0] / T
        axes[1].semilogx(P, eff, marker + "-", label=mode)
        if has_mpi:
            axes[2].semilogx(P, [float(r.get("allreduce_fraction") or "nan") for r in sel], marker + "-", label=mode)
    axes[0].set_ylabel("seconds per right-hand-side evaluation")
    axes[1].set_ylabel("parallel efficiency")
    axes[1].set_ylim(0, 1.2)
    axes[1].axhline(1, color="grey", lw=0.5)
    if has_mpi:
        axes[2].set_ylabel("fraction of time in MPI_Allreduce")
    ranks = sorted({int(r["ranks"]) for r in rows})
    for ax in axes:
        ax.set_xticks(ranks)
        ax.set_xticklabels([str(p) for p in ranks])
        ax.minorticks_off()
        ax.set_xlabel("MPI ranks")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("E7: scaling of the right-hand side")
    pr.save(fig, pr.output_path(args, "e7"), "table: " + args.inputs[0])


if __name__ == "__main__":
    main()
