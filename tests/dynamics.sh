# Tests of the particle dynamics (-dynamics, doc/math.md section 2.5):
# velocity and dissipation against differences of F, the Jacobian and the
# Newton solve with the dynamics' blocks, the conic steps against an
# independent implementation, ranks, restarts and refusals.
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, t, np, group, uses come from tests/lib.sh

dsmall="-problem deconv -cutoff 4 -particles 13 -lift signed_square -lambda 0.3"
tsmall="-problem twolayer -dim 3 -samples 200 -teacher_neurons 3 -particles 20"
conic="-dynamics conic -conic_alpha 0.6 -conic_beta 2.5"
e1c=(-options_file jobs/e1-small.opts -options_file jobs/e10-conic.opts)

group velocity
  # F decreases at the rate D along the dynamics' velocity, for every
  # problem the conic dynamics accepts, on 1, 2 and 3 ranks.
  t deconv-torus-1 "conic, deconvolution on the 1-torus (1 rank)" bin/tests/t_velocity $dsmall $conic -tol 1e-5
  t deconv-torus-2 "conic, deconvolution on the 2-torus (2 ranks)" np 2 bin/tests/t_velocity $dsmall -torus_dim 2 $conic -tol 1e-5
  t relu "conic, relu network, l2 (3 ranks)" np 3 bin/tests/t_velocity $tsmall -reg l2 -lambda 0.1 $conic -tol 1e-6
  t relu-logistic "conic, relu network, logistic loss (2 ranks)" np 2 bin/tests/t_velocity $tsmall -loss logistic $conic -tol 1e-6
  t relu-population "conic, relu on the population loss (3 ranks)" np 3 bin/tests/t_velocity -problem twolayer -population true -dim 5 -particles 20 $conic -tol 1e-6

group jacobian
  # The dynamics' Jacobian against differences of its field; the Woodbury
  # solve with the dynamics' blocks against that Jacobian.
  t torus-1 "conic Jacobian and Newton solve, 1-torus (3 ranks)" np 3 bin/tests/t_jacobian $dsmall $conic -tol 1e-6
  t torus-2 "conic Jacobian and Newton solve, 2-torus (2 ranks)" np 2 bin/tests/t_jacobian $dsmall -torus_dim 2 $conic -tol 1e-6

group steps
  # Mirror and canonical steps replayed by tests/check_conic.py from
  # doc/math.md alone.
  i=0
  for ret in mirror canonical; do
    for e in e1 e2; do
      n=$((i % 3 + 1)); i=$((i + 1))
      t "$ret-$e" "$ret steps on the $e problem ($n ranks) equal an implementation from doc/math.md to 1e-10" bash -c "
        $MPIEXEC -n $n $PGFLOW -options_file jobs/$e-small.opts -options_file jobs/e10-conic.opts -conic_retraction $ret -particles 17 -ts_max_steps 200 -output $tmp/$ret-$e.h5 >/dev/null || exit 1
        analysis/pgf-python tests/check_conic.py $tmp/$ret-$e.h5"
    done
  done

group wasserstein
  t relu-equal "conic with A = B = 1 on relu equals the Wasserstein flow to 1e-10" bash -c "
    $PGFLOW $tsmall -ts_max_time 5 -output $tmp/w.h5 >/dev/null && $PGFLOW $tsmall -ts_max_time 5 -dynamics conic -output $tmp/c.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/w.h5 $tmp/c.h5 /final/w 1e-10 && $RESULTS compare $tmp/w.h5 $tmp/c.h5 /final/theta 1e-10"
  t default-bitwise "-dynamics wasserstein is the default, bit for bit, and recorded in /parameters" bash -c "
    $PGFLOW -options_file jobs/e1-small.opts -ts_max_time 20 -output $tmp/d.h5 >/dev/null && $PGFLOW -options_file jobs/e1-small.opts -ts_max_time 20 -dynamics wasserstein -output $tmp/dw.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/d.h5 $tmp/dw.h5 /final/w 0 && $RESULTS compare $tmp/d.h5 $tmp/dw.h5 /history/rhs_evals 0 &&
      [ \$(analysis/pgf-python analysis/pgfresults.py $tmp/d.h5 /parameters dynamics) = wasserstein ]"

