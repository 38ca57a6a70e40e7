"""E8: mini-batch SGD against the flow (doc/math.md section 3b).

Files of one setting (same -dim) are one flow run (no -batch_size, or 0) and
SGD runs (-ts_type euler, -batch_size B, -ts_dt dt); several settings give a
row of panels each. Left: the loss (over all n samples) against t for the
flow and every (B, dt). Right: the distance of SGD's loss curve to the flow's
at equal t, max over SGD's steps of |F_SGD(t) - F_flow(t)| / F_flow(0) (the
flow's loss interpolated between its steps), against dt, one line per B.
Printed: that distance, the mean over the steps of |ln(F_SGD / F_flow)|
(which weighs the late, small losses too) and the final losses.

    analysis/pgf-python analysis/fig_e8.py results/e8/
"""

from collections import defaultdict

import numpy as np

import pgfplot as pp
import pgfresults as pr


def curve(r):
    """(t, F) from t = 0 (the first snapshot) through every accepted step."""
    return (np.concatenate([[0.0], r["/history/t"]]),
            np.concatenate([[r["/snapshots/loss"][0]], r["/history/loss"]]))


def batch(r):
    return int(r.opt("batch_size", "0") or 0)


def distance(flow, sgd):
    """max over SGD's steps (up to the flow's last time) of |F_SGD - F_flow| / F_flow(0),
    and the mean of |ln(F_SGD / F_flow)| over them."""
    tf, Ff = curve(flow)
    ts, Fs = curve(sgd)
    keep = (ts <= tf[-1]) & (Fs > 0)
    ts, Fs = ts[keep], Fs[keep]
    return (float(np.max(np.abs(Fs - np.interp(ts, tf, Ff)))) / Ff[0],
            float(np.mean(np.abs(np.log(Fs) - np.interp(ts, tf, np.log(Ff))))))


def main():
    args = pp.parser(__doc__.split("\n")[0]).parse_args()
    runs = [r for r in pr.load(args.inputs) if r.problem == "twolayer" and r.opt("population", "false") != "true"]
    settings = defaultdict(list)
    for r in runs:
        settings[r.opt("dim", "?")].append(r)
    settings = {d: g for d, g in settings.items() if any(batch(r) == 0 for r in g) and any(batch(r) > 0 for r in g)}
    if not settings:
        pr.die("need a flow run and SGD runs (-batch_size) of one setting among " + " ".join(args.inputs))
    fig, axes = pp.plt.subplots(len(settings), 2, figsize=(13, 4.5 * len(settings)), squeeze=False)
    captions = []
    print("setting      B       dt    distance  mean |ln|  final loss")
    for (a1, a2), d in zip(axes, sorted(settings, key=float)):
        group = settings[d]
        flow = next(r for r in group if batch(r) == 0)
        sgd = sorted((r for r in group if batch(r) > 0), key=lambda r: (batch(r), -float(r.opt("ts_dt", "0"))))
        n = int(flow.opt("samples", "0"))
        bs = sorted({batch(r) for r in sgd})
        colours = dict(zip(bs, pp.plt.cm.viridis(np.linspace(0, 0.85, len(bs)))))
        dts = sorted({float(r.opt("ts_dt")) for r in sgd}, reverse=True)
        styles = dict(zip(dts, [":", "--", "-.", (0, (1, 3)), (0, (5, 5))]))
        t, F = curve(flow)
        a1.semilogy(t, F, "-", color="k", lw=2.5, label="flow (RK 5(4), all samples)")
        dist = defaultdict(list)
        for r in sgd:
            B, dt = batch(r), float(r.opt("ts_dt"))
            t, F = curve(r)
            name = "n (GD)" if B == n else str(B)
            a1.semilogy(t, F, ls=styles.get(dt, "-"), color=colours[B], lw=1,
                        label="SGD B = %s, dt = %g" % (name, dt))
            sup, mean = distance(flow, r)
            dist[B].append((dt, sup))
            print("d = %-6s %6d %8g %11.3e %10.3e %11.3e" % (d, B, dt, sup, mean, r.final_loss()))
        print("d = %-6s   flow %34.3e" % (d, flow.final_loss()))
        a1.set_xlabel("time t (learning rate m dt)")
        a1.set_ylabel("loss over all samples")
        a1.set_title("d = %s, n = %d, m = %d" % (d, n, flow.m))
        a1.grid(True, which="both", alpha=0.3)
        a1.legend(fontsize=7, ncol=2)
        for B in bs:
            x, y = np.array(sorted(dist[B])).T
            a2.loglog(x, y, "o-", color=colours[B], label="B = %s" % ("n (GD)" if B == n else B))
        x = np.array(dts)
        ref = max(v for pts in dist.values() for _, v in pts)
        a2.loglog(x, ref * x / x.max(), ":", color="gray", label="slope 1 (dt)")
        a2.loglog(x, ref * np.sqrt(x / x.max()), "--", color="gray", label="slope 1/2 (sqrt dt)")
        a2.set_xlabel("step dt")
        a2.set_ylabel("max over t of |F_SGD - F_flow| / F_flow(0)")
        a2.set_title("distance to the flow at equal t")
        a2.grid(True, which="both", alpha=0.3)
        a2.legend(fontsize=8)
        captions.append(flow.caption(150, ("output", "ts_type", "batch_size", "ts_dt")))
    fig.suptitle("E8: mini-batch SGD against the flow")
    pp.save(fig, pp.output_path(args, "e8"), "\n".join(captions))


if __name__ == "__main__":
    main()
