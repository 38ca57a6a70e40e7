# Tests of Sliding Frank-Wolfe (-baseline sfw, doc/math.md section 6.3): its
# optimum against the particle flow's on E1 seeds, its gap certified at
# every iterate, the particle run's file layout, E2, ranks, signals,
# checkpoints and restarts, and refusals.
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, t, np, group, uses come from tests/lib.sh

e1=(-options_file jobs/e1-small.opts)
e2=(-options_file jobs/e2-small.opts)

group optimum
  # The flow (rosw, signed_square, m = 100) and SFW both to a gap below
  # 1e-12 on three E1 seeds: the same F* to 1e-9 (both are within 1e-12).
  for seed in 0 1 2; do
    t "e1-seed-$seed" "E1 seed $seed: SFW's F equals the particle flow's to 1e-9, both certified below 1e-12" bash -c "
      $PGFLOW ${e1[*]} -seed $seed -output $tmp/f$seed.h5 >/dev/null && $PGFLOW ${e1[*]} -seed $seed -baseline sfw -output $tmp/s$seed.h5 >/dev/null || exit 1
      $RESULTS compare $tmp/f$seed.h5 $tmp/s$seed.h5 /final/loss 1e-9 &&
        below \$($RESULTS get $tmp/s$seed.h5 /snapshots/gap) 1e-12 && below \$($RESULTS get $tmp/f$seed.h5 /snapshots/gap) 1e-12 &&
        [ \$($RESULTS attr $tmp/s$seed.h5 stop_reason) = stop_gap ] && [ \$($RESULTS attr $tmp/s$seed.h5 completed) = 1 ]"
  done

group layout
  run() { $PGFLOW "${e1[@]}" -baseline sfw -output "$tmp/s.h5" >"$tmp/log" 2>&1; }
  uses run
  t check "the results file passes t_results check (snapshots, history, final, stats of a particle run)" $RESULTS check "$tmp/s.h5"
  t every-iterate "one snapshot per iterate, each with its certified gap (>= 0), the last below -stop_gap" bash -c "
    analysis/pgf-python -c '
