"""E7: scaling of the right-hand side, and communication across nodes.

The table is a CSV file with a header line and the columns
    mode,ranks,particles,seconds_per_rhs[,allreduce_fraction][,nodes][,samples][,mpi_seconds_per_rhs]
(mode is strong or weak), one row per run: jobs/scaling.sbatch writes
scaling.csv with all of them, analysis/make-figures a shorter one. Draws the
time per right-hand-side evaluation and the parallel efficiency against
ranks (strong: T1 / (P TP); weak: T1 / TP), and the fraction of it in MPI
when the column is present.

With --allreduce DIR (the allreduce-nK.json files of jobs/scaling.sbatch:
MPI_Allreduce times from 8 B to 2 MiB on K nodes, one rank per node; K = 1
is 2 ranks on shared memory), also the scaling model's communication,
t(P, bytes) = 2 log2(P) alpha + 2 (P - 1)/P bytes beta, with alpha and beta
fitted on the fewest nodes (2), against the measured times on every node
count, per message size; and the predicted MPI time per right-hand side (an
Allreduce of 8 (n + 1) bytes) against the measured one. The comparison is
also printed as a table with the relative errors.

    analysis/pgf-python analysis/fig_e7.py results/e7.csv
    analysis/pgf-python analysis/fig_e7.py results/e7/scaling.csv --allreduce results/e7
"""

import csv
import glob
import json
import os

import numpy as np

import pgfplot as pp
import pgfresults as pr


def read_table(path):
    with open(path) as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#"))]
    if not rows or not {"mode", "ranks", "seconds_per_rhs"} <= set(rows[0]):
        pr.die("%s: need a CSV header with mode,ranks,particles,seconds_per_rhs" % path)
    return rows


def read_allreduce(path):
    runs = []
    for f in sorted(glob.glob(os.path.join(path, "allreduce-n*.json"))):
        with open(f) as fp:
            r = json.load(fp)
        if "allreduce_times" not in r:
            pr.die("%s: no allreduce_times (written by bin/pgfbench -allreduce)" % f)
        r["bytes"], r["seconds"] = np.array(r["allreduce_times"], dtype=float).T
        runs.append(r)
    if not any(r["nodes"] > 1 for r in runs):
        pr.die("%s: no allreduce-nK.json with K > 1 nodes (jobs/scaling.sbatch on 2 or more nodes)" % path)
    return sorted(runs, key=lambda r: (r["nodes"], r["ranks"]))


def model(fit, P, nbytes):
    """The scaling model's Allreduce time (bench/pgfbench.c, README Performance)."""
    a, b = fit["allreduce"]["alpha_s"], fit["allreduce"]["beta_s_per_byte"]
    return 2 * np.log2(P) * a + 2.0 * (P - 1) / P * np.asarray(nbytes, dtype=float) * b


def num(row, key):
    try:
        return float(row.get(key) or "nan")
    except ValueError:
        return float("nan")


def draw_scaling(axes, rows, has_mpi):
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
            axes[2].semilogx(P, [num(r, "allreduce_fraction") for r in sel], marker + "-", label=mode)
    axes[0].set_ylabel("seconds per right-hand-side evaluation")
    axes[1].set_ylabel("parallel efficiency")
    axes[1].set_ylim(0, 1.2)
    axes[1].axhline(1, color="grey", lw=0.5)
    if has_mpi:
        axes[2].set_ylabel("fraction of the right-hand side in MPI")
    ranks = sorted({int(r["ranks"]) for r in rows})
    for ax in axes:
        ax.set_xticks(ranks)
        ax.set_xticklabels([str(p) for p in ranks])
        ax.minorticks_off()
        ax.set_xlabel("MPI ranks")


