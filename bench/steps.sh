#!/bin/bash
# The cost of a step of the stochastic dynamics against the plain step
# (doc/performance.md, "Stochastic dynamics"): E3 relu at m = 4096 on 2
# ranks, fixed Euler steps, wall time per step of the flow (/stats
# wall_seconds / steps, set-up excluded) with birth-death (-birth_death_rate
# 1) against without, and the Langevin step (-temperature) against the
# Euler step with the same ridge. The variants run in turn, REPS times, and
# each keeps its fastest: a ratio measured on a shared machine is
# meaningful, an absolute time less so.
# Usage: bash bench/steps.sh OUT.json   (MPIEXEC, PGFLOW and REPS from the environment)
set -eu
out=${1:?usage: bash bench/steps.sh OUT.json}
MPIEXEC=${MPIEXEC:-mpiexec}
PGFLOW=${PGFLOW:-bin/pgflow}
REPS=${REPS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

base="-options_file jobs/e3-relu-small.opts -particles 4096 -ts_type euler -ts_dt 0.5 -ts_max_steps 200 -snapshots 2 -stop_loss 0"
ridge="-reg l2 -lambda 1e-3"
names=(euler birth_death euler_l2 langevin)
options=("" "-birth_death_rate 1" "$ridge" "$ridge -temperature 1e-5")

for _ in $(seq "$REPS"); do
  for k in "${!names[@]}"; do
    # shellcheck disable=SC2086  # the options are words
    $MPIEXEC -n 2 $PGFLOW $base ${options[$k]} -output "$tmp/${names[$k]}.h5" >/dev/null
    analysis/pgf-python - "$tmp/${names[$k]}.h5" "${names[$k]}" >>"$tmp/times" <<'EOF'
import sys, h5py
s = h5py.File(sys.argv[1], 'r')['/stats'].attrs
print(sys.argv[2], s['wall_seconds'] / s['steps'], s['rhs_evals'] / s['steps'])
EOF
  done
done

analysis/pgf-python - "$tmp/times" "$out" <<'EOF'
import sys, json
best, evals = {}, {}
for line in open(sys.argv[1]):
    name, t, e = line.split()
    best[name] = min(best.get(name, float('inf')), float(t))
    evals[name] = float(e)
rows = [('birth_death', 'euler', 'birth-death (-birth_death_rate 1) against Euler'),
        ('langevin', 'euler_l2', 'Langevin (-temperature 1e-5) against Euler, -reg l2')]
result = {'case': 'E3 relu, m = 4096, 2 ranks, -ts_dt 0.5, 200 steps', 'seconds_per_step': best, 'rhs_evals_per_step': evals}
print('%-50s %12s %12s %8s %10s' % ('stochastic step', 's/step', 'plain s/step', 'ratio', 'evals/step'))
for name, plain, text in rows:
    ratio = best[name] / best[plain]
    result[name + '_ratio'] = ratio
    print('%-50s %12.4e %12.4e %8.3f %10.3f' % (text, best[name], best[plain], ratio, evals[name]))
json.dump(result, open(sys.argv[2], 'w'), indent=1)
EOF
