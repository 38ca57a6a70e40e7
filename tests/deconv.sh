# Tests of the sparse deconvolution problem (sourced by tests/run).
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, t, np, group, uses come from tests/lib.sh

dsmall="-problem deconv -cutoff 4 -particles 13"

# each_lift PROGRAM: PROGRAM for both lifts x both torus dimensions,
# rank counts 1, 2, 3 in turn.
each_lift() {
  local i=0 lift q n
  for lift in fb signed_square; do
    for q in 1 2; do
      n=$((i % 3 + 1)); i=$((i + 1))
      t "$lift-torus-$q" "$lift lift, torus_dim $q on $n ranks" \
        np $n "$1" $dsmall -torus_dim $q -lift $lift -lambda 0.3 -tol 1e-6
    done
  done
}

# Velocities against finite differences of F.
group velocity
each_lift bin/tests/t_velocity
# The assembled Jacobian against differences of velocities.
group jacobian
each_lift bin/tests/t_jacobian

group gap
  t torus-1-above-lambda "matches brute force, 1-torus, max|g| > lambda" bin/tests/t_gap $dsmall -cutoff 10 -lambda 0.05 -refine 1024 -gtol 1e-6
  t torus-1-below-lambda "matches brute force, 1-torus, max|g| < lambda" bin/tests/t_gap $dsmall -cutoff 10 -lambda 5 -refine 1024 -gtol 1e-6
  t torus-2 "matches brute force, 2-torus (2 ranks)" np 2 bin/tests/t_gap $dsmall -torus_dim 2 -cutoff 3 -spikes 3 -lambda 0.05 -refine 96 -gtol 1e-5
  # Nearly equal peaks of |g|: the gap never below the brute-force one.
  t peaks-torus-1 "nearly equal peaks, 1-torus" bin/tests/t_gap $dsmall -cutoff 10 -lambda 0.05 -refine 4096 -gtol 1e-6 -peaks 5
  t peaks-torus-2 "nearly equal peaks, 2-torus (3 ranks)" np 3 bin/tests/t_gap $dsmall -torus_dim 2 -cutoff 3 -spikes 3 -lambda 0.05 -refine 256 -gtol 1e-5 -peaks 6
  # E1, m = 100, seed 3 between t = 30 and 150: the 5 peaks at the spikes
  # all near lambda (a search refining only the 4 best grid points
  # under-reported the gap there by up to 39%).
  for tt in 30 50 100 150; do
    t "e1-seed-3-t-$tt" "E1 seed 3 at t = $tt never below brute force" bash -c "
      $PGFLOW -options_file jobs/e1-small.opts -seed 3 -ts_max_time $tt -stop_gap 0 -output $tmp/s3.h5 >/dev/null || exit 1
      bin/tests/t_gap -options_file jobs/e1-small.opts -seed 3 -from $tmp/s3.h5 -refine 4096 -gtol 1e-6"
  done

group prox
  # Short fb runs with forward-backward Euler: positions stay in [0, 1) and
  # a large lambda zeroes every weight.
  t positions-wrapped "positions wrapped into [0, 1) (fb, 2-torus)" bash -c "
    $PGFLOW $dsmall -torus_dim 2 -lift fb -ts_type euler -ts_dt 1e-3 -ts_max_time 2 -output $tmp/p.h5 >/dev/null || exit 1
    h5dump -m %.17g -d /snapshots/theta -y -w 0 $tmp/p.h5 | sed -n '/DATA {/,/}/p' | sed '1d;\$d' | tr ',' '\n' | awk 'NF { if (\$1 < 0 || \$1 >= 1) bad = 1; n++ } END { print n, \"positions\"; exit bad || n == 0 }'"
  t soft-threshold "soft-threshold zeroes weights below dt lambda (fb)" bash -c "
    $PGFLOW $dsmall -lift fb -lambda 100 -ts_type euler -ts_dt 1e-3 -ts_max_time 0.1 -output $tmp/z.h5 >/dev/null || exit 1
    h5dump -d /final/w -y -w 0 $tmp/z.h5 | sed -n '/DATA {/,/}/p' | sed '1d;\$d' | tr ',' '\n' | awk 'NF { n++; if (\$1 != 0) bad = 1 } END { print n, \"weights\"; exit bad || n == 0 }'"

group ranks
  runs() {
    for n in 1 3; do
      np $n $PGFLOW $dsmall -torus_dim 2 -ts_max_time 20 -output "$tmp/d$n.h5" >"$tmp/drun$n.log" 2>&1
    done
  }
  uses runs
  t initial-1-3 "data and initial particles identical on 1 and 3 ranks" bash -c "
    for d in /snapshots/w /snapshots/theta /data/y_re /data/y_im /truth/x /truth/a; do
      $RESULTS compare0 $tmp/d1.h5 $tmp/d3.h5 \$d 0 || exit 1
    done"
  t final-1-3 "final state on 1 and 3 ranks equal to 1e-10" bash -c "
    $RESULTS compare $tmp/d1.h5 $tmp/d3.h5 /final/theta 1e-10 && $RESULTS compare $tmp/d1.h5 $tmp/d3.h5 /final/w 1e-10"