def compare_allreduce(ax, runs):
    """Measured Allreduce times per node count against the model fitted on
    the fewest nodes (and on shared memory, when measured); the table."""
    tcp = next(r for r in runs if r["nodes"] > 1)
    shm = next((r for r in runs if r["nodes"] == 1), None)
    print("MPI_Allreduce: model fitted on %d nodes: alpha %.3g s, 1/beta %.3g GB/s"
          % (tcp["nodes"], tcp["allreduce"]["alpha_s"], 1e-9 / tcp["allreduce"]["beta_s_per_byte"]))
    if shm:
        print("MPI_Allreduce: shared memory (1 node, %d ranks): alpha %.3g s, 1/beta %.3g GB/s"
              % (shm["ranks"], shm["allreduce"]["alpha_s"], 1e-9 / shm["allreduce"]["beta_s_per_byte"]))
    print("%5s %5s %9s %11s %11s %9s %11s" % ("nodes", "ranks", "bytes", "measured_s", "model_s", "error", "shm_model_s"))
    for k, r in enumerate(runs):
        color = "C%d" % k
        label = "%d node%s, %d ranks" % (r["nodes"], "s" if r["nodes"] > 1 else "", r["ranks"])
        ax.loglog(r["bytes"], r["seconds"], "o", color=color, label=label + " measured")
        if r["nodes"] == 1:
            continue
        pred = model(tcp, r["ranks"], r["bytes"])
        ax.loglog(r["bytes"], pred, "-", color=color, label=label + " model")
        if shm:
            ax.loglog(r["bytes"], model(shm, r["ranks"], r["bytes"]), ":", color=color)
        for b, s, p in zip(r["bytes"], r["seconds"], pred):
            print("%5d %5d %9d %11.3e %11.3e %+8.0f%% %11.3e"
                  % (r["nodes"], r["ranks"], b, s, p, 100 * (p - s) / s,
                     model(shm, r["ranks"], b) if shm else float("nan")))
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel("seconds per MPI_Allreduce")
    ax.set_title("Allreduce: measured (dots), model fitted on %d nodes (lines)%s"
                 % (tcp["nodes"], ", on shared memory (dotted)" if shm else ""), fontsize=8)
    return tcp


def compare_rhs(ax, rows, tcp):
    """The MPI time per right-hand side, measured against the model's
    Allreduce of the n + 1 values of h (1-D layout)."""
    sel = [r for r in rows if num(r, "nodes") > 1 and num(r, "mpi_seconds_per_rhs") > 0 and num(r, "samples") > 0]
    if not sel:
        ax.set_visible(False)
        return
    print("%6s %5s %5s %9s %11s %11s %9s" % ("mode", "ranks", "nodes", "bytes", "measured_s", "model_s", "error"))
    for mode, marker in (("strong", "o"), ("weak", "s")):
        part = [r for r in sel if r["mode"] == mode]
        if not part:
            continue
        P = np.array([int(r["ranks"]) for r in part])
        meas = np.array([num(r, "mpi_seconds_per_rhs") for r in part])
        nbytes = np.array([8 * (num(r, "samples") + 1) for r in part])
        pred = model(tcp, P, nbytes)
        ax.loglog(P, meas, marker, label=mode + " measured")
        ax.loglog(P, pred, marker + "--", mfc="none", label=mode + " model")
        for r, p, m, b in zip(part, pred, meas, nbytes):
            print("%6s %5s %5s %9d %11.3e %11.3e %+8.0f%%" % (mode, r["ranks"], r["nodes"], b, m, p, 100 * (p - m) / m))
    ranks = sorted({int(r["ranks"]) for r in sel})
    ax.set_xticks(ranks)
    ax.set_xticklabels([str(p) for p in ranks])
    ax.minorticks_off()
    ax.set_xlabel("MPI ranks")
    ax.set_ylabel("seconds in MPI per right-hand side")
    ax.set_title("MPI per right-hand side: measured (waiting included) and model", fontsize=8)


def main():
    ap = pp.parser(__doc__.split("\n")[0], many=False)
    ap.add_argument("--allreduce", metavar="DIR", help="directory of allreduce-nK.json (jobs/scaling.sbatch)")
    args = ap.parse_args()
    rows = read_table(args.inputs[0])
    runs = read_allreduce(args.allreduce) if args.allreduce else None
    has_mpi = any(r.get("allreduce_fraction") for r in rows)
    ncols = 3 if has_mpi else 2
    nrows = 2 if runs else 1
    fig, axes = pp.plt.subplots(nrows, ncols, figsize=(5 * ncols, 4.5 * nrows), squeeze=False)
    draw_scaling(axes[0], rows, has_mpi)
    if runs:
        tcp = compare_allreduce(axes[1][0], runs)
        compare_rhs(axes[1][1], rows, tcp)
        for ax in axes[1][2:]:
            ax.set_visible(False)
    for ax in axes.flat:
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_visible() and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("E7: scaling of the right-hand side" + (" and communication across nodes" if runs else ""))
    caption = "table: " + args.inputs[0] + ("; Allreduce: " + args.allreduce if runs else "")
    pp.save(fig, pp.output_path(args, "e7"), caption)


if __name__ == "__main__":
    main()
