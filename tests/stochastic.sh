# Tests of the stochastic dynamics (doc/math.md sections 2.6 and 2.7):
# birth-death jumps (-birth_death_rate) and mean-field Langevin
# (-temperature). Off, they are the plain flow bit for bit; their draws do
# not depend on the ranks, -sample_groups or a restart; the jumps' counts
# follow their probabilities and the Langevin sampler its stationary law.
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, t, np, group, uses come from tests/lib.sh

PY=analysis/pgf-python
e3="-options_file jobs/e3-relu-small.opts -particles 40 -ts_max_time 20"
bd="-birth_death_rate 2"
euler="-ts_type euler -ts_dt 0.01"
# A data term that does not depend on the particles: inputs all 0 and no
# bias make every neuron's output s(0) = 0, so F = const + (lambda/2m) sum
# |u_i|^2 and V_i = (lambda/2) |u_i|^2 up to a constant.
flat="-problem twolayer -dim 2 -bias false -reg l2 -lambda 1"
zeros() {
  $PY -c "
import h5py, numpy as np
with h5py.File('$tmp/zeros.h5', 'w') as f:
    f['X'] = np.zeros((10, 2)); f['y'] = np.ones(10)"
}

# same NAME A.h5 B.h5 TOL: the final particles agree to TOL, the jumps' counts exactly.
same() {
  $RESULTS compare "$2" "$3" /final/w "$4" && $RESULTS compare "$2" "$3" /final/theta "$4" &&
    $RESULTS compare "$2" "$3" /history/births 0 && $RESULTS compare "$2" "$3" /history/deaths 0
}
export -f same

group off
  t rate-0-bitwise "-birth_death_rate 0 is the plain flow bit for bit (rk, adaptive)" bash -c "
    $PGFLOW $e3 -output $tmp/p.h5 >/dev/null && $PGFLOW $e3 -birth_death_rate 0 -output $tmp/z.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/p.h5 $tmp/z.h5 /final/w 0 && $RESULTS compare $tmp/p.h5 $tmp/z.h5 /final/theta 0 && $RESULTS compare $tmp/p.h5 $tmp/z.h5 /history/rhs_evals 0"
  t temperature-0-bitwise "-temperature 0 is the plain Euler flow bit for bit" bash -c "
    $PGFLOW $e3 $euler -reg l2 -lambda 0.01 -output $tmp/pe.h5 >/dev/null && $PGFLOW $e3 $euler -reg l2 -lambda 0.01 -temperature 0 -output $tmp/ze.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/pe.h5 $tmp/ze.h5 /final/w 0 && $RESULTS compare $tmp/pe.h5 $tmp/ze.h5 /final/theta 0"

group ranks
  runs() {
    for n in 1 2 3; do
      np $n $PGFLOW $e3 $bd -output "$tmp/r$n.h5" >/dev/null 2>&1
      np $n $PGFLOW $e3 $euler -reg l2 -lambda 0.01 -temperature 1e-3 -output "$tmp/l$n.h5" >/dev/null 2>&1
    done
    np 2 $PGFLOW $e3 $bd -sample_groups 2 -output "$tmp/g2.h5" >/dev/null 2>&1
    np 3 $PGFLOW $e3 $bd -sample_groups 3 -output "$tmp/g3.h5" >/dev/null 2>&1
  }
  uses runs
  t jumps-1-2-3 "birth-death on 1, 2 and 3 ranks: the same births and deaths at every step, particles equal to 1e-10" bash -c "
    [ \$(analysis/pgf-python analysis/pgfresults.py $tmp/r1.h5 /stats jump_change | tr -d -) != 0.0 ] && same x $tmp/r1.h5 $tmp/r2.h5 1e-10 && same x $tmp/r1.h5 $tmp/r3.h5 1e-10"
  t jumps-sample-groups "birth-death with -sample_groups 2 (2 ranks) and 3 (3 ranks): the same decisions, particles equal to 1e-10" bash -c "
    same x $tmp/r1.h5 $tmp/g2.h5 1e-10 && same x $tmp/r1.h5 $tmp/g3.h5 1e-10"
  t langevin-1-2-3 "Langevin on 1, 2 and 3 ranks: the same noise, particles equal to 1e-10" bash -c "
    $RESULTS compare $tmp/l1.h5 $tmp/l2.h5 /final/theta 1e-10 && $RESULTS compare $tmp/l1.h5 $tmp/l3.h5 /final/theta 1e-10 && $RESULTS compare $tmp/l1.h5 $tmp/l3.h5 /final/w 1e-10"