group e1
  # The default integrator: Rosenbrock-W with the smooth lift, ARK IMEX with
  # fb (README, Running), as /parameters records the type that ran; a type
  # given on the command line wins.
  for c in "signed_square:rosw:" "fb:arkimex:" "signed_square:bdf:-ts_type bdf"; do
    IFS=: read -r lift want extra <<<"$c"
    t "default-integrator-$lift${extra:+-$want}" "the integrator with -lift $lift${extra:+ and $extra} is $want" bash -c "
      $PGFLOW -options_file jobs/e1-small.opts -lift $lift $extra -ts_max_steps 3 -output $tmp/ty.h5 >/dev/null || exit 1
      ty=\$(analysis/pgf-python analysis/pgfresults.py $tmp/ty.h5 /parameters ts_type); echo ts_type \$ty; [ \"\$ty\" = $want ]"
  done
  for seed in 0 1 2; do
    t "gap-seed-$seed" "m = 100, seed $seed reaches gap below 1e-10 (2 ranks)" bash -c "
      $MPIEXEC -n 2 $PGFLOW -options_file jobs/e1-small.opts -stop_gap 1e-10 -seed $seed -output $tmp/e1.h5 || exit 1
      r=\$($RESULTS attr $tmp/e1.h5 stop_reason); echo stop_reason \$r; [ \"\$r\" = stop_gap ]"
  done
  # The analytic Jacobian applied matrix-free with the Woodbury solve (the
  # default), with ARK IMEX, BDF and Rosenbrock-W (whose IFunction form
  # carries the whole flow): one application of the solve per Newton system,
  # and also as GMRES's preconditioner (one or two iterations).
  for ty in arkimex bdf rosw; do
    t "matrix-free-$ty" "m = 100 with the matrix-free Jacobian and $ty reaches gap below 1e-10 (2 ranks)" bash -c "
      $MPIEXEC -n 2 $PGFLOW -options_file jobs/e1-small.opts -stop_gap 1e-10 -ts_type $ty -ksp_converged_reason -output $tmp/e1mf.h5 >$tmp/e1mf.log || exit 1
      grep 'Linear solve' $tmp/e1mf.log | sort | uniq -c
      grep -q 'Linear solve' $tmp/e1mf.log && ! grep 'Linear solve' $tmp/e1mf.log | grep -qv 'iterations [12]\$' || exit 1
      r=\$($RESULTS attr $tmp/e1mf.h5 stop_reason); echo stop_reason \$r; [ \"\$r\" = stop_gap ]"
  done
  t gmres-woodbury "m = 100 with GMRES preconditioned by the Woodbury solve reaches gap below 1e-10 (3 ranks)" bash -c "
    $MPIEXEC -n 3 $PGFLOW -options_file jobs/e1-small.opts -stop_gap 1e-10 -ksp_type gmres -ksp_converged_reason -output $tmp/e1g.h5 >$tmp/e1g.log || exit 1
    grep 'Linear solve' $tmp/e1g.log | sort | uniq -c
    grep -q 'Linear solve' $tmp/e1g.log && ! grep 'Linear solve' $tmp/e1g.log | grep -qv 'iterations [12]\$' || exit 1
    r=\$($RESULTS attr $tmp/e1g.h5 stop_reason); echo stop_reason \$r; [ \"\$r\" = stop_gap ]"
  t rosw-assembled "m = 100 with rosw and the assembled Jacobian reaches gap below 1e-10 (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW -options_file jobs/e1-small.opts -stop_gap 1e-10 -ts_type rosw -jacobian_assemble_max 6000 -output $tmp/e1rw.h5 || exit 1
    r=\$($RESULTS attr $tmp/e1rw.h5 stop_reason); echo stop_reason \$r; [ \"\$r\" = stop_gap ]"

group fb
  # The fb lift: signs fixed within a step, weights stopped at zero by the
  # prox step, so the flow's fixed points are the optimum's and the
  # certified gap falls below 1e-10; the energy line then says that the
  # balance does not apply.
  t e1-gap "E1 with -lift fb reaches gap below 1e-10 (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW -options_file jobs/e1-small.opts -lift fb -stop_gap 1e-10 -ts_max_time 3000 -output $tmp/fb.h5 >$tmp/fb.log || exit 1
    r=\$($RESULTS attr $tmp/fb.h5 stop_reason); echo stop_reason \$r; grep 'energy balance' $tmp/fb.log
    [ \"\$r\" = stop_gap ] && grep -q 'relative mismatch = nan (not applicable' $tmp/fb.log"
  t signed-square-energy "signed_square prints a finite energy mismatch" bash -c "
    $PGFLOW -options_file jobs/e1-small.opts -ts_max_time 10 -output $tmp/ss.h5 >$tmp/ss.log || exit 1
    grep 'energy balance' $tmp/ss.log; ! grep -q 'not applicable' $tmp/ss.log"

group input
  # Bad input: exit status 2, one line naming the option, no PETSc trace.
  bad() {
    local opt=$1
    shift
    $PGFLOW -problem deconv "$@" -output "$tmp/bad.h5" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    cat "$tmp/err"
    [ $rc -eq 2 ] && [ "$(sort -u "$tmp/err" | wc -l)" -eq 1 ] && grep -q -- "$opt" "$tmp/err" && ! grep -q 'PETSC ERROR' "$tmp/err" "$tmp/out"
  }
  t cutoff-0 "-cutoff 0 exits 2" bad -cutoff -cutoff 0
  t torus-dim-3 "-torus_dim 3 exits 2" bad -torus_dim -torus_dim 3
  t spikes-cannot-fit "spikes that cannot fit exit 2" bad -min_separation -spikes 8 -min_separation 0.15
  t lambda-negative "-lambda -1 exits 2" bad -lambda -lambda -1
  t noise-negative "-noise -0.1 exits 2" bad -noise -noise -0.1
  t fb-overshoot-negative "-fb_overshoot -1 exits 2" bad -fb_overshoot -fb_overshoot -1
