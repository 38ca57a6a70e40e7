"""Training and test classification error on a real data set against time.

Reads a results file of a run with -data FILE and that FILE (made by
make_dataset.py, with /X_test and /y_test). The error is the fraction of
sign(h(x)) != y, with h(x) = (1/m) sum_i w_i s(theta_i . (x, 1)) evaluated from
/snapshots/w and /snapshots/theta; never re-runs the flow.

    analysis/pgf-python analysis/fig_dataset.py results/bc-relu.h5 --data results/breast_cancer.h5
"""

import h5py
import numpy as np

import pgfplot as pp
import pgfresults as pr


def errors(r, X, y):
    """Classification error of every snapshot on (X, y)."""
    act = r.opt("activation", "relu")
    W, T = r["/snapshots/w"], r["/snapshots/theta"]
    return np.array([np.mean(np.sign(pr.predict(W[k], T[k], X, act)) != y) for k in range(len(W))])


def main():
    ap = pp.parser(__doc__.split("\n")[0], many=False)
    ap.add_argument("--data", required=True, help="the data set file, with /X_test and /y_test")
    args = ap.parse_args()
    r = pr.Results(args.inputs[0])
    with h5py.File(args.data, "r") as f:
        Xte, yte = f["X_test"][()], f["y_test"][()]
        name = f.attrs.get("dataset", args.data)
    t = r["/snapshots/t"]
    train = errors(r, r["/data/X"], r["/data/y"])
    test = errors(r, Xte, yte)

    fig, (a1, a2) = pp.plt.subplots(1, 2, figsize=(12, 5))
    tp = np.where(t > 0, t, np.nan)
    a1.semilogx(tp, train, "o-", ms=3, label="training (n = %d)" % len(r["/data/y"]))
    a1.semilogx(tp, test, "s-", ms=3, label="test (n = %d)" % len(yte))
    a1.set_xlabel("time t")
    a1.set_ylabel("classification error (fraction of sign(h) != y)")
    a1.set_title("final error: training %.3f, test %.3f" % (train[-1], test[-1]))
    a1.grid(True, which="both", alpha=0.3)
    a1.legend()
    pp.loglog(a2, r["/history/t"], r["/history/loss"], label="training objective F")
    a2.set_ylabel("%s loss" % r.opt("loss", "square"))
    a2.set_title("training objective")
    a2.grid(True, which="both", alpha=0.3)
    a2.legend()
    fig.suptitle("%s: two-layer %s network, m = %d" % (name, r.opt("activation", "relu"), r.m))
    pp.save(fig, pp.output_path(args, "errors"), r.caption())
    print("final time %.4g: training error %.4f, test error %.4f, training loss %.4g"
          % (t[-1], train[-1], test[-1], r.final_loss()))


if __name__ == "__main__":
    main()
