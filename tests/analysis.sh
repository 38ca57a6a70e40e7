# Tests of analysis/ (sourced by tests/run): the python launcher, every figure
# script on small results files made here, and the data set conversion.
# Runs take 1 or 2 ranks and a few seconds each.
# shellcheck shell=bash disable=SC2154  # tmp, t, np, group, uses come from tests/lib.sh

PY=analysis/pgf-python
# png FILE: FILE is a PNG of more than 10 kB.
png() { [ "$(head -c 4 "$1" | tail -c 3)" = PNG ] && [ "$(stat -c %s "$1")" -gt 10000 ]; }
export -f png

group launcher
  t finds-modules "pgf-python finds a python3 with numpy, h5py and matplotlib" \
    $PY -c 'import numpy, h5py, matplotlib'

  # A PATH whose only python3 lacks the modules, and /usr/bin/python3 skipped.
  nopy() {
    mkdir -p "$tmp/nopy"
    printf '#!/bin/sh\nexit 1\n' >"$tmp/nopy/python3"
    chmod +x "$tmp/nopy/python3"
  }
  uses nopy
  t without-modules "pgf-python without the modules names the Debian packages and exits 1" bash -c "
    env -u PGF_PYTHON PATH=$tmp/nopy PGF_PYTHON_NO_SYSTEM=1 $BASH analysis/pgf-python -c '' 2>$tmp/nopy.err; rc=\$?
    cat $tmp/nopy.err; [ \$rc = 1 ] && grep -q 'apt-get install python3-numpy python3-h5py python3-matplotlib' $tmp/nopy.err"

  # The skips of a machine without python3-sklearn, or without a python3
  # that imports numpy, h5py and matplotlib (where they cannot be installed):
  # the tests that need them are reported as skipped, with the reason.
  t no-sklearn-skips "without python3-sklearn, the data set tests are reported as skipped with the package, none failed" bash -c "
    PGF_SKLEARN_DATA=$tmp/no-sklearn bash tests/run analysis/dataset >$tmp/nosk.out 2>&1; rc=\$?; cat $tmp/nosk.out
    [ \$rc -eq 0 ] && grep -q '^0 passed, 0 failed, 3 skipped' $tmp/nosk.out &&
      [ \$(grep -c '^skipped analysis/dataset/[a-z-]*: .*(needs python3-sklearn: $tmp/no-sklearn/breast_cancer.csv not found)' $tmp/nosk.out) = 3 ]"
  t no-numpy-skips "without numpy, h5py and matplotlib, the tests that need them are reported as skipped with the packages" bash -c "
    env -u PGF_PYTHON PATH=$tmp/nopy:\$PATH PGF_PYTHON_NO_SYSTEM=1 bash tests/run analysis/dataset >$tmp/nopy.out 2>&1; rc=\$?; cat $tmp/nopy.out
    [ \$rc -eq 0 ] && grep -q '^0 passed, 0 failed, 3 skipped' $tmp/nopy.out &&
      [ \$(grep -c '^skipped analysis/dataset/[a-z-]*: .*(needs a python3 with numpy, h5py and matplotlib: apt-get install python3-numpy python3-h5py python3-matplotlib)' $tmp/nopy.out) = 3 ]"
  uses
  t make-figures-parse "make-figures and the Makefile target parse" bash -c "
    bash -n analysis/make-figures && make -n figures | grep -q analysis/make-figures"

group figures
  a="$tmp/an"
  e3="-problem twolayer -dim 2 -samples 200 -teacher_neurons 3 -particles 20 -ts_max_time 50 -snapshots 8"
  e3_runs() {
    mkdir -p "$a"
    for act in relu sigmoid; do
      np 2 $PGFLOW $e3 -activation $act -output "$a/e3-$act.h5" >"$a/e3-$act.log" 2>&1
    done
  }
  uses e3_runs
  t fig-e3 "fig_e3 draws relu and sigmoid runs" bash -c "
    $PY analysis/fig_e3.py $a/e3-relu.h5 $a/e3-sigmoid.h5 -o $a/fig/e3 && png $a/fig/e3.png"
  t pdf "--pdf writes a PDF" bash -c "
    $PY analysis/fig_e3.py $a/e3-relu.h5 --pdf -o $a/fig/e3 && head -c 4 $a/fig/e3.pdf | grep -q %PDF"
  t predictions "predictions from /final reproduce pgflow's final loss to 1e-10" \
    $PY -c "
