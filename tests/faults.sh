# Tests of pgflow at its edges (sourced by tests/run): every failure ends
# with one of the statuses 0-4 and one line of pgflow's own; a mistake is
# refused before any work; no input is overwritten; a signal at any moment
# leaves a checkpoint and a readable results file. Nothing here waits a
# fixed time: each test waits for a condition (a line, a file, a handler).
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, t, np, group, uses come from tests/lib.sh

fsmall="-problem twolayer -dim 3 -samples 200 -teacher_neurons 3 -particles 20"
PY=analysis/pgf-python

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds, for at most
# SECONDS (a bound on a broken run, not an assumption about speed).
wait_for() {
  local n=$(($1 * 20))
  shift
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}
# catches PID SIGNUM: the process runs pgflow (not the shell forked to start
# it: a bash with an EXIT trap catches SIGTERM too, until its exec) and has
# installed a handler for the signal.
catches() {
  local mask
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = pgflow ] || return 1
  mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
  [ -n "$mask" ] && (((16#$mask >> ($2 - 1)) & 1))
}
logged_line() { grep -q -- "$2" "$1" 2>/dev/null; }
# one_line FILE PATTERN: FILE is exactly one line matching PATTERN, with no trace.
one_line() { cat "$1"; [ "$(wc -l <"$1")" -eq 1 ] && grep -q -- "$2" "$1" && ! grep -q "PETSC ERROR" "$1"; }
export -f one_line
# stopped_by_signal OUT: exit 4 recorded in OUT.log, results file readable
# with completed 0 and stop_reason signal, a checkpoint that restarts.
stopped_by_signal() {
  local out=$1 ckpt=${1%.h5}.ckpt.h5
  cat "$out.log"
  grep -q '^exit 4$' "$out.log" && [ -f "$ckpt" ] && $RESULTS check "$out" &&
    [ "$($RESULTS attr "$out" completed)" = 0 ] && [ "$($RESULTS attr "$out" stop_reason)" = signal ]
}
export -f stopped_by_signal
export RESULTS

group signal
  # A signal at each phase of a run: set-up (before the results file
  # exists), the start-up baseline solve, the integration, the final
  # spectrum. run_and_signal SIGNAL CONDITION OUT ARGS...: starts pgflow,
  # waits for CONDITION (a shell test of $pid and $log), signals it.
  run_and_signal() {
    local sig=$1 cond=$2 out=$3
    shift 3
    rm -f "$out" "${out%.h5}.ckpt.h5"
    $PGFLOW "$@" -output "$out" >"$out.log" 2>&1 &
    local pid=$! log=$out.log
    wait_for 120 eval "$cond"
    kill -s "$sig" $pid
    wait $pid
    echo "exit $?" >>"$out.log"
  }
  term_setup() { run_and_signal TERM 'catches $pid 15' "$tmp/sig-setup.h5" -samples 2000000 -dim 10 -particles 10 -ts_max_time 1; }
  uses term_setup
  t sigterm-during-setup "SIGTERM during set-up: exit 4, results file with completed 0, checkpoint" \
    stopped_by_signal "$tmp/sig-setup.h5"
  t setup-checkpoint-restarts "the set-up checkpoint restarts and completes" bash -c "
    $PGFLOW -samples 2000000 -dim 10 -particles 10 -ts_max_time 1 -output $tmp/sig-setup.h5 -restart $tmp/sig-setup.ckpt.h5 >/dev/null &&
      [ \$($RESULTS attr $tmp/sig-setup.h5 completed) = 1 ]"
  term_baseline() { run_and_signal TERM 'logged_line $log "^t 0"' "$tmp/sig-base.h5" -dim 20 -samples 4000 -particles 3000 -baseline rf -ts_max_time 1; }
  uses term_baseline
  t sigterm-during-baseline "SIGTERM during the -baseline rf solve: exit 4, /baseline written, checkpoint" bash -c "
    stopped_by_signal $tmp/sig-base.h5 && $RESULTS get $tmp/sig-base.h5 /baseline/loss"
  term_spectrum() { run_and_signal TERM 'logged_line $log "^spectrum: eigenvalues"' "$tmp/sig-spec.h5" -dim 20 -samples 2000 -particles 150 -spectrum -ts_max_steps 3; }
  uses term_spectrum
  t sigterm-during-spectrum "SIGTERM during the final -spectrum: exit 4, /final written, checkpoint" bash -c "
    stopped_by_signal $tmp/sig-spec.h5 && $RESULTS get $tmp/sig-spec.h5 /final/t"
  int_steps() { run_and_signal INT 'logged_line $log "^t .* step  *[1-9]"' "$tmp/sig-int.h5" $fsmall -ts_max_time 1e6; }
  uses int_steps
  t sigint-during-steps "SIGINT during the steps: exit 4, checkpoint, completed 0" stopped_by_signal "$tmp/sig-int.h5"

group nonfinite
  # Non-finite states end with status 3 and the last finite state kept;
  # inputs that overflow at the start are refused (2).
  t rk5dp-overflow "adaptive rk 5dp with -ts_dt 1e5: exit 3, finite final state, readable file" bash -c "
    $PGFLOW $fsmall -ts_rk_type 5dp -ts_dt 1e5 -ts_max_time 1e7 -output $tmp/nf.h5 >/dev/null 2>$tmp/nf.err; rc=\$?
    one_line $tmp/nf.err 'non-finite' && [ \$rc = 3 ] && $RESULTS check $tmp/nf.h5 && [ \$($RESULTS attr $tmp/nf.h5 stop_reason) = nonfinite ] &&
      $PY -c 'import h5py, numpy, sys; f = h5py.File(sys.argv[1]); sys.exit(not numpy.isfinite(f[\"/final/theta\"][:]).all())' $tmp/nf.h5"
  t bdf-overflow "implicit bdf with -ts_dt 1e5 ends with a documented status and at most one line, never a trace" bash -c "
    $PGFLOW $fsmall -ts_type bdf -ts_dt 1e5 -ts_max_time 1e7 -ts_max_steps 50 -output $tmp/nfb.h5 >/dev/null 2>$tmp/nfb.err; rc=\$?
    cat $tmp/nfb.err; [ \$rc -le 3 ] && [ \$(wc -l <$tmp/nfb.err) -le 1 ] && ! grep -q 'PETSC ERROR' $tmp/nfb.err && $RESULTS check $tmp/nfb.h5"
  # Damaged checkpoints: a NaN particle, a NaN time.
  damaged_checkpoints() {
    $PGFLOW $fsmall -ts_max_steps 5 -checkpoint_interval 1e-9 -output "$tmp/good.h5" >/dev/null 2>&1
    $PY - "$tmp" <<'PY'
import shutil, sys, h5py, numpy as np
d = sys.argv[1]
for name, path, value in (("nanu", "U", None), ("nant", "state/t", np.nan), ("tiny", "state/dt", 1e-300)):
    shutil.copy(f"{d}/good.ckpt.h5", f"{d}/{name}.ckpt.h5")
    with h5py.File(f"{d}/{name}.ckpt.h5", "r+") as f:
        if value is None:
            u = f[path][...]; u[3, 1] = np.nan; f[path][...] = u
        else:
            f[path][...] = value
        if name == "tiny":
            f["state/t"][...] = 1.0
PY
  }
  bad_inputs
  # A step below the resolution of t: time stops advancing; the run says so.
  uses damaged_checkpoints
  t time-stalls "time that stops advancing ends the run (exit 1, one line)" bash -c "
    $PGFLOW $fsmall -restart $tmp/tiny.ckpt.h5 -new_output -output $tmp/stall.h5 >/dev/null 2>$tmp/stall.err; rc=\$?
    one_line $tmp/stall.err 'time stopped advancing' && [ \$rc = 1 ] && [ \$($RESULTS attr $tmp/stall.h5 stop_reason) = stalled ]"

group overwrite
  # No output may overwrite an input, whatever the path says.
  inputs() {
    $PY -c "
import h5py, numpy as np
X = np.random.default_rng(0).standard_normal((50, 3))
with h5py.File('$tmp/in.h5', 'w') as f: f['X'] = X; f['y'] = X[:, 0]"
    cp "$tmp/in.h5" "$tmp/in-copy.h5"
    ln -sf "$tmp/in.h5" "$tmp/in-link.h5"
    $PGFLOW $fsmall -ts_max_steps 5 -checkpoint_interval 1e-9 -output "$tmp/ow.h5" >/dev/null 2>&1
    cp "$tmp/ow.ckpt.h5" "$tmp/ow-copy.ckpt.h5"
  }
  uses inputs
  overwrite() {
    local slug=$1 name=$2 expect=$3 input=$4
    shift 4
    t "$slug" "$name: exit 2, one line, the input untouched" bash -c '
      expect=$1; input=$2; shift 2
      sum=$(md5sum <"$input"); "$@" >/dev/null 2>"$input.err"; rc=$?
      one_line "$input.err" "$expect" && [ $rc = 2 ] && [ "$(md5sum <"$input")" = "$sum" ]' _ "$expect" "$input" "$@"
  }
  overwrite output-is-data "-output equal to -data" "is the -data file" "$tmp/in.h5" $PGFLOW -data "$tmp/in.h5" -output "$tmp/in.h5"
  overwrite output-is-data-link "-output equal to -data through a symbolic link" "is the -data file" "$tmp/in.h5" $PGFLOW -data "$tmp/in-link.h5" -output "$tmp/in.h5"
  overwrite output-is-data-other-path "-output equal to -data through another path" "is the -data file" "$tmp/in.h5" $PGFLOW -data "$tmp/../$(basename "$tmp")/in.h5" -output "$tmp/in.h5"
  overwrite output-is-restart "-output equal to -restart" "is the -restart file" "$tmp/ow.ckpt.h5" $PGFLOW $fsmall -restart "$tmp/ow.ckpt.h5" -output "$tmp/ow.ckpt.h5"
  overwrite checkpoint-is-output "-checkpoint equal to -output" "is the -output file" "$tmp/ow.h5" $PGFLOW $fsmall -output "$tmp/ow.h5" -checkpoint "$tmp/./ow.h5"
  overwrite checkpoint-is-data "-checkpoint equal to -data" "is the -data file" "$tmp/in.h5" $PGFLOW -data "$tmp/in.h5" -output "$tmp/o2.h5" -checkpoint "$tmp/in.h5"
  t checkpoint-is-restart "-checkpoint equal to -restart is the requeue case and works" \
    $PGFLOW $fsmall -ts_max_steps 8 -output "$tmp/ow.h5" -restart "$tmp/ow-copy.ckpt.h5" -checkpoint "$tmp/ow-copy.ckpt.h5"

  # Two runs on one results file: the second is refused while the first
  # holds the lock; the first then ends normally. The second run is tried
  # while the first runs, its status kept for the case.
  two_runs() {
    rm -f "$tmp/lock.h5"
    $PGFLOW $fsmall -ts_max_time 1e6 -output "$tmp/lock.h5" >"$tmp/lock.log" 2>&1 &
    local first=$!
    wait_for 60 logged_line "$tmp/lock.log" "^t .* step  *[1-9]"
    $PGFLOW $fsmall -ts_max_time 1 -output $tmp/lock.h5 >/dev/null 2>$tmp/lock2.err
    echo $? >"$tmp/lock2.rc"
    kill -TERM $first
    wait $first
    echo $? >"$tmp/lock.rc"
  }
  uses two_runs
  t second-writer-refused "a second run writing the same -output is refused (exit 2, one line)" bash -c "
    rc=\$(cat $tmp/lock2.rc)
    one_line $tmp/lock2.err 'another pgflow run is writing .*lock.h5' && [ \$rc = 2 ]"
  t first-writer-unharmed "the first run is unharmed (exit 4 on SIGTERM, file readable)" bash -c "
    [ \$(cat $tmp/lock.rc) = 4 ] && $RESULTS check $tmp/lock.h5"
  # A crash leaves no stuck lock.
  crash() {
    $PGFLOW $fsmall -ts_max_time 1e6 -output "$tmp/lock.h5" >"$tmp/lock3.log" 2>&1 &
    local crashed=$!
    wait_for 60 logged_line "$tmp/lock3.log" "^t .* step  *[1-9]"
    kill -9 $crashed
    wait $crashed 2>/dev/null
  }
  uses crash
  t lock-gone-after-kill "after kill -9 of the writer the lock is gone: a new run completes" \
    $PGFLOW $fsmall -ts_max_time 1 -output "$tmp/lock.h5"

group typo
  # A typo is refused before any work starts, naming the closest option.
  options_files() {
    printf -- '-particles 5\nnot an option\n' >"$tmp/garbage.opts"
    printf '\x00\x01\x02binary' >"$tmp/binary.opts"
    printf -- '-particles 5\n-options_file %s\n' "$tmp/self.opts" >"$tmp/self.opts"
    printf -- '-options_file %s\n' "$tmp/cycle-b.opts" >"$tmp/cycle-a.opts"
    printf -- '-options_file %s\n' "$tmp/cycle-a.opts" >"$tmp/cycle-b.opts"
  }
  for h in -help --help -h; do
    slug=${h#-}
    t "${slug/#-/double-dash-}" "$h prints the help, runs nothing, exits 0" bash -c "
      cd $tmp && \"$PWD/$PGFLOW\" $h >$tmp/help.out 2>&1 && grep -Eq -- '-particles:? <now 100' $tmp/help.out && [ ! -e $tmp/pgflow.h5 ]"
  done
  t petsc-options-garbage "garbage in PETSC_OPTIONS is refused (exit 2, one line)" bash -c "
    PETSC_OPTIONS='-particles 5 garbage' $PGFLOW -output $tmp/po.h5 >/dev/null 2>$tmp/po.err; rc=\$?
    one_line $tmp/po.err 'PETSC_OPTIONS' && [ \$rc = 2 ] && [ ! -e $tmp/po.h5 ]"
  bad_inputs
  t two-ranks-one-line "a mistake is one line on 2 ranks too (rank 0 says it)" bash -c "
    ranks 2 $PGFLOW -activaton relu -output $tmp/t2.h5 >/dev/null 2>$tmp/t2.err; rc=\$?
    one_line $tmp/t2.err 'did you mean -activation' && [ \$rc = 2 ]"

group files
  # Long paths work; a path beyond the system's limit is one line.
  long=$tmp/$(printf 'd%.0s' $(seq 1 120))/$(printf 'e%.0s' $(seq 1 120))
  long_dir() { mkdir -p "$long"; }
  uses long_dir
  t long-output-path "an -output path of ${#long} + 8 characters works (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $fsmall -ts_max_time 1 -output $long/out.h5 >/dev/null && $RESULTS check $long/out.h5"
  uses
  huge=$tmp$(printf '/%0250d' $(seq 1 16) | tr 0 x)
  t huge-output-path "an -output path of more than 4000 characters: exit 2, one line" bash -c "
    $PGFLOW $fsmall -output $huge/out.h5 >/dev/null 2>$tmp/huge.err; rc=\$?
    one_line $tmp/huge.err '-output' && [ \$rc = 2 ]"
  # -data whose shapes, types or kind do not fit.
  data_files() {
    $PY - "$tmp" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(f"{d}/rows32.h5", "w") as f:
    f.create_dataset("X", shape=(2**32 + 50, 3), dtype="f8", chunks=(1024, 3))
    f.create_dataset("y", shape=(2**32 + 50,), dtype="f8", chunks=(1024,))
with h5py.File(f"{d}/rows12.h5", "w") as f:
    f.create_dataset("X", shape=(10**12, 3), dtype="f8", chunks=(1024, 3))
    f.create_dataset("y", shape=(10**12,), dtype="f8", chunks=(1024,))
with h5py.File(f"{d}/complex.h5", "w") as f:
    f["X"] = np.ones((10, 3), dtype=complex); f["y"] = np.ones(10)
with h5py.File(f"{d}/string.h5", "w") as f:
    f["X"] = np.array([[b"a", b"b"], [b"c", b"d"]]); f["y"] = np.ones(2)
PY
    mkdir -p "$tmp/adir.h5"
  }
  bad_inputs
  # A full disk: exit 1, one line naming the file; what was flushed stays readable.
  t dev-full "-output /dev/full: exit 1, one line naming it" bash -c "
    $PGFLOW $fsmall -ts_max_time 1 -output /dev/full >/dev/null 2>$tmp/full.err; rc=\$?
    one_line $tmp/full.err 'cannot write /dev/full' && [ \$rc = 1 ]"
  small_fs() {
    mkdir -p "$tmp/small-fs"
    if mount -t tmpfs -o size=3M tmpfs "$tmp/small-fs" 2>/dev/null; then
      at_group_end 'umount "$tmp/small-fs"'
    else
      skip_reason="cannot mount a tmpfs here"
    fi
  }
  uses small_fs
  t disk-fills-mid-run "a file system that fills mid-run: exit 1, one line, snapshots so far readable" bash -c "
    $PGFLOW -particles 2000 -dim 20 -snapshots 1000 -ts_max_time 100 -output $tmp/small-fs/r.h5 >/dev/null 2>$tmp/fs.err; rc=\$?
    one_line $tmp/fs.err 'cannot write $tmp/small-fs/r.h5' && [ \$rc = 1 ] &&
      $PY -c 'import h5py, sys; f = h5py.File(sys.argv[1], \"r\"); n = len(f[\"snapshots/t\"]); print(n, \"snapshots\"); sys.exit(n < 2)' $tmp/small-fs/r.h5"

group limits
  limits_checkpoint() { $PGFLOW $fsmall -ts_max_steps 5 -checkpoint_interval 1e-9 -output "$tmp/lim.h5" >/dev/null 2>&1; }
  bad_inputs

group optionsfile
  # An options file is checked line by line as PETSc 3.18 reads it
  # (PetscOptionsInsertFile): one option and at most one value per line, or
  # 'alias -new -old'; a value may be quoted to hold blanks. What PETSc
  # refuses is one line naming the file and the line; what it accepts runs.
  optsfile() { printf -- '-particles 5\n%s\n' "$2" >"$tmp/$1.opts"; }
  options_files() {
    optsfile two '-ts_rtol 1e-5 -ts_atol 1e-5'
    optsfile twonames '-ts_rtol -ts_atol'
    optsfile twovalues '-ts_rtol 1e-5 2e-5'
    optsfile badname '-_x 1'
    optsfile aliasword 'alias n -particles'
    optsfile aliasone 'alias -n'
    optsfile dashes '--ts_rtol 1e-5'
    printf 'ts_rtol: [1, 2\n' >"$tmp/bad.yaml"
  }
  bad_inputs
  uses options_files
  t nested-file-named "a mistake in a nested options file names that file and line (2 ranks)" bash -c "
    printf -- '-options_file %s\n' $tmp/two.opts >$tmp/outer.opts
    ranks 2 $PGFLOW -options_file $tmp/outer.opts -output $tmp/nest.h5 >/dev/null 2>$tmp/nest.err; rc=\$?
    one_line $tmp/nest.err 'two.opts, line 2: two options' && [ \$rc = 2 ]"
  # Lines PETSc accepts: a quoted value holding a blank, ALIAS in capitals,
  # indentation, tabs and a comment after the value.
  accepted_file() {
    mkdir -p "$tmp/with space"
    printf -- '\t-output "%s"  # quoted: it holds a blank\nALIAS -n -particles\n  -n 7\n-ts_max_time 1\n' "$tmp/with space/r.h5" >"$tmp/accepted.opts"
  }
  uses accepted_file
  t accepted-lines "a quoted value with a blank, ALIAS, indentation and comments run" bash -c "
    $PGFLOW -dim 3 -samples 200 -teacher_neurons 3 -options_file $tmp/accepted.opts >/dev/null &&
      $RESULTS check '$tmp/with space/r.h5' &&
      [ \"\$($PY -c 'import h5py, sys; print(h5py.File(sys.argv[1], \"r\")[\"parameters\"].attrs[\"particles\"])' '$tmp/with space/r.h5')\" = 7 ]"
  # What the check leaves to PETSc (YAML files, file names with \${VAR},
  # the prefix stack) still ends in one line and status 2, on every rank.
  uses options_files
  t petsc-mistake-rank-0-file "a mistake found by PETSc in a file rank 0 reads alone: one line, status 2 (2 ranks)" bash -c "
    export OPTSDIR=$tmp
    ranks 2 $PGFLOW -options_file '\${OPTSDIR}/two.opts' -output $tmp/var.h5 >/dev/null 2>$tmp/var.err; rc=\$?
    one_line $tmp/var.err 'two.opts line 2: extra token -ts_atol' && [ \$rc = 2 ] && [ ! -e $tmp/var.h5 ]"

group stopsignals
  # Every catchable signal that would end a process stops the run with a
  # checkpoint, /final, completed 0, stop_reason signal and status 4: on
  # one rank, sent to a rank of two, and sent to mpiexec where Open MPI
  # forwards it to the ranks (USR1, USR2, ALRM, XCPU; on TERM, INT and HUP
  # mpiexec ends the job itself, and it ignores QUIT: README "Signals").
  # stop_with SIG OUT HOW: HOW is one (pgflow alone), rank (SIG to rank 1 of
  # two) or mpiexec (SIG to mpiexec running two ranks).
  stop_with() {
    local sig=$1 out=$2 how=$3 pid target
    rm -f "$out" "${out%.h5}.ckpt.h5"
    case $how in
      one) $PGFLOW $fsmall -ts_max_time 1e6 -output "$out" >"$out.log" 2>&1 & ;;
      *) $MPIEXEC -n 2 $PGFLOW $fsmall -ts_max_time 1e6 -output "$out" >"$out.log" 2>&1 & ;;
    esac
    pid=$!
    wait_for 120 logged_line "$out.log" "^t .* step  *[1-9]"
    target=$pid
    if [ "$how" = rank ]; then
      target=$(pgrep -P "$pid" -x pgflow | tail -n 1)
      [ -n "$target" ] || target=$(pgrep -f -- "-output $out" -x pgflow | tail -n 1)
    fi
    kill -s "$sig" "$target"
    wait "$pid"
    echo "exit $?" >>"$out.log"
  }
  # stop_SIG_HOW: the fixture of each case.
  for sig in HUP QUIT USR2 ALRM XCPU TERM; do
    for how in one rank mpiexec; do
      eval "stop_${sig}_$how() { stop_with $sig \"\$tmp/$how-$sig.h5\" $how; }"
    done
  done
  for sig in HUP QUIT USR2 ALRM XCPU; do
    uses "stop_${sig}_one"
    t "sig${sig,,}-one-rank" "SIG$sig (1 rank): exit 4, checkpoint, /final, completed 0, stop_reason signal" bash -c "
      stopped_by_signal $tmp/one-$sig.h5 && $RESULTS get $tmp/one-$sig.h5 /final/t"
  done
  for sig in HUP QUIT TERM; do
    uses "stop_${sig}_rank"
    t "sig${sig,,}-to-a-rank" "SIG$sig to one rank of 2: both stop with a checkpoint, exit 4" bash -c "
      stopped_by_signal $tmp/rank-$sig.h5 && $RESULTS get $tmp/rank-$sig.h5 /final/t"
  done
  for sig in USR2 ALRM XCPU; do
    uses "stop_${sig}_mpiexec"
    t "sig${sig,,}-to-mpiexec" "SIG$sig to mpiexec (2 ranks): exit 4, checkpoint, stop_reason signal" stopped_by_signal "$tmp/mpiexec-$sig.h5"
  done
  # A reader of standard output that exits (| head): the run stops as on a
  # signal instead of dying of SIGPIPE.
  uses
  t stdout-reader-exits "stdout into a reader that exits (| head -n 2): exit 4, checkpoint, completed 0" bash -c "
    $PGFLOW $fsmall -ts_max_time 1e6 -progress_interval 0 -output $tmp/pipe.h5 2>$tmp/pipe.err | head -n 2 >/dev/null
    echo \"exit \${PIPESTATUS[0]}\" >$tmp/pipe.h5.log
    stopped_by_signal $tmp/pipe.h5"

group rise
  # A gradient flow decreases F: an accepted step that raised it beyond
  # rounding is undone and retried at a quarter of its length. Gradient
  # descent with a step far beyond its stability limit raises F at once.
  t euler-large-step "euler -ts_dt 1e5: F never rises over a step, the undone steps are counted, the energy warning is given" bash -c "
    $PGFLOW $fsmall -ts_type euler -ts_dt 1e5 -ts_max_time 1e6 -ts_max_steps 60 -output $tmp/rise.h5 >$tmp/rise.log 2>&1 || exit 1
    grep 'warning: the energy balance is off' $tmp/rise.log &&
    $PY - $tmp/rise.h5 <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
F = np.concatenate(([f['snapshots/loss'][0]], f['history/loss'][:]))
tol = 256 * np.finfo(float).eps * F[0]
print('largest rise', np.diff(F).max(), 'tolerance', tol, 'rejected', f['stats'].attrs['rejected_steps'])
sys.exit(not (np.diff(F).max() <= tol and f['stats'].attrs['rejected_steps'] > 0 and f['stats'].attrs['energy_warning'] == 1))
PY"
  t no-energy-warning "a resolved run records no energy warning" bash -c "
    $PGFLOW $fsmall -ts_max_time 5 -output $tmp/norise.h5 >$tmp/norise.log 2>&1 && ! grep -q warning $tmp/norise.log &&
      $PY -c 'import h5py, sys; sys.exit(h5py.File(sys.argv[1], \"r\")[\"stats\"].attrs[\"energy_warning\"] != 0 and 1 or 0)' $tmp/norise.h5"
  # A velocity of the wrong sign (a problem of the test's own, tests/t_rise.c)
  # raises F at every step however short: status 3, one line.
  t ascent-underflows "every step raising F (an ascent) ends in step_underflow, exit 3, one line" bash -c "
    bin/tests/t_rise -problem ascent -particles 6 -output $tmp/asc.h5 >/dev/null 2>$tmp/asc.err; rc=\$?
    one_line $tmp/asc.err 'the step underflowed' && [ \$rc = 3 ] && [ \$($RESULTS attr $tmp/asc.h5 stop_reason) = step_underflow ] &&
      [ \$($RESULTS attr $tmp/asc.h5 completed) = 0 ]"
  t monotone-false "-monotone false keeps the steps that raise F (none undone)" bash -c "
    $PGFLOW $fsmall -ts_type euler -ts_dt 1e5 -ts_max_time 1e6 -ts_max_steps 20 -monotone false -output $tmp/nomono.h5 >/dev/null
    [ \$(analysis/pgf-python analysis/pgfresults.py $tmp/nomono.h5 /stats rejected_steps | cut -d. -f1) = 0 ]"
  # Mini-batch SGD raises F by design: exempt, no step undone.
  t sgd-exempt "mini-batch SGD is exempt (F rises, no step undone)" bash -c "
    $PGFLOW $fsmall -batch_size 8 -ts_type euler -ts_dt 5 -ts_max_steps 200 -output $tmp/sgdrise.h5 >/dev/null || exit 1
    $PY - $tmp/sgdrise.h5 <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
rises = int((np.diff(f['history/loss'][:]) > 0).sum())
print('rises', rises, 'rejected', f['stats'].attrs['rejected_steps'])
sys.exit(not (rises > 0 and f['stats'].attrs['rejected_steps'] == 0))
PY"

group ckptdisk
  # The checkpoint's disk is full when the stop signal arrives: exit 1 and
  # one line, and still the results file (on another disk) with /final and
  # completed 0, and no temporary file left filling the full disk.
  full_disk_stop() {
    mkdir -p "$tmp/ckpt-fs"
    if ! mount -t tmpfs -o size=1M tmpfs "$tmp/ckpt-fs" 2>/dev/null; then
      skip_reason="cannot mount a tmpfs here"
      return
    fi
    at_group_end 'umount "$tmp/ckpt-fs"'
    dd if=/dev/zero of="$tmp/ckpt-fs/filler" bs=64k 2>/dev/null
    rm -f "$tmp/cd.h5"
    $PGFLOW -particles 3000 -dim 20 -ts_max_time 1e6 -output "$tmp/cd.h5" -checkpoint "$tmp/ckpt-fs/c.h5" >"$tmp/cd.log" 2>"$tmp/cd.err" &
    local pid=$!
    wait_for 120 logged_line "$tmp/cd.log" "^t .* step  *[1-9]"
    kill -TERM $pid
    wait $pid
    echo $? >"$tmp/cd.rc"
  }
  uses full_disk_stop
  t full-checkpoint-disk "SIGTERM with the checkpoint's disk full: exit 1, one line, /final and completed 0 written, no temporary file" bash -c "
    cat $tmp/cd.err; ls -A $tmp/ckpt-fs
    one_line $tmp/cd.err 'checkpoint' && [ \$(cat $tmp/cd.rc) = 1 ] && $RESULTS check $tmp/cd.h5 && $RESULTS get $tmp/cd.h5 /final/t &&
      [ \$($RESULTS attr $tmp/cd.h5 completed) = 0 ] && [ \$($RESULTS attr $tmp/cd.h5 stop_reason) = signal ] &&
      [ \"\$(ls -A $tmp/ckpt-fs)\" = filler ]"
