"""E9: the population loss, E4's transition in m without the sampling floor
(doc/math.md section 3b).

Population runs (-population true) give, per activation, the final loss (the
excess population risk: F* = 0 for m >= m0) against m, one point per seed and
the median over seeds, a vertical line at m = m0 (left). Finite-sample runs of
the same setting (-population false, -bias false) give their loss curves
against t next to the population run with the same activation, m and seed,
converging to it as n grows (right); their final losses also appear on the
left at their m. Printed: the medians, and for each finite run its final
loss, the population's, and the distance between the two curves, the max
over t of |ln(F_n(t) / F_pop(t))| (the population's interpolated in ln F).

    analysis/pgf-python analysis/fig_e9.py results/e9/
"""

from collections import defaultdict

import numpy as np

import pgfplot as pp
import pgfresults as pr


def curve(r):
    return (np.concatenate([[0.0], r["/history/t"]]),
            np.concatenate([[r["/snapshots/loss"][0]], r["/history/loss"]]))


def main():
    args = pp.parser(__doc__.split("\n")[0]).parse_args()
    runs = [r for r in pr.load(args.inputs) if r.problem == "twolayer"]
    pop = [r for r in runs if r.opt("population", "false") == "true"]
    finite = [r for r in runs if r.opt("population", "false") != "true"]
    if not pop:
        pr.die("no population runs (-population true) among " + " ".join(args.inputs))
    fig, (a1, a2) = pp.plt.subplots(1, 2, figsize=(13, 5))
    by_act = defaultdict(list)
    for r in pop:
        by_act[r.opt("activation", "relu")].append(r)
    print("population: activation, m, median final loss over seeds")
    for k, act in enumerate(sorted(by_act)):
        group = by_act[act]
        ms = np.array([r.m for r in group])
        loss = np.array([r.final_loss() for r in group])
        colour = "C%d" % k
        a1.loglog(ms, np.maximum(loss, 1e-300), "o", alpha=0.5, color=colour)
        mu = np.unique(ms)
        med = [np.median(loss[ms == v]) for v in mu]
        a1.loglog(mu, med, "-", color=colour, label="%s, population (%d runs; line: median over seeds)" % (act, len(group)))
        for v, f in zip(mu, med):
            print("  %-5s m %4d  %.3e" % (act, v, f))
    m0 = int(pop[0].opt("teacher_neurons", "0"))
    if m0 > 0:
        a1.axvline(m0, ls="--", color="tab:red", label="m = m0 = %d" % m0)
    ns = sorted({int(r.opt("samples", "1000")) for r in finite})
    shades = dict(zip(ns, pp.plt.cm.plasma(np.linspace(0.15, 0.8, max(len(ns), 1)))))
    shown = set()
    for r in sorted(finite, key=lambda r: int(r.opt("samples", "1000"))):
        n, act = int(r.opt("samples", "1000")), r.opt("activation", "relu")
        a1.loglog([r.m], [r.final_loss()], "s", color=shades[n], label="%s, n = %d (training loss)" % (act, n))
        ref = [p for p in by_act.get(act, []) if p.m == r.m and p.attrs.get("seed") == r.attrs.get("seed")]
        t, F = curve(r)
        a2.loglog(t[1:], F[1:], color=shades[n], label="n = %d" % n)
        if ref and id(ref[0]) not in shown:
            shown.add(id(ref[0]))
            t, F = curve(ref[0])
            a2.loglog(t[1:], F[1:], color="k", lw=2, label="population (%s, m = %d)" % (act, r.m))
        gap = ""
        if ref:
            tp, Fp = curve(ref[0])
            t, F = curve(r)
            keep = t <= tp[-1]
            gap = ", distance of the curves %.3e" % np.max(np.abs(np.log(F[keep]) - np.interp(t[keep], tp, np.log(Fp))))
        print("finite n = %-7d %s m %d: final training loss %.3e, population run's %s%s" % (
            n, act, r.m, r.final_loss(), "%.3e" % ref[0].final_loss() if ref else "(none)", gap))
    a1.set_xlabel("particles m")
    a1.set_ylabel("final loss")
    a1.set_title("final loss against m, d = %s" % pop[0].opt("dim", "?"))
    a1.grid(True, which="both", alpha=0.3)
    a1.legend(fontsize=7)
    a2.set_xlabel("time t")
    a2.set_ylabel("loss")
    a2.set_title("finite samples against the population loss")
    a2.grid(True, which="both", alpha=0.3)
    if finite:
        a2.legend(fontsize=8)
    fig.suptitle("E9: the population loss")
    caption = pop[0].caption(150, ("output", "particles", "seed"))
    if finite:
        caption += "\n" + finite[0].caption(150, ("output", "samples", "seed"))
    pp.save(fig, pp.output_path(args, "e9"), caption)


if __name__ == "__main__":
    main()