import sys; sys.path.insert(0, 'analysis')
import numpy as np, pgfresults as pr
for act in ('relu', 'sigmoid'):
    r = pr.Results('$a/e3-%s.h5' % act)
    h = pr.predict(r['/final/w'], r['/final/theta'], r['/data/X'], act)
    F = np.mean((h - r['/data/y']) ** 2) / 2
    print(act, F, r.final_loss())
    assert abs(F - r.final_loss()) <= 1e-10 * max(1, r.final_loss())"

  # E4: relu and sigmoid, m in {2, 6}, two seeds, one rank each.
  e4_runs() {
    mkdir -p "$a/e4"
    for act in relu sigmoid; do
      for m in 2 6; do
        for s in 0 1; do
          np 1 $PGFLOW -problem twolayer -dim 4 -samples 100 -teacher_neurons 3 -activation $act \
            -particles $m -seed $s -ts_max_time 10 -snapshots 3 -output "$a/e4/$act-$m-$s.h5" >/dev/null 2>&1
        done
      done
    done
  }
  uses e4_runs
  t fig-e4 "fig_e4 draws final loss against m from a directory" bash -c "
    $PY analysis/fig_e4.py $a/e4 -o $a/fig/e4 && png $a/fig/e4.png"

  # E5: flow and random-features baseline (with refits), m in {3, 8}.
  e5_runs() {
    mkdir -p "$a/e5"
    for m in 3 8; do
      np 2 $PGFLOW -problem twolayer -dim 4 -samples 100 -teacher_neurons 3 -particles $m -ts_max_time 10 \
        -snapshots 4 -baseline rf -refit -output "$a/e5/m$m.h5" >/dev/null 2>&1
    done
  }
  uses e5_runs
  t fig-e5 "fig_e5 draws the flow against its baseline" bash -c "
    $PY analysis/fig_e5.py $a/e5 -o $a/fig/e5 && png $a/fig/e5.png"
  uses e4_runs
  t fig-e5-no-baseline "fig_e5 says when no file has a baseline" bash -c "
    ! $PY analysis/fig_e5.py $a/e4 -o $a/fig/e5x 2>$a/e5x.err && grep -q 'no results with /baseline' $a/e5x.err"

  # E6: two integrators on the same problem.
  e6_runs() {
    mkdir -p "$a/e6"
    np 1 $PGFLOW $e3 -activation relu -output "$a/e6/rk5dp.h5" >/dev/null 2>&1
    np 1 $PGFLOW $e3 -activation relu -ts_rk_type 3bs -output "$a/e6/rk3bs.h5" >/dev/null 2>&1
  }
  uses e6_runs
  t fig-e6 "fig_e6 compares integrators" bash -c "
    $PY analysis/fig_e6.py $a/e6 --target 1e-3 -o $a/fig/e6 && png $a/fig/e6.png"

  # E8: the flow and SGD at two batch sizes and two steps; the distance to
  # the flow shrinks with dt for gradient descent (B = n).
  e8="-problem twolayer -dim 2 -samples 100 -teacher_neurons 3 -particles 20 -ts_max_time 20 -snapshots 4"
  e8_runs() {
    mkdir -p "$a/e8"
    np 1 $PGFLOW $e8 -output "$a/e8/flow.h5" >/dev/null 2>&1
    for B in 10 100; do
      for dt in 0.4 0.1; do
        np 1 $PGFLOW $e8 -ts_type euler -ts_dt $dt -batch_size $B -output "$a/e8/b$B-$dt.h5" >/dev/null 2>&1
      done
    done
  }
  uses e8_runs
  t fig-e8 "fig_e8 draws SGD against the flow, the GD distance shrinking with dt" bash -c "
    $PY analysis/fig_e8.py $a/e8 -o $a/fig/e8 >$a/e8.txt && png $a/fig/e8.png && cat $a/e8.txt &&
      awk '\$4 == 100 && \$5 == 0.4 { a = \$6 } \$4 == 100 && \$5 == 0.1 { b = \$6 } END { exit !(b < a / 2) }' $a/e8.txt"
  t fig-e8-no-sgd "fig_e8 says when there is no SGD run" bash -c "
    ! $PY analysis/fig_e8.py $a/e8/flow.h5 -o $a/fig/e8x 2>$a/e8x.err && grep -q 'need a flow run and SGD runs' $a/e8x.err"

  # E9: population runs at two m and two activations, a finite-sample run.
  e9_runs() {
    mkdir -p "$a/e9"
    for act in relu erf; do
      for m in 2 6; do
        np 1 $PGFLOW -problem twolayer -population true -activation $act -dim 4 -teacher_neurons 3 -particles $m \
          -ts_max_time 10 -snapshots 3 -output "$a/e9/$act-$m.h5" >/dev/null 2>&1
      done
    done
    np 1 $PGFLOW -problem twolayer -bias false -dim 4 -samples 300 -teacher_neurons 3 -particles 6 \
      -ts_max_time 10 -snapshots 3 -output "$a/e9/finite.h5" >/dev/null 2>&1
  }
  uses e9_runs
  t fig-e9 "fig_e9 draws the population loss against m and a finite-sample run" bash -c "
    $PY analysis/fig_e9.py $a/e9 -o $a/fig/e9 >$a/e9.txt && png $a/fig/e9.png && cat $a/e9.txt &&
      grep -q 'finite n = 300 .*relu m 6: .*population run.s [0-9]' $a/e9.txt"
  t fig-e9-no-population "fig_e9 says when there is no population run" bash -c "
    ! $PY analysis/fig_e9.py $a/e9/finite.h5 -o $a/fig/e9x 2>$a/e9x.err && grep -q 'no population runs' $a/e9x.err"

  # E11: birth-death at two rates on a short E4-like run and on E1 at
  # small m, Langevin at two temperatures, in the layout of make figures.
  e11_runs() {
    mkdir -p "$a/e11"
    for A in 0 10; do
      np 1 $PGFLOW -options_file jobs/e4-relu-small.opts -dim 4 -samples 200 -particles 10 -ts_max_time 20 -birth_death_rate $A \
        -output "$a/e11/relu-m10-s0-A$A.h5" >/dev/null 2>&1
      np 1 $PGFLOW -options_file jobs/e1-small.opts -options_file jobs/e11-deconv.opts -particles 8 \
        -ts_max_time 5 -birth_death_rate $A -output "$a/e11/deconv-m8-s0-A$A.h5" >/dev/null 2>&1
    done
    for T in 0 1e-4; do
      np 1 $PGFLOW -options_file jobs/e3-relu-small.opts -options_file jobs/e11-langevin.opts -particles 50 -ts_max_time 5 -temperature $T \
        -output "$a/e11/langevin-T$T.h5" >/dev/null 2>&1
    done
  }
  uses e11_runs
  t fig-e11 "fig_e11 draws birth-death on E4 and E1 and Langevin from a directory" bash -c "
    $PY analysis/fig_e11.py $a/e11 -o $a/fig/e11 && png $a/fig/e11.png"

  e7_table() {
    mkdir -p "$a"
    printf 'mode,ranks,particles,seconds_per_rhs,allreduce_fraction\nstrong,1,100,0.02,0\nstrong,2,100,0.011,0.03\nweak,1,100,0.02,0\nweak,2,200,0.021,0.02\n' >"$a/e7.csv"
  }
  uses e7_table
  t fig-e7 "fig_e7 draws a scaling table" bash -c "
    $PY analysis/fig_e7.py $a/e7.csv -o $a/fig/e7 && png $a/fig/e7.png"

  # E1, E2: synthetic files of the layout of doc/results-file.md (with
  # /snapshots/gap), and real deconvolution runs when bin/pgflow makes them.
  deconv_files() {
    mkdir -p "$a"
    for q in 1 2; do
      for m in 8 16; do
        $PY - "$a/s$q-$m.h5" $q $m <<'PYEOF'
import sys
import h5py
import numpy as np

path, q, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
K, m0, fc = 12, 4, 3
x = rng.random((m0, q))
a = rng.uniform(0.5, 1.5, m0) * np.where(np.arange(m0) % 2, -1, 1)
t = np.concatenate([[0], np.logspace(-2, 2, K - 1)])
s = (t / (1 + t))[:, None, None]
th0 = rng.random((m, q))
theta = (th0 + s * (x[np.arange(m) % m0] - th0)) % 1.0
w = s[:, :, 0] * m * a[np.arange(m) % m0] / (m // m0)
freqs = np.array(np.meshgrid(*[np.arange(-fc, fc + 1)] * q)).reshape(q, -1).T.astype(float)
with h5py.File(path, "w") as f:
    opts = "-problem deconv -torus_dim %d -cutoff %d -spikes %d -lambda 0.05 -particles %d" % (q, fc, m0, m)
    for k, v in dict(problem="deconv", particles=m, ranks=1, seed=0, version="synthetic",
                     options=opts, completed=1, stop_reason="max_time").items():
        f.attrs[k] = v
    f["/data/frequencies"] = freqs
    f["/data/y_re"] = np.zeros(len(freqs))
    f["/data/y_im"] = np.zeros(len(freqs))
    f["/truth/a"], f["/truth/x"] = a, x
    f["/snapshots/t"], f["/snapshots/w"], f["/snapshots/theta"] = t, w, theta
    f["/snapshots/loss"] = np.exp(-t) + 1e-9
    f["/snapshots/gap"] = np.exp(-t) + 1e-12
    f["/history/t"] = t[1:]
    for n in ("dt", "dissipation", "rhs_evals"):
        f["/history/" + n] = np.ones(K - 1)
    f["/history/loss"] = np.exp(-t[1:]) + 1e-9
    f["/final/w"], f["/final/theta"] = w[-1], theta[-1]
    f["/final/loss"], f["/final/t"] = [1e-9], [t[-1]]
PYEOF
        np 1 $PGFLOW -problem deconv -torus_dim $q -particles $m -ts_max_time 1 -snapshots 6 \
          -output "$a/d$q-$m.h5" >"$a/d$q-$m.log" 2>&1 || rm -f "$a/d$q-$m.h5"
      done
    done
  }
  # deconv_s, deconv_d: the files of one kind, or a skip when there are none.
  deconv_s() { need deconv_files; [ -f "$a/s1-8.h5" ] || skip_reason="no synthetic files"; }
  deconv_d() { need deconv_files; [ -f "$a/d1-8.h5" ] || skip_reason="bin/pgflow -problem deconv failed"; }
  for kind in s d; do
    name=synthetic
    [ $kind = d ] && name="pgflow -problem deconv"
    uses "deconv_$kind"
    t "fig-e1-$kind" "fig_e1 draws 1-torus trajectories ($name files)" bash -c "
      $PY analysis/fig_e1.py $a/${kind}1-8.h5 $a/${kind}1-16.h5 -o $a/fig/e1$kind && png $a/fig/e1$kind.png"
    t "fig-e2-$kind" "fig_e2 draws 2-torus particles and gap ($name files)" bash -c "
      $PY analysis/fig_e2.py $a/${kind}2-8.h5 $a/${kind}2-16.h5 -o $a/fig/e2$kind && png $a/fig/e2$kind.png"
  done

# The real data sets, from Debian's python3-sklearn (PGF_SKLEARN_DATA: where
# its csv files are): conversion, then a small logistic run and its errors.
group dataset
  sk=${PGF_SKLEARN_DATA:-/usr/lib/python3/dist-packages/sklearn/datasets/data}
  ds="$tmp/ds"
  sklearn_data() {
    mkdir -p "$ds"
    if [ ! -f "$sk/breast_cancer.csv" ] || [ ! -f "$sk/digits.csv.gz" ]; then
      skip_reason="needs python3-sklearn: $sk/$([ -f "$sk/breast_cancer.csv" ] && echo digits.csv.gz || echo breast_cancer.csv) not found"
    fi
  }
  uses sklearn_data
  t breast-cancer "make_dataset converts breast_cancer (shapes, labels, standardization, split)" bash -c "
    $PY analysis/make_dataset.py --data-dir $sk breast_cancer $ds/bc.h5 --seed 3 &&
    $PY analysis/make_dataset.py --data-dir $sk breast_cancer $ds/bc-again.h5 --seed 3 &&
    $PY analysis/make_dataset.py --data-dir $sk breast_cancer $ds/bc-other.h5 --seed 4 &&
    $PY - $ds <<'PYEOF'
import sys
import h5py
import numpy as np

ds = sys.argv[1]
f, g, o = (h5py.File(ds + n, 'r') for n in ('/bc.h5', '/bc-again.h5', '/bc-other.h5'))
X, y, Xt, yt = (f[n][()] for n in ('X', 'y', 'X_test', 'y_test'))
assert X.shape == (398, 30) and y.shape == (398,), (X.shape, y.shape)
assert Xt.shape == (171, 30) and yt.shape == (171,), (Xt.shape, yt.shape)
assert set(np.unique(y)) == {-1.0, 1.0} and set(np.unique(yt)) == {-1.0, 1.0}
assert (y > 0).sum() + (yt > 0).sum() == 212, 'malignant count'
assert np.abs(X.mean(axis=0)).max() < 1e-12 and np.abs(X.std(axis=0) - 1).max() < 1e-12
assert not set(f['train_rows'][()]) & set(f['test_rows'][()])
assert sorted(np.r_[f['train_rows'][()], f['test_rows'][()]]) == list(range(569))
train = {tuple(np.round(r, 9)) for r in X}
assert not any(tuple(np.round(r, 9)) in train for r in Xt), 'a test row is in the training part'
assert np.array_equal(X, g['X'][()]) and not np.array_equal(X, o['X'][()]), 'split by seed'
print('ok', X.shape, Xt.shape)
PYEOF"
  t digits "make_dataset converts digits (64 pixels, constant columns kept finite)" bash -c "
    $PY analysis/make_dataset.py --data-dir $sk digits $ds/dg.h5 --positive 0,1 &&
    $PY -c \"
import h5py, numpy as np
f = h5py.File('$ds/dg.h5', 'r')
assert f['X'].shape[1] == 64 and f['X'].shape[0] + f['X_test'].shape[0] == 1797
assert np.isfinite(f['X'][()]).all() and set(np.unique(f['y'][()])) == {-1.0, 1.0}
\""
  # The conversion above, made here when that case does not run.
  bc_run() {
    [ -f "$ds/bc.h5" ] || $PY analysis/make_dataset.py --data-dir $sk breast_cancer $ds/bc.h5 --seed 3 >/dev/null 2>&1
    np 2 $PGFLOW -data "$ds/bc.h5" -activation relu -loss logistic -particles 20 -init_scale 0.1 \
      -ts_max_time 5 -snapshots 6 -output "$ds/bc-run.h5" >"$ds/bc-run.log" 2>&1
  }
  uses sklearn_data bc_run
  t fig-dataset "fig_dataset reports training and test error" bash -c "
    $PY analysis/fig_dataset.py $ds/bc-run.h5 --data $ds/bc.h5 -o $ds/fig/bc && png $ds/fig/bc.png &&
    $PY -c \"
import sys; sys.path.insert(0, 'analysis')
import numpy as np, pgfresults as pr
r = pr.Results('$ds/bc-run.h5')
h = pr.predict(r['/final/w'], r['/final/theta'], r['/data/X'], 'relu')
F = np.mean(np.logaddexp(0, -r['/data/y'] * h))
assert abs(F - r.final_loss()) < 1e-10, (F, r.final_loss())
\""
