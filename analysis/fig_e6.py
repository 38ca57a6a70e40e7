"""E6: integrator comparison (doc/experiments.md), from results files.

Each file is one run of the same problem with a different integrator (the
-ts_* options in its 'options' attribute name it). Left: the objective (or,
for deconvolution, the duality gap at the snapshots) against the cumulative
right-hand-side evaluations, log-log. Right: evaluations needed to reach the
target (gap 1e-10 for deconv, loss 1e-6 for two-layer; --target changes it).
A table is printed with the evaluations to the target and the energy-balance
mismatch |F(t0) - F(t1) - integral of D| / (F(t0) - F(t1)) over the history
rows (trapezoid rule; pgflow's own log reports the exact in-run value).
Wall time is not in the files: take it from pgflow's log or -log_view.

    analysis/pgf-python analysis/fig_e6.py results/e6/*.h5
"""

import numpy as np

import pgfplot as pp
import pgfresults as pr


def integrator(r):
    o = r.options
    name = o.get("ts_type", "rk")
    sub = o.get("ts_%s_type" % name, "3bs" if name == "rk" else "")
    label = name + (" " + sub if sub else "")
    if "ts_adapt_type" in o:
        label += " / " + o["ts_adapt_type"]
    if (name == "euler" or o.get("ts_adapt_type") == "none") and "ts_dt" in o:
        label += " dt=" + o["ts_dt"]
    return label


def progress(r):
    """(rhs evaluations, measure) where the measure is the gap (deconv) or the loss."""
    ht, evals = r["/history/t"], r["/history/rhs_evals"]
    if r.problem == "deconv" and r.get("/snapshots/gap") is not None:
        st = r["/snapshots/t"]
        return np.interp(st, ht, evals, left=0), r["/snapshots/gap"], "duality gap"
    return evals, r["/history/loss"], "loss"


def mismatch(r):
    t, F, D = r["/history/t"], r["/history/loss"], r["/history/dissipation"]
    drop = F[0] - F[-1]
    integral = np.sum(0.5 * (D[1:] + D[:-1]) * np.diff(t))
    return abs(drop - integral) / drop if drop > 0 else float("nan")


def main():
    ap = pp.parser(__doc__.split("\n")[0])
    ap.add_argument("--target", type=float, help="gap (deconv) or loss (two-layer) to reach")
    args = ap.parse_args()
    runs = pr.load(args.inputs)
    if not runs:
        pr.die("no results among " + " ".join(args.inputs))
    fig, (a1, a2) = pp.plt.subplots(1, 2, figsize=(13, 5))
    rows = []
    for r in runs:
        target = args.target or (1e-10 if r.problem == "deconv" else 1e-6)
        evals, y, what = progress(r)
        label = integrator(r)
        ok = (evals > 0) & (y > 0)
        a1.loglog(evals[ok], y[ok], label=label)
        hit = np.nonzero(y <= target)[0]
        reach = float(evals[hit[0]]) if hit.size else float("nan")
        rows.append((label, reach, float(evals[-1]), mismatch(r), target))
    a1.set_xlabel("right-hand-side evaluations")
    a1.set_ylabel(what)
    a1.grid(True, which="both", alpha=0.3)
    a1.legend(fontsize=8)
    a1.set_title("progress against cost")
    labels = [row[0] for row in rows]
    reach = [row[1] if np.isfinite(row[1]) else 0 for row in rows]
    bars = a2.barh(range(len(rows)), reach, color=["tab:blue" if np.isfinite(row[1]) else "lightgrey" for row in rows])
    for b, row in zip(bars, rows):
        a2.text(b.get_width(), b.get_y() + b.get_height() / 2,
                " %s, mismatch %.1e" % ("%d" % row[1] if np.isfinite(row[1]) else "not reached", row[3]),
                va="center", fontsize=8)
    a2.set_yticks(range(len(rows)))
    a2.set_yticklabels(labels, fontsize=8)
    a2.set_xscale("symlog", linthresh=1)
    a2.set_xlim(0, max(max(reach), 1) * 30)
    a2.set_xlabel("rhs evaluations to reach %s <= %.0e" % (what, rows[0][4]))
    a2.set_title("cost to target (grey: not reached)")
    fig.suptitle("E6: integrators on %s, m = %d" % (runs[0].problem, runs[0].m))
    pp.save(fig, pp.output_path(args, "e6"), runs[0].caption())
    print("%-30s %14s %12s %12s" % ("integrator", "evals->target", "evals total", "mismatch"))
    for label, reach, total, mm, _ in rows:
        print("%-30s %14s %12d %12.2e" % (label, "%d" % reach if np.isfinite(reach) else "-", total, mm))


if __name__ == "__main__":
    main()