group restart
  ref() {
    $PGFLOW $e3 $bd -ts_max_steps 150 -output "$tmp/ref.h5" >/dev/null 2>&1
    $PGFLOW $e3 $bd -ts_max_steps 60 -checkpoint_interval 1e-9 -output "$tmp/ck.h5" >/dev/null 2>&1
    $PGFLOW $e3 $euler -reg l2 -lambda 0.01 -temperature 1e-3 -ts_max_steps 300 -output "$tmp/lref.h5" >/dev/null 2>&1
    $PGFLOW $e3 $euler -reg l2 -lambda 0.01 -temperature 1e-3 -ts_max_steps 120 -checkpoint_interval 1e-9 -output "$tmp/lck.h5" >/dev/null 2>&1
  }
  uses ref
  t jumps-bitwise "a birth-death run restarted at step 60 equals the uninterrupted run bitwise, its jumps and energy balance too" bash -c "
    $PGFLOW $e3 $bd -ts_max_steps 150 -output $tmp/ck.h5 -restart $tmp/ck.ckpt.h5 >/dev/null || exit 1
    same x $tmp/ref.h5 $tmp/ck.h5 0 && $RESULTS compare $tmp/ref.h5 $tmp/ck.h5 /history/jump_change 0 &&
      [ \$(analysis/pgf-python analysis/pgfresults.py $tmp/ref.h5 /stats energy_mismatch) = \$(analysis/pgf-python analysis/pgfresults.py $tmp/ck.h5 /stats energy_mismatch) ]"
  t langevin-bitwise "a Langevin run restarted at step 120 equals the uninterrupted run bitwise" bash -c "
    $PGFLOW $e3 $euler -reg l2 -lambda 0.01 -temperature 1e-3 -ts_max_steps 300 -output $tmp/lck.h5 -restart $tmp/lck.ckpt.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/lref.h5 $tmp/lck.h5 /final/w 0 && $RESULTS compare $tmp/lref.h5 $tmp/lck.h5 /final/theta 0"

group balance
  t jumps-apart "the energy balance holds for the flow apart from the jumps' change of F (E3 relu, rk, to 1e-2, the warning's threshold)" bash -c "
    $PGFLOW $e3 -birth_death_rate 5 -output $tmp/b.h5 | tee $tmp/b.log || exit 1
    grep -q 'of which the jumps' $tmp/b.log && [ \$(analysis/pgf-python analysis/pgfresults.py $tmp/b.h5 /stats energy_warning) = 0.0 ] &&
      awk -v x=\$(analysis/pgf-python analysis/pgfresults.py $tmp/b.h5 /stats energy_mismatch) 'BEGIN { exit !(x < 1e-2) }'"
  # Fixed Euler steps: the jumps are decided from the evaluation the step
  # made at its start, so a step with jumps costs one evaluation, as one
  # without; F before the jumps is then known only by one evaluation more
  # (-birth_death_balance), which changes nothing else.
  euler_runs() {
    $PGFLOW $e3 $euler -output "$tmp/e0.h5" >/dev/null 2>&1
    $PGFLOW $e3 $euler $bd -output "$tmp/e1.h5" >"$tmp/e1.log" 2>&1
    $PGFLOW $e3 $euler $bd -birth_death_balance -output "$tmp/eb.h5" >"$tmp/eb.log" 2>&1
  }
  uses euler_runs
  t euler-one-evaluation "birth-death with fixed Euler steps: one evaluation per step, as without jumps" bash -c "
    $RESULTS compare $tmp/e0.h5 $tmp/e1.h5 /history/rhs_evals 0 && ! $RESULTS compare $tmp/e0.h5 $tmp/e1.h5 /history/births 0 >/dev/null"
  t euler-unmeasured "without -birth_death_balance: jump_change NaN at the steps whose jumps moved particles, 0 elsewhere; the energy balance not applicable, its mismatch NaN" bash -c "
    grep -q 'the jumps. change of F is not measured' $tmp/e1.log && [ \$(analysis/pgf-python analysis/pgfresults.py $tmp/e1.h5 /stats energy_mismatch) = nan ] &&
      $PY -c '
