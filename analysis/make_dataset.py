"""Convert a data set shipped with Debian's python3-sklearn to pgflow's -data format.

The output file holds /X (n_train x d) and /y (n_train, labels -1/+1), which
pgflow reads with -data, and the held-out part as /X_test and /y_test (pgflow
ignores them). Inputs are standardized with the mean and standard deviation of
the training part (stored as /mean and /std). The split is a permutation drawn
from --seed, so the same seed gives the same files.

    analysis/pgf-python analysis/make_dataset.py breast_cancer results/breast_cancer.h5
    analysis/pgf-python analysis/make_dataset.py digits results/digits.h5 --positive 0,2,4,6,8

breast_cancer: 569 samples, 30 features, +1 = malignant (target 0 in the csv).
digits: 1797 8x8 images, 64 features, +1 = a digit listed in --positive.
"""

import argparse
import csv
import gzip
import os
import sys

import h5py
import numpy as np

SKLEARN_DATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data"


def read_breast_cancer(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    n, d = int(rows[0][0]), int(rows[0][1])
    A = np.array(rows[1:n + 1], dtype=float)
    # Target 0 is malignant, 1 benign (the header names them in that order).
    return A[:, :d], np.where(A[:, d] == 0, 1.0, -1.0)


def read_digits(path, positive):
    with gzip.open(path, "rt") as f:
        A = np.array(list(csv.reader(f)), dtype=float)
    return A[:, :-1], np.where(np.isin(A[:, -1], positive), 1.0, -1.0)


def split_standardize(X, y, test_fraction, seed):
    """Training and test parts of a seeded permutation, standardized with training statistics."""
    perm = np.random.default_rng(seed).permutation(len(y))
    ntest = int(round(test_fraction * len(y)))
    test, train = perm[:ntest], perm[ntest:]
    mean = X[train].mean(axis=0)
    std = X[train].std(axis=0)
    std[std == 0] = 1  # constant columns (blank pixels) stay 0
    Z = (X - mean) / std
    return Z[train], y[train], Z[test], y[test], mean, std, train, test


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", choices=["breast_cancer", "digits"])
    ap.add_argument("output", help="HDF5 file to write")
    ap.add_argument("--test-fraction", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--positive", default="0,2,4,6,8", help="digits: the classes labelled +1")
    ap.add_argument("--data-dir", default=SKLEARN_DATA, help="where sklearn's csv files are")
    args = ap.parse_args()

    if args.dataset == "breast_cancer":
        src = os.path.join(args.data_dir, "breast_cancer.csv")
    else:
        src = os.path.join(args.data_dir, "digits.csv.gz")
    if not os.path.exists(src):
        sys.exit("make_dataset.py: %s not found; install it with: apt-get install python3-sklearn" % src)
    if args.dataset == "breast_cancer":
        X, y = read_breast_cancer(src)
    else:
        X, y = read_digits(src, [int(c) for c in args.positive.split(",")])
    if not 0 < args.test_fraction < 1:
        sys.exit("make_dataset.py: --test-fraction must be in (0, 1), got %g" % args.test_fraction)

    Xtr, ytr, Xte, yte, mean, std, train, test = split_standardize(X, y, args.test_fraction, args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with h5py.File(args.output, "w") as f:
        f["X"], f["y"] = Xtr, ytr
        f["X_test"], f["y_test"] = Xte, yte
        f["mean"], f["std"] = mean, std
        f["train_rows"], f["test_rows"] = train, test
        f.attrs["source"] = src
        f.attrs["dataset"] = args.dataset
        f.attrs["seed"] = args.seed
        f.attrs["test_fraction"] = args.test_fraction
    print("wrote %s: %s, train %d x %d (%d positive), test %d" % (
        args.output, args.dataset, Xtr.shape[0], Xtr.shape[1], int((ytr > 0).sum()), Xte.shape[0]))


if __name__ == "__main__":
    main()
