# Tests of the core and of the two-layer problem (sourced by tests/run).
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, t, np, group, uses come from tests/lib.sh

small="-problem twolayer -dim 3 -samples 200 -teacher_neurons 3 -particles 20"

group velocity
  # Every activation x loss x regularizer, rank counts 1, 2, 3 in turn.
  i=0
  for act in relu sigmoid tanh erf; do
    for loss in square logistic; do
      for reg in none l2 l1; do
        n=$((i % 3 + 1)); i=$((i + 1))
        lam=""; [ $reg != none ] && lam="-lambda 0.3"
        t "$act-$loss-$reg" "$act $loss $reg on $n ranks" \
          np $n bin/tests/t_velocity $small -activation $act -loss $loss -reg $reg $lam -tol 1e-6
      done
    done
  done

group ranks
  # Initial particles and data bitwise equal for any rank count; final state
  # equal to 1e-10 (the sums in h differ in order only).
  runs() {
    for n in 1 2 3; do
      np $n $PGFLOW $small -activation sigmoid -ts_max_time 20 -output "$tmp/r$n.h5" >"$tmp/run$n.log" 2>&1
    done
  }
  uses runs
  for n in 2 3; do
    t "initial-1-$n" "initial particles and data identical on 1 and $n ranks" bash -c "
      for d in /snapshots/w /snapshots/theta /data/X /data/y /truth/theta; do
        $RESULTS compare0 $tmp/r1.h5 $tmp/r$n.h5 \$d 0 || exit 1
      done"
  done
  t final-1-3 "final state on 1 and 3 ranks equal to 1e-10" bash -c "
    $RESULTS compare $tmp/r1.h5 $tmp/r3.h5 /final/theta 1e-10 && $RESULTS compare $tmp/r1.h5 $tmp/r3.h5 /final/w 1e-10"
  t results-read-back "results: file read back and checked (3 ranks)" $RESULTS check "$tmp/r3.h5"
  t mpi-fraction "the summary gives the MPI time of the right-hand side, a fraction in (0, 1) on 3 ranks" bash -c "
    f=\$(analysis/pgf-python analysis/pgfresults.py $tmp/r3.h5 /stats mpi_fraction); echo fraction \$f
    [ -n \"\$f\" ] && awk -v f=\$f 'BEGIN { exit !(f > 0 && f < 1) }'"
  t results-completed "results: completed run has completed = 1 and stop_reason max_time" bash -c "
    [ \$($RESULTS attr $tmp/r3.h5 completed) = 1 ] && [ \$($RESULTS attr $tmp/r3.h5 stop_reason) = max_time ] && [ \$($RESULTS attr $tmp/r3.h5 ranks) = 3 ]"

group memory
  # Below half of -memory_limit the activations (relu: their signs, one byte
  # each) are kept between the passes; above it they are recomputed per
  # tile of particles x samples: the same arithmetic, so the same bits. For
  # relu and for each smooth activation (sigmoid and tanh keep s(z), erf
  # keeps z); 500 particles per rank make two tiles of particles (360 + 140).
  t relu "activations recomputed under -memory_limit, final state bitwise equal (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW -dim 5 -samples 20000 -particles 1000 -ts_type euler -ts_dt 0.1 -ts_max_time 1 -output $tmp/mz.h5 >/dev/null || exit 1
    $MPIEXEC -n 2 $PGFLOW -dim 5 -samples 20000 -particles 1000 -ts_type euler -ts_dt 0.1 -ts_max_time 1 -memory_limit 8M -output $tmp/mb.h5 >$tmp/mb.log || exit 1
    grep -q 'recomputed in blocks' $tmp/mb.log && $RESULTS compare $tmp/mz.h5 $tmp/mb.h5 /final/theta 0 && $RESULTS compare $tmp/mz.h5 $tmp/mb.h5 /final/w 0"
  for act in sigmoid tanh erf; do
    t "$act" "$act activations recomputed under -memory_limit, final state bitwise equal (2 ranks)" bash -c "
      $MPIEXEC -n 2 $PGFLOW -dim 5 -samples 20000 -particles 1000 -activation $act -ts_type euler -ts_dt 0.1 -ts_max_time 1 -output $tmp/sz.h5 >/dev/null || exit 1
      $MPIEXEC -n 2 $PGFLOW -dim 5 -samples 20000 -particles 1000 -activation $act -ts_type euler -ts_dt 0.1 -ts_max_time 1 -memory_limit 16M -output $tmp/sb.h5 >$tmp/sb.log || exit 1
      grep -q 'recomputed in blocks' $tmp/sb.log && $RESULTS compare $tmp/sz.h5 $tmp/sb.h5 /final/theta 0 && $RESULTS compare $tmp/sz.h5 $tmp/sb.h5 /final/w 0"
  done

group groups
  # -sample_groups: 4 ranks as 1 x 4, 2 x 2 and 4 x 1 (sample x particle
  # groups) against the 1-D layout on 1 rank: final state to 1e-10, data
  # written identically; velocities against finite differences; -data.
  # relu runs use fixed steps: the adaptive controller's error estimate is a
  # difference of nearly equal stages, and relu runs carry the rounding of a
  # different summation order into the step sizes (final states then differ
  # by about 1e-9; with fixed steps by 1e-16).
  g="$small -particles 23 -samples 301 -activation sigmoid -reg l2 -lambda 1e-3 -ts_max_time 20"
  one_rank() { np 1 $PGFLOW $g -output "$tmp/g0.h5" >/dev/null 2>&1; }
  uses one_rank
  for G in 1 2 4; do
    t "sample-groups-$G" "4 ranks, -sample_groups $G, final state equal to 1 rank to 1e-10" bash -c "
      $MPIEXEC -n 4 $PGFLOW $g -sample_groups $G -output $tmp/g$G.h5 >/dev/null || exit 1
      $RESULTS compare $tmp/g0.h5 $tmp/g$G.h5 /final/theta 1e-10 && $RESULTS compare $tmp/g0.h5 $tmp/g$G.h5 /final/w 1e-10 &&
      $RESULTS compare $tmp/g0.h5 $tmp/g$G.h5 /data/X 0 && $RESULTS compare $tmp/g0.h5 $tmp/g$G.h5 /data/y 0"
  done
  uses
  for loss in square logistic; do
    t "velocity-relu-$loss" "velocities, relu $loss l2, 4 ranks, -sample_groups 2" \
      np 4 bin/tests/t_velocity $small -activation relu -loss $loss -reg l2 -lambda 0.3 -sample_groups 2 -tol 1e-6
  done
  t fewer-particles "fewer particles than ranks, -sample_groups 4" np 4 bin/tests/t_velocity $small -particles 3 -sample_groups 4 -tol 1e-6
  gdata() {
    analysis/pgf-python -c "
import h5py, numpy as np
X = np.random.default_rng(1).standard_normal((97, 3))
with h5py.File('$tmp/gdata.h5', 'w') as f: f['X'] = X; f['y'] = np.sign(X[:, 0] + 0.1)"
  }
  uses gdata
  t data "-data on 4 ranks, -sample_groups 2, equal to 1 rank to 1e-10" bash -c "
    $MPIEXEC -n 1 $PGFLOW -data $tmp/gdata.h5 -loss logistic -particles 10 -ts_max_time 5 -ts_adapt_type none -ts_dt 0.1 -output $tmp/gd1.h5 >/dev/null &&
    $MPIEXEC -n 4 $PGFLOW -data $tmp/gdata.h5 -loss logistic -particles 10 -ts_max_time 5 -ts_adapt_type none -ts_dt 0.1 -sample_groups 2 -output $tmp/gd4.h5 >/dev/null &&
    $RESULTS compare $tmp/gd1.h5 $tmp/gd4.h5 /final/theta 1e-10 && $RESULTS compare $tmp/gd1.h5 $tmp/gd4.h5 /data/X 0"
  gnan() {
    analysis/pgf-python -c "
import h5py, numpy as np
X = np.random.default_rng(1).standard_normal((97, 3)); X[90, 1] = np.nan
with h5py.File('$tmp/gnan.h5', 'w') as f: f['X'] = X; f['y'] = np.sign(X[:, 0] + 0.1)"
  }
  uses gnan
  t nan-last-group "a NaN in the last sample group's rows exits 2 on every rank (2 ranks, -sample_groups 2)" bash -c "
    $MPIEXEC -n 2 $PGFLOW -data $tmp/gnan.h5 -sample_groups 2 -output $tmp/gn.h5 2>$tmp/gn.err; rc=\$?
    cat $tmp/gn.err; [ \$rc = 2 ] && [ \$(grep -c 'entry 271 is not' $tmp/gn.err) = 1 ] && [ ! -e $tmp/gn.h5 ]"
  uses
  bad_inputs
  t baseline "-baseline with -sample_groups 2 exits 2 (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW -sample_groups 2 -baseline rf -output $tmp/gb.h5 2>$tmp/gb.err; rc=\$?
    cat $tmp/gb.err; [ \$rc = 2 ] && grep -q 'need -sample_groups 1' $tmp/gb.err && [ ! -e $tmp/gb.h5 ]"

group energy
  # A smooth case integrated tightly (5th order: the default 3bs would take
  # many more steps at 1e-12): F(0) - F(t) must equal the integral of D.
  t balance "balance mismatch below 1e-6 (sigmoid, rtol 1e-12)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $small -activation sigmoid -init_scale 1 -ts_max_time 50 -ts_rk_type 5dp -ts_rtol 1e-12 -ts_atol 1e-12 -output $tmp/e.h5 > $tmp/e.log 2>&1 || exit 1
    m=\$(analysis/pgf-python analysis/pgfresults.py $tmp/e.h5 /stats energy_mismatch); echo mismatch \$m
    awk -v a=\$m 'BEGIN { exit !(a < 1e-6) }'"

group e3
  # E3-like relu run (2 ranks): the loss must fall below 1e-6.
  t relu "relu, m = 100, n = 1000 reaches loss below 1e-6" bash -c "
    $MPIEXEC -n 2 $PGFLOW -options_file jobs/e3-relu-small.opts -output $tmp/e3.h5 || exit 1
    l=\$($RESULTS get $tmp/e3.h5 /final/loss); echo final loss \$l
    awk -v a=\$l 'BEGIN { exit !(a < 1e-6) }'"
  t erf "erf, the sigmoid setting, loss falls by 100 or more by t = 100 (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW -options_file jobs/e3-sigmoid-small.opts -activation erf -ts_max_time 100 -output $tmp/e3erf.h5 || exit 1
    analysis/pgf-python -c 'import h5py, sys; l = h5py.File(sys.argv[1])[\"/snapshots/loss\"][:]; print(\"loss\", l[0], \"to\", l[-1]); sys.exit(not l[-1] < l[0] / 100)' $tmp/e3erf.h5"

group libm
  # The passes use vectorized activations (src/vmath.c, within 2^-51 of
  # libm): the loss pgflow reports equals numpy's plain formulas on the
  # written particles and data to rounding.
  for act in sigmoid tanh erf; do
    t "$act" "$act final loss equals numpy's plain formulas to 1e-13 relative (2 ranks)" bash -c "
      $MPIEXEC -n 2 $PGFLOW $small -activation $act -ts_max_time 5 -output $tmp/lm.h5 >/dev/null || exit 1
      analysis/pgf-python -c \"
import sys; sys.path.insert(0, 'analysis')
import numpy as np, pgfresults as pr
r = pr.Results('$tmp/lm.h5')
h = pr.predict(r['/final/w'], r['/final/theta'], r['/data/X'], '$act')
F = np.mean((h - r['/data/y']) ** 2) / 2
print('numpy', F, 'pgflow', r.final_loss(), 'relative difference', abs(F / r.final_loss() - 1))
assert abs(F / r.final_loss() - 1) < 1e-13\""
  done

group implicit
  # Implicit and IMEX types with the default matrix-free Newton (and SNES's
  # own -snes_mf / -snes_mf_operator) agree with the explicit default.
  reference() { np 2 $PGFLOW $small -ts_max_time 1 -ts_rtol 1e-8 -ts_atol 1e-8 -output "$tmp/ref.h5" >/dev/null 2>&1; }
  uses reference
  for ty in "bdf" "rosw" "arkimex" "cn -snes_mf" "beuler -snes_mf_operator -ts_adapt_type none -ts_dt 1e-3"; do
    t "${ty%% *}" "-ts_type $ty on 2 ranks agrees with the explicit default to 1e-3" bash -c "
      $MPIEXEC -n 2 $PGFLOW $small -ts_max_time 1 -ts_type $ty -output $tmp/imp.h5 || exit 1
      $RESULTS compare $tmp/ref.h5 $tmp/imp.h5 /final/theta 1e-3 && $RESULTS compare $tmp/ref.h5 $tmp/imp.h5 /final/w 1e-3"
  done

group inputs
  # A user mistake: exit status 2, one line on stderr naming the option,
  # no PETSc traceback, no results file (tests/bad-inputs.rows).
  input_files() {
    analysis/pgf-python - "$tmp" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
def write(name, **arrays):
    with h5py.File(f"{d}/{name}.h5", "w") as f:
        for k, v in arrays.items(): f[k] = v
X = np.random.default_rng(0).standard_normal((50, 3))
write("good", X=X, y=np.sign(X[:, 0]))
write("noy", X=X)
write("shape", X=X, y=np.ones(49))
write("vector", X=np.ones(50), y=np.ones(50))
write("nan", X=np.where(np.arange(150).reshape(50, 3) == 7, np.nan, X), y=np.ones(50))
write("labels", X=X, y=np.linspace(-1, 1, 50))
PY
    echo "not HDF5" >"$tmp/text.h5"
  }
  uses
  bad_inputs
  # The ranks' lines are told from mpiexec's own report by --tag-output:
  # Open MPI 5's mpiexec has no --quiet to leave that report out.
  t output-missing-directory "-output in a missing directory on 3 ranks" bash -c "
    $MPIEXEC --tag-output -n 3 $PGFLOW -output $tmp/missing/x.h5 >/dev/null 2>$tmp/err; rc=\$?; cat $tmp/err
    grep '^\[[0-9]*,[0-9]*\]<stderr>:' $tmp/err >$tmp/rank-err
    [ \$rc -eq 2 ] && [ \$(wc -l <$tmp/rank-err) -eq 1 ] && grep -q -- -output $tmp/rank-err && ! grep -q 'PETSC ERROR' $tmp/err && [ ! -e $tmp/missing ]"
  uses input_files
  t data-runs "-data file runs (logistic, 3 ranks)" np 3 $PGFLOW -data "$tmp/good.h5" -loss logistic -ts_max_time 1 -output "$tmp/good-out.h5"
  uses
  t help "-help lists the options with their defaults and exits 0" bash -c "
    $PGFLOW -help >$tmp/help 2>&1 && grep -qE -- '-particles:? <now 100' $tmp/help && grep -qE -- '-activation:? <now relu' $tmp/help &&
      grep -q -- '-ts_type <now rk' $tmp/help && ! ls pgflow.h5 2>/dev/null"

group nonfinite
  # Gradient descent with a step that overflows the state: exit 3,
  # stop_reason nonfinite, and the last finite state is kept as the final
  # one. (A step that only raises F, such as -ts_dt 1e5, is undone and
  # retried shorter: faults/rise.)
  t euler-overflow "exit 3, stop_reason nonfinite, finite final state = last snapshot" bash -c "
    $MPIEXEC -n 2 $PGFLOW $small -ts_type euler -ts_dt 1e300 -ts_max_time 1e307 -output $tmp/nf.h5; rc=\$?
    [ \$rc -eq 3 ] && [ \$($RESULTS attr $tmp/nf.h5 stop_reason) = nonfinite ] && $RESULTS check $tmp/nf.h5 &&
      analysis/pgf-python -c 'import h5py, numpy, sys; f = h5py.File(sys.argv[1]); sys.exit(not (numpy.isfinite(f[\"/final/w\"][:]).all() and numpy.isfinite(f[\"/final/theta\"][:]).all()))' $tmp/nf.h5"

group l1
  # The l1 soft-threshold sets weights exactly to zero.
  t soft-threshold "soft-threshold zeroes weights (-lambda 0.003, 2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $small -reg l1 -lambda 0.003 -ts_max_time 50 -output $tmp/l1.h5 || exit 1
    analysis/pgf-python -c 'import h5py, sys; w = h5py.File(sys.argv[1])[\"/final/w\"][:]; print((w == 0).sum(), \"of\", w.size, \"zero\"); sys.exit(not 0 < (w == 0).sum() < w.size)' $tmp/l1.h5"

group adapt
  # -ts_adapt_type armijo: gradient descent with Armijo's sufficient
  # decrease. E3 to the losses of the best hand-tuned constant steps (a scan:
  # 300 and 1302 evaluations), rejected trials counted; the same steps on any
  # number of ranks; every accepted step satisfies the rule.
  gd="-ts_type euler -ts_adapt_type armijo"
  armijo_runs() {
    for n in 1 2 3; do
      np $n $PGFLOW -options_file jobs/e3-relu-small.opts -stop_loss 1e-6 $gd -output "$tmp/a$n.h5" >"$tmp/a$n.log" 2>&1
    done
  }
  uses armijo_runs
  t armijo-e3-relu "armijo E3 relu to loss 1e-6 in at most 300 evaluations, rejections included (2 ranks)" bash -c "
    cat $tmp/a2.log; e=\$($RESULTS get $tmp/a2.h5 /history/rhs_evals); l=\$($RESULTS get $tmp/a2.h5 /final/loss)
    grep -q 'accepted and [1-9][0-9]* rejected' $tmp/a2.log && awk -v e=\$e -v l=\$l 'BEGIN { exit !(e <= 300 && l < 1e-6) }'"
  t armijo-ranks "armijo steps and final state equal on 1, 2 and 3 ranks (to 1e-10)" bash -c "
    for n in 2 3; do
      [ \"\$(grep accepted $tmp/a1.log)\" = \"\$(grep accepted $tmp/a\$n.log)\" ] || exit 1
      $RESULTS compare $tmp/a1.h5 $tmp/a\$n.h5 /history/dt 1e-10 && $RESULTS compare $tmp/a1.h5 $tmp/a\$n.h5 /final/theta 1e-10 &&
        $RESULTS compare $tmp/a1.h5 $tmp/a\$n.h5 /final/w 1e-10 || exit 1
    done"
  t armijo-sufficient-decrease "every accepted step decreases F by at least c dt D (c = 0.5), steps grow and shrink" analysis/pgf-python -c "
import h5py, numpy as np, sys
h = h5py.File('$tmp/a1.h5')['history']
F = np.r_[h5py.File('$tmp/a1.h5')['snapshots/loss'][0], h['loss'][:]]
D, dt = h['dissipation'][:], h['dt'][:]
D0 = np.r_[np.nan, D[:-1]]
ok = F[2:] <= F[1:-1] - 0.5 * dt[1:] * D0[1:] + 1e-15 * F[1:-1]
print(ok.sum(), 'of', ok.size, 'steps, dt from', dt.min(), 'to', dt.max())
sys.exit(not (ok.all() and (np.diff(dt) > 0).any() and (np.diff(dt) < 0).any()))"
  uses
  t armijo-e3-sigmoid "armijo E3 sigmoid to loss 1.5e-6 in at most 1302 evaluations (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW -options_file jobs/e3-sigmoid-small.opts -ts_max_time 1e5 -stop_loss 1.5e-6 $gd -output $tmp/as.h5 || exit 1
    e=\$($RESULTS get $tmp/as.h5 /history/rhs_evals); l=\$($RESULTS get $tmp/as.h5 /final/loss); echo evaluations \$e loss \$l
    awk -v e=\$e -v l=\$l 'BEGIN { exit !(e <= 1302 && l < 1.5e-6) }'"
  # A checkpoint mid-run: the adapt keeps no state beyond the next step, so
  # the continuation takes the same steps, bitwise (it evaluates once more:
  # the restarted run has no cached evaluation at the checkpoint's state).
  t armijo-restart "armijo restart from a checkpoint at step 60 continues bitwise (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $small -ts_max_time 300 $gd -output $tmp/ac-ref.h5 >/dev/null || exit 1
    $MPIEXEC -n 2 $PGFLOW $small -ts_max_time 300 $gd -ts_max_steps 60 -checkpoint_interval 1e-9 -output $tmp/ac.h5 >/dev/null || exit 1
    $MPIEXEC -n 2 $PGFLOW $small -ts_max_time 300 $gd -output $tmp/ac.h5 -restart $tmp/ac.ckpt.h5 || exit 1
    $RESULTS compare $tmp/ac-ref.h5 $tmp/ac.h5 /history/dt 0 && $RESULTS compare $tmp/ac-ref.h5 $tmp/ac.h5 /final/w 0 &&
      $RESULTS compare $tmp/ac-ref.h5 $tmp/ac.h5 /final/theta 0 && $RESULTS compare $tmp/ac-ref.h5 $tmp/ac.h5 /history/loss 0"
  # The default integrator for trajectories (rk 3bs, dsp PI33, 1e-5) was
  # chosen to take E3 relu to loss 1e-6 in at most 800 evaluations.
  t default-e3-relu "the default integrator takes E3 relu to loss 1e-6 in at most 800 evaluations (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW -options_file jobs/e3-relu-small.opts -stop_loss 1e-6 -output $tmp/ad.h5 || exit 1
    e=\$($RESULTS get $tmp/ad.h5 /history/rhs_evals); l=\$($RESULTS get $tmp/ad.h5 /final/loss); echo evaluations \$e loss \$l
    awk -v e=\$e -v l=\$l 'BEGIN { exit !(e <= 800 && l < 1e-6) }'"
  bad_inputs
  # PETSc 3.18 prints '-name <0.5>', 3.22 '-name: <now 0.5 : formerly 0.5>'
  t help "-help -ts_adapt_type armijo lists its options" bash -c "
    $PGFLOW -help -ts_type euler -ts_adapt_type armijo >$tmp/ah 2>&1; grep -Eq -- '-ts_adapt_armijo_c:? <(now )?0.5' $tmp/ah &&
      grep -q -- '-ts_adapt_armijo_grow' $tmp/ah && grep -q -- '-ts_adapt_armijo_shrink' $tmp/ah"

group describe
  # A results file describes itself: every option as resolved in
  # /parameters (defaults included, typed), what the run printed in /stats;
  # -log_view shows pgflow's own events.
  t parameters-stats "/parameters holds every option as resolved, /stats the run's figures (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $small -activation sigmoid -ts_max_time 2 -output $tmp/d.h5 >$tmp/d.log || exit 1
    analysis/pgf-python - $tmp/d.h5 $tmp/d.log <<'PY'
import sys, re, h5py
f = h5py.File(sys.argv[1], 'r'); p = f['parameters'].attrs; s = f['stats'].attrs
print(dict(p)); print(dict(s))
assert p['particles'] == 20 and p['samples'] == 200 and p['activation'] == b'sigmoid' and p['dim'] == 3
assert p['ts_type'] == b'rk' and p['ts_rtol'] == 1e-5 and p['ts_max_time'] == 2.0 and p['seed'] == 0
assert abs(p['init_scale'] - 0.5) < 1e-15  # the sigmoid default 1/sqrt(p), p = 4
log = open(sys.argv[2]).read()
evals = int(re.search(r'right-hand side: (\d+) evaluations', log).group(1))
assert s['rhs_evals'] == evals and s['steps'] > 0 and s['wall_seconds'] > 0 and s['peak_memory_bytes'] > 1e6
assert 0 <= s['mpi_fraction'] <= 1 and s['energy_mismatch'] >= 0
PY"
  t log-view "-log_view lists pgflow's events with their counts" bash -c "
    $PGFLOW $small -ts_max_time 2 -checkpoint_interval 1e-9 -output $tmp/lv.h5 -log_view >$tmp/lv.log || exit 1
    for e in PgfEvaluate PgfReduce PgfSnapshot PgfCheckpoint; do grep -q \"^\$e  *[1-9]\" $tmp/lv.log || { echo missing \$e; exit 1; }; done"