import h5py, numpy as np, sys
h = h5py.File(sys.argv[1], \"r\")[\"history\"]
jumped, change = (h[\"births\"][:] + h[\"deaths\"][:]) > 0, h[\"jump_change\"][:]
assert np.isnan(change).any() and not np.isnan(change[~jumped]).any() and (change[~np.isnan(change)] == 0).all()
' $tmp/e1.h5"
  t euler-balance "-birth_death_balance: the same trajectory and jumps bit for bit, one evaluation more per step with jumps, the flow's energy balance to 1e-2" bash -c "
    same x $tmp/e1.h5 $tmp/eb.h5 0 && grep -q 'of which the jumps' $tmp/eb.log &&
      awk -v x=\$(analysis/pgf-python analysis/pgfresults.py $tmp/eb.h5 /stats energy_mismatch) 'BEGIN { exit !(x < 1e-2) }' &&
      $PY -c '
import h5py, numpy as np, sys
a, b = (h5py.File(f, \"r\")[\"history\"] for f in sys.argv[1:])
moved = np.isnan(a[\"jump_change\"][:])  # the steps whose jumps moved a particle
extra = b[\"rhs_evals\"][:] - a[\"rhs_evals\"][:]
assert (extra == np.cumsum(moved)).all(), (extra[-5:], np.cumsum(moved)[-5:])
assert np.isfinite(b[\"jump_change\"][:]).all()
' $tmp/e1.h5 $tmp/eb.h5"
  uses
  # E1 at m = 10, seed 0: a birth at t = 1.30 copies a particle that carries
  # a whole spike; the pair splits at a rate the step must shrink to, which
  # took more than PETSc's default of 10 rejected attempts (it ended as
  # diverged before -ts_max_reject's default was raised with birth-death).
  t rosw-after-jump "birth-death on E1 (m = 10) with the default Rosenbrock steps runs through the transient after a jump" bash -c "
    $PGFLOW -options_file jobs/e1-small.opts -particles 10 -birth_death_rate 1 -ts_max_time 5 -output $tmp/r.h5 >/dev/null &&
      [ \$($RESULTS attr $tmp/r.h5 stop_reason) = max_time ] && $PY -c 'import h5py, sys; assert h5py.File(sys.argv[1], \"r\")[\"history/births\"][:].sum() > 0' $tmp/r.h5"
  t euler-and-conic "birth-death with fixed Euler steps and with -dynamics conic on deconvolution (E1, rosw)" bash -c "
    $PGFLOW $e3 $bd $euler -output $tmp/e.h5 >/dev/null &&
      $PGFLOW -options_file jobs/e1-small.opts -dynamics conic -particles 30 -ts_max_time 50 -birth_death_rate 5 -output $tmp/c.h5 >/dev/null"

group statistics
  # With a data term that does not depend on the particles (tanh, inputs
  # all 0: s(0) = 0), V_i = (lambda/2) |u_i|^2 up to a constant, and the
  # first variation at the state the first step starts from is known: its
  # initial particles, w_i = 0 and theta_i ~ N(0, r0^2 I). The births and
  # deaths of that step, summed over 10 seeds of m = 2000 particles, are
  # sums of independent Bernoulli draws with p_i = 1 - exp(-A dt |V_i -
  # Vbar|) (doc/math.md section 2.6): each count must lie within 4
  # standard deviations of its mean (a correct implementation fails with
  # probability below 1e-4), and the same counts must be far (more than 8
  # standard deviations) from those of the state the step reached,
  # (1 - lambda dt) u_i(0): the test sees which state the jumps use.
  uses zeros
  t binomial "births and deaths of one step against their probabilities at the step's start (10 seeds, m = 2000, 4 standard deviations)" bash -c "
    for s in 0 1 2 3 4 5 6 7 8 9; do
      $PGFLOW $flat -activation tanh -lambda 20 -data $tmp/zeros.h5 -particles 2000 -init_scale 2 $euler -ts_max_steps 1 -birth_death_rate 0.5 -seed \$s -snapshots 2 -output $tmp/s\$s.h5 >/dev/null || exit 1
    done
    $PY - $tmp <<'EOF'
import sys, h5py, numpy as np
lam, dt, A = 20.0, 0.01, 0.5
def z_scores(scale):
    mean = {'births': 0.0, 'deaths': 0.0}; var = dict(mean); count = dict(mean)
    for s in range(10):
        with h5py.File('%s/s%d.h5' % (sys.argv[1], s), 'r') as f:
            u = scale * np.column_stack([f['snapshots/w'][0], f['snapshots/theta'][0]])
            V = 0.5 * lam * (u * u).sum(axis=1)
            beta = A * dt * (V - V.mean())
            p = -np.expm1(-np.abs(beta))
            for name, side in (('births', beta < 0), ('deaths', beta > 0)):
                mean[name] += p[side].sum(); var[name] += (p * (1 - p))[side].sum()
                count[name] += f['history/' + name][0]
    for name in mean:
        print('%s: %d, expected %.1f +- %.1f' % (name, count[name], mean[name], np.sqrt(var[name])))
    return [(count[k] - mean[k]) / np.sqrt(var[k]) for k in mean]
start, reached = z_scores(1.0), z_scores(1 - lam * dt)
print('z at the start', start, 'z at the state reached', reached)
assert max(abs(z) for z in start) < 4 and min(abs(z) for z in reached) > 8
EOF"

group langevin
  # Inputs all 0: v(u) = lambda u, and the Euler-Maruyama chain u <- (1 -
  # lambda dt) u + sqrt(2 T dt) xi has the Gaussian stationary law of
  # variance T / (lambda (1 - lambda dt / 2)) per coordinate (T / lambda as
  # dt -> 0). After t = 10 / lambda (the initial variance is left at a
  # factor e^-20) the 3 m coordinates of m = 1000 particles, independent,
  # must pass a Kolmogorov-Smirnov test against it at level 1%.
  uses zeros
  t stationary-ks "Langevin at T = 0.5, lambda = 1: the particles after t = 10 pass a KS test against N(0, T / lambda) (m = 1000, level 1%)" bash -c "
    $PGFLOW $flat -data $tmp/zeros.h5 -particles 1000 $euler -ts_max_time 10 -temperature 0.5 -output $tmp/k.h5 >/dev/null || exit 1
    $PY - $tmp/k.h5 <<'EOF'
import sys, h5py, numpy as np
from scipy import stats
T, lam, dt = 0.5, 1.0, 0.01
with h5py.File(sys.argv[1], 'r') as f:
    x = np.concatenate([f['final/w'][:], f['final/theta'][:].ravel()])
sd = np.sqrt(T / (lam * (1 - lam * dt / 2)))
res = stats.kstest(x / sd, 'norm')
print('KS statistic %.4f, p-value %.3f over %d coordinates' % (res.statistic, res.pvalue, x.size))
assert res.pvalue > 0.01
wrong = stats.kstest(x / np.sqrt(2 * T / lam), 'norm')
assert wrong.pvalue < 0.01  # the test has the power to see a factor 2 in the variance
EOF"

group refuse
  input_error temperature-rk "-temperature with rk" "-temperature needs -ts_type euler with a fixed -ts_dt" $PGFLOW $e3 -reg l2 -lambda 0.1 -temperature 0.1
  input_error temperature-armijo "-temperature with the Armijo step" "-temperature needs -ts_type euler with a fixed -ts_dt" $PGFLOW $e3 -ts_type euler -ts_adapt_type armijo -reg l2 -lambda 0.1 -temperature 0.1
  input_error temperature-no-l2 "-temperature without l2" "-temperature needs -reg l2" $PGFLOW $e3 $euler -temperature 0.1
  input_error temperature-deconv "-temperature with deconvolution" "-temperature is not available with -problem deconv" $PGFLOW -problem deconv $euler -temperature 0.1
  input_error temperature-conic "-temperature with the conic dynamics" "-temperature needs -dynamics wasserstein" $PGFLOW $e3 $euler -reg l2 -lambda 0.1 -dynamics conic -temperature 0.1
  input_error temperature-negative "-temperature -1" "-temperature must be a number" $PGFLOW $e3 -temperature -1
  input_error rate-negative "-birth_death_rate -1" "-birth_death_rate must be a number" $PGFLOW $e3 -birth_death_rate -1
  input_error balance-without-rate "-birth_death_balance without jumps" "-birth_death_balance needs -birth_death_rate > 0" $PGFLOW $e3 -birth_death_balance
  input_error rate-population "birth-death on the population loss" "-birth_death_rate needs the first variation" $PGFLOW -problem twolayer -population true -birth_death_rate 1
