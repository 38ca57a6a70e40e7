# Tests of the ScaLAPACK baselines and spectra (src/convex.c, src/dense.c),
# sourced by tests/run. Grids: 1 rank 1 x 1, 2 ranks 1 x 2, 3 ranks 1 x 3,
# 4 ranks 2 x 2. Small blocks (-scalapack_block 4) so that every matrix
# wraps around the grid several times.
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, t, group, uses come from tests/lib.sh

csmall="-dim 4 -samples 150 -particles 30 -teacher_neurons 3 -ts_max_time 10 -snapshots 5 -scalapack_block 4"
check_convex() { analysis/pgf-python tests/check_convex.py "$@"; }
export -f check_convex below

group redistribution
  for n in 1 2 3 4; do
    t "ranks-$n" "round trip exact on $n ranks" bash -c "
      $MPIEXEC -n $n bin/tests/t_dense -rows 37 -cols 23 -block 4 &&
      $MPIEXEC -n $n bin/tests/t_dense -rows 300 -cols 7 -block 64 &&
      $MPIEXEC -n $n bin/tests/t_dense -rows 2 -cols 5 -block 3"
  done

group lapack
  # -baseline rf, -refit and -spectrum against numpy's serial LAPACK to 1e-10.
  for grid in "1 1 x 1" "2 1 x 2" "4 2 x 2"; do
    set -- $grid
    n=$1
    t "relu-$n-ranks" "relu baseline, refits and spectra on $n ranks (grid $2 x $4)" bash -c "
      $MPIEXEC -n $n $PGFLOW $csmall -baseline rf -refit -spectrum -output $tmp/cv$n.h5 >$tmp/cv.log || exit 1
      grep -q 'ScaLAPACK: $2 x $4 process grid' $tmp/cv.log && check_convex $tmp/cv$n.h5"
  done
  t sigmoid-l2 "sigmoid with -reg l2 on 3 ranks (grid 1 x 3)" bash -c "
    $MPIEXEC -n 3 $PGFLOW $csmall -activation sigmoid -reg l2 -lambda 1e-3 -baseline rf -refit -spectrum -output $tmp/cvs.h5 >$tmp/cv.log || exit 1
    grep -q 'ScaLAPACK: 1 x 3 process grid' $tmp/cv.log && check_convex $tmp/cvs.h5"
  t erf "erf on 2 ranks (grid 1 x 2)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $csmall -activation erf -baseline rf -refit -spectrum -output $tmp/cve.h5 >$tmp/cv.log || exit 1
    grep -q 'ScaLAPACK: 1 x 2 process grid' $tmp/cv.log && check_convex $tmp/cve.h5"
  t baseline-lambda "-baseline_lambda 0.01 is the ridge strength solved for (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $csmall -baseline rf -baseline_lambda 0.01 -output $tmp/cvl.h5 >/dev/null || exit 1
    [ \$($RESULTS get $tmp/cvl.h5 /baseline/lambda) = 0.01 ] && check_convex $tmp/cvl.h5"
  t spectrum-ntk-max "-spectrum_ntk_max below n skips the tangent kernel, says so" bash -c "
    $MPIEXEC -n 2 $PGFLOW $csmall -spectrum -spectrum_ntk_max 100 -output $tmp/cvn.h5 >$tmp/cvn.log || exit 1
    grep -q 'no tangent kernel for n = 150 > -spectrum_ntk_max 100' $tmp/cvn.log &&
    analysis/pgf-python -c \"import h5py; f = h5py.File('$tmp/cvn.h5', 'r'); assert 'final/spectrum_gn' in f and 'final/spectrum_ntk' not in f\" &&
    check_convex $tmp/cvn.h5"
  # The relu runs on 1 and 4 ranks: made by the cases above, or here when
  # a case below runs alone.
  relu_run() { [ -f "$tmp/cv$1.h5" ] || $MPIEXEC -n "$1" $PGFLOW $csmall -baseline rf -refit -spectrum -output "$tmp/cv$1.h5" >/dev/null 2>&1; }
  relu_1() { relu_run 1; }
  relu_4() { relu_run 4; }
  uses relu_1 relu_4
  t baseline-1-4 "baseline weights equal at 1 and 4 ranks to 1e-12" \
    $RESULTS compare $tmp/cv1.h5 $tmp/cv4.h5 /baseline/w 1e-12
  t spectra-1-4 "spectra equal at 1 and 4 ranks to 1e-12" bash -c "
    $RESULTS compare $tmp/cv1.h5 $tmp/cv4.h5 /final/spectrum_gn 1e-12 && $RESULTS compare $tmp/cv1.h5 $tmp/cv4.h5 /final/spectrum_ntk 1e-12"
  uses relu_1
  t ntk-gauss-newton "tangent kernel and Gauss-Newton share their nonzero eigenvalues" \
    analysis/pgf-python -c "
