# Tests of the core and of the two-layer problem (sourced by tests/run).

small="-problem twolayer -dim 3 -samples 200 -teacher_neurons 3 -particles 20"

if selected rng; then
  t "rng: Philox4x32-10 known answers and moments" bin/tests/t_rng
fi

if selected velocity; then
  # Every activation x loss x regularizer, rank counts 1, 2, 3 in turn.
  i=0
  for act in relu sigmoid tanh; do
    for loss in square logistic; do
      for reg in none l2 l1; do
        n=$((i % 3 + 1)); i=$((i + 1))
        lam=""; [ $reg != none ] && lam="-lambda 0.3"
        t "velocity: $act $loss $reg on $n ranks" \
          np $n bin/tests/t_velocity $small -activation $act -loss $loss -reg $reg $lam -tol 1e-6
      done
    done
  done
fi

if selected ranks; then
  # Initial particles and data bitwise equal for any rank count; final state
  # equal to 1e-10 (the sums in h differ in order only).
  for n in 1 2 3; do
    np $n $PGFLOW $small -activation sigmoid -ts_max_time 20 -output "$tmp/r$n.h5" >"$tmp/run$n.log" 2>&1
  done
  for n in 2 3; do
    t "ranks: initial particles and data identical on 1 and $n ranks" bash -c "
      for d in /snapshots/w /snapshots/theta /data/X /data/y /truth/theta; do
        $RESULTS compare0 $tmp/r1.h5 $tmp/r$n.h5 \$d 0 || exit 1
      done"
  done
  t "ranks: final state on 1 and 3 ranks equal to 1e-10" bash -c "
    $RESULTS compare $tmp/r1.h5 $tmp/r3.h5 /final/theta 1e-10 && $RESULTS compare $tmp/r1.h5 $tmp/r3.h5 /final/w 1e-10"
  t "results: file read back and checked (3 ranks)" $RESULTS check "$tmp/r3.h5"
  t "results: completed run has completed = 1 and stop_reason max_time" bash -c "
    [ \$($RESULTS attr $tmp/r3.h5 completed) = 1 ] && [ \$($RESULTS attr $tmp/r3.h5 stop_reason) = max_time ] && [ \$($RESULTS attr $tmp/r3.h5 ranks) = 3 ]"
fi

if selected energy; then
  # A smooth case integrated tightly: F(0) - F(t) must equal the integral of D.
  t "energy: balance mismatch below 1e-6 (sigmoid, rtol 1e-9)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $small -activation sigmoid -init_scale 1 -ts_max_time 50 -ts_rtol 1e-9 -ts_atol 1e-9 -output $tmp/e.h5 > $tmp/e.log 2>&1 || exit 1
    m=\$(sed -n 's/.*relative mismatch = \([-+0-9.eE]*\).*/\1/p' $tmp/e.log); echo mismatch \$m
    awk -v a=\$m 'BEGIN { exit !(a < 1e-6) }'"
fi

if selected e3; then
  # E3-like relu run (2 ranks): the loss must fall below 1e-6.
  t "e3: relu, m = 100, n = 1000 reaches loss below 1e-6" bash -c "
    $MPIEXEC -n 2 $PGFLOW -options_file jobs/e3-relu-small.opts -output $tmp/e3.h5 || exit 1
    l=\$($RESULTS get $tmp/e3.h5 /final/loss); echo final loss \$l
    awk -v a=\$l 'BEGIN { exit !(a < 1e-6) }'"
fi