group ranks
  runs() {
    for n in 1 2 3; do
      np $n $PGFLOW "${e1c[@]}" -particles 30 -ts_max_steps 300 -output "$tmp/r$n.h5" >"$tmp/r$n.log" 2>&1
    done
  }
  uses runs
  t mirror-1-2-3 "conic mirror steps on 1, 2 and 3 ranks agree to 1e-10" bash -c "
    for n in 2 3; do $RESULTS compare $tmp/r1.h5 $tmp/r\$n.h5 /final/w 1e-10 && $RESULTS compare $tmp/r1.h5 $tmp/r\$n.h5 /final/theta 1e-10 || exit 1; done"
  uses
  t rosw-1-3 "conic flow by rosw (the Woodbury solve with the dynamics' blocks) on 1 and 3 ranks agrees to 1e-8" bash -c "
    for n in 1 3; do $MPIEXEC -n \$n $PGFLOW -options_file jobs/e1-small.opts -dynamics conic -particles 30 -ts_max_time 30 -output $tmp/rr\$n.h5 >/dev/null || exit 1; done
    $RESULTS compare $tmp/rr1.h5 $tmp/rr3.h5 /final/w 1e-8 && $RESULTS compare $tmp/rr1.h5 $tmp/rr3.h5 /final/theta 1e-8"

group restart
  ref() {
    $PGFLOW "${e1c[@]}" -particles 30 -ts_max_steps 300 -output "$tmp/ref.h5" >/dev/null 2>&1
    $PGFLOW "${e1c[@]}" -particles 30 -ts_max_steps 120 -checkpoint_interval 1e-9 -output "$tmp/ck.h5" >/dev/null 2>&1
    cp "$tmp/ck.h5" "$tmp/ck2.h5"
  }
  uses ref
  t same-ranks-bitwise "a conic run restarted at step 120 on 1 rank equals the uninterrupted run bitwise" bash -c "
    $PGFLOW ${e1c[*]} -particles 30 -ts_max_steps 300 -output $tmp/ck.h5 -restart $tmp/ck.ckpt.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/ref.h5 $tmp/ck.h5 /final/w 0 && $RESULTS compare $tmp/ref.h5 $tmp/ck.h5 /final/theta 0"
  t other-ranks "restarted on 3 ranks, equal to 1e-10" bash -c "
    $MPIEXEC -n 3 $PGFLOW ${e1c[*]} -particles 30 -ts_max_steps 300 -output $tmp/ck2.h5 -restart $tmp/ck.ckpt.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/ref.h5 $tmp/ck2.h5 /final/w 1e-10 && $RESULTS compare $tmp/ref.h5 $tmp/ck2.h5 /final/theta 1e-10"
  bad_inputs

group e1
  t conic-mirror "E1 (m = 100): conic mirror steps reach a certified gap below 1e-10 (2 ranks), F never rising" bash -c "
    $MPIEXEC -n 2 $PGFLOW ${e1c[*]} -stop_gap 1e-10 -output $tmp/m.h5 >/dev/null || exit 1
    [ \$($RESULTS attr $tmp/m.h5 stop_reason) = stop_gap ] && [ \$(analysis/pgf-python analysis/pgfresults.py $tmp/m.h5 /stats rejected_steps | cut -d. -f1) = 0 ]"
  t conic-rosw "E1 (m = 100): the conic flow by rosw reaches a gap below 1e-10 with its energy balanced (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW -options_file jobs/e1-small.opts -dynamics conic -stop_gap 1e-10 -output $tmp/c.h5 >$tmp/c.log || exit 1
    [ \$($RESULTS attr $tmp/c.h5 stop_reason) = stop_gap ] && ! grep -q warning $tmp/c.log"

group refuse
  bad_inputs