import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], \"r\")
t, gap, w = f[\"/snapshots/t\"][:], f[\"/snapshots/gap\"][:], f[\"/snapshots/w\"][:]
assert np.all(t == np.arange(len(t))), t
assert np.all(gap >= 0) and gap[-1] < 1e-12, gap
assert w.shape[1] == f.attrs[\"particles\"] and np.all(w[0] == 0)
assert f[\"/stats\"].attrs[\"spikes\"] == np.count_nonzero(f[\"/final/w\"][:])
' $tmp/s.h5"
  t work "/stats: evaluations, spike evaluations, one certificate per snapshot" bash -c "
    analysis/pgf-python -c '
import h5py, sys
f = h5py.File(sys.argv[1], \"r\")
s = f[\"/stats\"].attrs
assert 0 < s[\"rhs_evals\"] <= s[\"spike_evals\"] and s[\"certificates\"] == len(f[\"/snapshots/t\"]), dict(s)
' $tmp/s.h5"
  uses
  t max-it "-sfw_max_it 2 stops after 2 iterations (max_steps, 3 snapshots)" bash -c "
    $PGFLOW ${e1[*]} -baseline sfw -sfw_max_it 2 -output $tmp/m.h5 >/dev/null || exit 1
    [ \$($RESULTS attr $tmp/m.h5 stop_reason) = max_steps ] && [ \$($RESULTS get $tmp/m.h5 /final/t) = 2 ]"
  t blmvm "-sfw_tao_type blmvm reaches the same optimum to 1e-9" bash -c "
    $PGFLOW ${e1[*]} -baseline sfw -sfw_tao_type blmvm -output $tmp/b.h5 >/dev/null && $PGFLOW ${e1[*]} -baseline sfw -output $tmp/q.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/b.h5 $tmp/q.h5 /final/loss 1e-9"

group torus-2
  t e2-flow "E2 (2-torus): SFW's F equals the particle flow's to 1e-9" bash -c "
    $PGFLOW ${e2[*]} -stop_gap 1e-11 -output $tmp/f.h5 >/dev/null && $PGFLOW ${e2[*]} -baseline sfw -stop_gap 1e-11 -output $tmp/s.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/f.h5 $tmp/s.h5 /final/loss 1e-9 && below \$($RESULTS get $tmp/s.h5 /snapshots/gap) 1e-11"

group ranks
  # Every rank runs the same sequential solves: identical results.
  t e2-1-2-3 "SFW on E2 on 1, 2 and 3 ranks: the same spikes bit for bit" bash -c "
    for n in 1 2 3; do $MPIEXEC -n \$n $PGFLOW ${e2[*]} -baseline sfw -output $tmp/r\$n.h5 >/dev/null || exit 1; done
    for n in 2 3; do $RESULTS compare $tmp/r1.h5 $tmp/r\$n.h5 /final/w 0 && $RESULTS compare $tmp/r1.h5 $tmp/r\$n.h5 /final/theta 0 || exit 1; done"

group signal
  # With -stop_gap 0 SFW runs until -sfw_max_it; SIGTERM once it has
  # written iterates (a line, not a delay) stops it after the current one.
  t sigterm "SIGTERM: exit 4, stop_reason signal, completed 0, a complete results file and a checkpoint" bash -c "
    $PGFLOW ${e1[*]} -baseline sfw -stop_gap 0 -sfw_max_it 100000000 -output $tmp/g.h5 >$tmp/g.log 2>&1 &
    pid=\$!
    for ((i = 0; i < 6000; i++)); do grep -q '^sfw 3 ' $tmp/g.log && break; sleep 0.05; done
    kill -TERM \$pid; wait \$pid; rc=\$?
    [ \$rc = 4 ] && $RESULTS check $tmp/g.h5 && [ \$($RESULTS attr $tmp/g.h5 stop_reason) = signal ] && [ \$($RESULTS attr $tmp/g.h5 completed) = 0 ] &&
      [ -f $tmp/g.ckpt.h5 ] && grep -q 'checkpoint written to $tmp/g.ckpt.h5 at iteration' $tmp/g.log"

group restart
  # SFW is deterministic and every rank runs the same solves: a run stopped
  # and continued from its checkpoint equals the uninterrupted one bit for
  # bit, its iterates and work counters too.
  identical() {
    for d in /final/w /final/theta /final/loss /final/t /snapshots/gap /snapshots/w /history/loss /history/dissipation /history/rhs_evals; do $RESULTS compare "$1" "$2" $d 0 >/dev/null || { echo "$d differs"; return 1; }; done
    analysis/pgf-python -c '
import h5py, sys
a, b = (h5py.File(p, "r")["/stats"].attrs for p in sys.argv[1:])
assert all(a[k] == b[k] for k in ("rhs_evals", "spike_evals", "certificates", "steps", "spikes")), (dict(a), dict(b))
' "$1" "$2"
  }
  export -f identical
  full() { $PGFLOW "${e1[@]}" -baseline sfw -output "$tmp/full.h5" >/dev/null 2>&1; }
  uses full
  for n in 1 2; do
    t "max-it-then-$n-ranks" "stopped by -sfw_max_it 2 with a checkpoint at every iterate, continued on $n rank(s) with -sfw_max_it 1000: the uninterrupted run bit for bit, appended to the same file" bash -c "
      $PGFLOW ${e1[*]} -baseline sfw -sfw_max_it 2 -checkpoint_interval 1e-9 -output $tmp/m$n.h5 >/dev/null || exit 1
      $MPIEXEC -n $n $PGFLOW ${e1[*]} -baseline sfw -output $tmp/m$n.h5 -restart $tmp/m$n.ckpt.h5 >$tmp/m$n.log || exit 1
      grep -q 'results appended to $tmp/m$n.h5' $tmp/m$n.log && identical $tmp/full.h5 $tmp/m$n.h5 && $RESULTS check $tmp/m$n.h5 && [ \$($RESULTS attr $tmp/m$n.h5 completed) = 1 ]"
  done
  t new-output "-restart with -new_output: a new results file from the checkpoint's iterate on, the same final state" bash -c "
    $PGFLOW ${e1[*]} -baseline sfw -sfw_max_it 3 -checkpoint_interval 1e-9 -output $tmp/n.h5 >/dev/null || exit 1
    $PGFLOW ${e1[*]} -baseline sfw -output $tmp/n2.h5 -restart $tmp/n.ckpt.h5 -new_output >/dev/null || exit 1
    $RESULTS compare $tmp/full.h5 $tmp/n2.h5 /final/w 0 && $RESULTS compare $tmp/full.h5 $tmp/n2.h5 /final/theta 0 && analysis/pgf-python -c 'import h5py, sys; assert list(h5py.File(sys.argv[1], \"r\")[\"/snapshots/t\"][:]) == [3, 4, 5]' $tmp/n2.h5"
  uses
  # SIGUSR1 mid-run (after a line, not a delay) at iteration k: continued
  # to k + 3, the run of k + 3 iterations bit for bit.
  t sigusr1-restart "SIGUSR1 mid-run: exit 4 with a checkpoint; continued, the uninterrupted run of as many iterations bit for bit" bash -c "
    $PGFLOW ${e1[*]} -baseline sfw -stop_gap 0 -sfw_max_it 100000000 -output $tmp/u.h5 >$tmp/u.log 2>&1 &
    pid=\$!
    for ((i = 0; i < 6000; i++)); do grep -q '^sfw 6 ' $tmp/u.log && break; sleep 0.05; done
    kill -USR1 \$pid; wait \$pid; rc=\$?
    [ \$rc = 4 ] && [ -f $tmp/u.ckpt.h5 ] && $RESULTS check $tmp/u.h5 || exit 1
    k=\$($RESULTS get $tmp/u.h5 /final/t)
    $PGFLOW ${e1[*]} -baseline sfw -stop_gap 0 -sfw_max_it \$((k + 3)) -output $tmp/u.h5 -restart $tmp/u.ckpt.h5 >/dev/null || exit 1
    $PGFLOW ${e1[*]} -baseline sfw -stop_gap 0 -sfw_max_it \$((k + 3)) -output $tmp/v.h5 >/dev/null || exit 1
    identical $tmp/v.h5 $tmp/u.h5"

group refusals
  input_error twolayer "-baseline sfw with -problem twolayer" "-baseline sfw needs -problem deconv" $PGFLOW -problem twolayer -baseline sfw
  input_error max-it "-sfw_max_it -1" "-sfw_max_it" $PGFLOW "${e1[@]}" -baseline sfw -sfw_max_it -1
  checkpoints() {
    $PGFLOW "${e1[@]}" -baseline sfw -sfw_max_it 1 -checkpoint_interval 1e-9 -output "$tmp/s.h5" >/dev/null 2>&1
    $PGFLOW "${e1[@]}" -ts_max_steps 2 -checkpoint_interval 1e-9 -output "$tmp/f.h5" >/dev/null 2>&1
  }
  uses checkpoints
  input_error flow-from-sfw "a particle flow restarted from an SFW checkpoint" "the checkpoint is of Sliding Frank-Wolfe (-baseline sfw), these options run a particle flow" $PGFLOW "${e1[@]}" -restart "$tmp/s.ckpt.h5" -new_output
  input_error sfw-from-flow "SFW restarted from a particle flow's checkpoint" "the checkpoint is of a particle flow (a run without -baseline sfw), these options run Sliding Frank-Wolfe" $PGFLOW "${e1[@]}" -baseline sfw -restart "$tmp/f.ckpt.h5" -new_output
  input_error tao-type "SFW restarted with another -sfw_tao_type" "the checkpoint was written with -sfw_tao_type bqnls" $PGFLOW "${e1[@]}" -baseline sfw -sfw_tao_type blmvm -restart "$tmp/s.ckpt.h5" -new_output
  uses