import h5py, numpy as np
f = h5py.File('$tmp/cv1.h5', 'r'); gn = f['final/spectrum_gn'][:]; ntk = f['final/spectrum_ntk'][:]
k = np.sum(ntk > 1e-12 * ntk[0]); err = np.max(np.abs(gn[:k] - ntk[:k])) / ntk[0]
print(k, 'nonzero, difference', err); assert err < 1e-12 and k < len(ntk)"

group singular
  # More features than samples and lambda = 0: Cholesky refuses, the
  # minimum-norm least-squares weights interpolate the labels.
  for n in 1 4; do
    t "ranks-$n" "least-squares fallback on $n ranks" bash -c "
      $MPIEXEC -n $n $PGFLOW $csmall -samples 40 -particles 60 -baseline rf -output $tmp/sg.h5 >$tmp/sg.log || exit 1
      cat $tmp/sg.log; grep -q 'Gram matrix is singular.*rank 40 of 60' $tmp/sg.log && check_convex $tmp/sg.h5 --tol 1e-8 &&
      below \$($RESULTS get $tmp/sg.h5 /baseline/loss) 1e-20"
  done

group small
  # Matrices smaller than one block and than the process grid, where some
  # processes hold no block at all (a 2 x 2 grid once crashed in pdpocon, a
  # 2 x 3 grid hung in pdsyevd): every path against numpy's LAPACK.
  for case in "4 37 900 -reg l2 -lambda 1e-3 -activation tanh" "4 3 40" "4 1 40" "6 37 200" "4 7 5 -ts_max_steps 0"; do
    set -- $case
    n=$1 m=$2 s=$3
    shift 3
    t "m-$m-n-$s-ranks-$n" "baseline, refits and spectra, m = $m, n = $s on $n ranks (blocks of 64)" bash -c "
      $MPIEXEC -n $n $PGFLOW -dim 3 -samples $s -particles $m -teacher_neurons 3 -ts_max_time 1 -snapshots 3 $* \
        -baseline rf -refit -spectrum -output $tmp/cs.h5 >$tmp/cs.log || exit 1
      check_convex $tmp/cs.h5 --tol 1e-8"
  done

group e5
  # E5 at small size (jobs/e5-small.opts, shortened to t = 300): at equal m
  # the flow's final loss is below a fifth of the frozen-position baseline's,
  # and the best weights on the final positions do better still.
  for m in 10 40; do
    t "m-$m" "m = $m, flow below the random-features baseline" bash -c "
      $MPIEXEC -n 2 $PGFLOW -options_file jobs/e5-small.opts -particles $m -seed 1 -ts_max_time 300 -output $tmp/e5.h5 >/dev/null || exit 1
      flow=\$($RESULTS get $tmp/e5.h5 /final/loss); rf=\$($RESULTS get $tmp/e5.h5 /baseline/loss)
      refit=\$($RESULTS get $tmp/e5.h5 /snapshots/refit_loss)
      echo flow \$flow baseline \$rf refit \$refit
      below \$flow \$(awk -v b=\$rf 'BEGIN { print b / 5 }') && below \$refit \$flow"
  done

group input
  bad_inputs
