# The helpers every tests/*.sh uses (sourced by tests/run). A test file is a
# list of groups; a group is a list of cases; every case has the name
# FILE/GROUP/CASE and prints one line, `ok     NAME: DESCRIPTION`.
#
#   group GROUP             the cases that follow belong to GROUP; its files
#                           go to a temporary directory of its own, $tmp
#   uses FIXTURE...         the cases that follow need these functions run
#                           first, once per group and only for a selected case
#   t CASE DESCRIPTION COMMAND...     passes when COMMAND exits 0
#   skip CASE DESCRIPTION REASON      a case that cannot run here
#   input_error CASE DESCRIPTION EXPECT COMMAND...
#                           a user mistake (exit 2, one line with EXPECT)
#   bad_inputs              input_error for the rows of tests/bad-inputs.rows
#                           that belong to the group
#
# A fixture that cannot be made here sets skip_reason: the cases that use it
# are skipped with that reason. at_group_end and at_exit register clean-ups.
# shellcheck shell=bash disable=SC2034  # PGFLOW, RESULTS, np, ... are for the test files

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPIEXEC=${MPIEXEC:-mpiexec --oversubscribe}
PGFLOW=bin/pgflow
RESULTS=bin/tests/t_results
export MPIEXEC RESULTS

passed=0 failed=0 skipped=0
listing=0
patterns=()
declare -A pattern_used=() seen=() fixture_done=() fixture_skip=()
file="" group_name="" tmp="" group_end=() exit_hooks=() fixtures=()
tmp_root=$(mktemp -d)
trap 'run_exit_hooks' EXIT
run_exit_hooks() {
  end_group
  local hook
  for hook in "${exit_hooks[@]}"; do eval "$hook"; done
  rm -rf "$tmp_root"
}
# at_exit COMMAND: run COMMAND (a string) when tests/run exits, however it ends.
at_exit() { exit_hooks+=("$1"); }
# at_group_end COMMAND: run COMMAND when the current group ends.
at_group_end() { group_end+=("$1"); }

# selected NAME: whether NAME is to run. A pattern (a shell glob) selects the
# names in which it matches whole segments: 'faults', 'faults/signal',
# 'sigterm-during-setup', '*sigterm*'; '=NAME' selects NAME alone.
selected() {
  local i pat
  [ ${#patterns[@]} -eq 0 ] && return 0
  for i in "${!patterns[@]}"; do
    pat=${patterns[$i]}
    # shellcheck disable=SC2053,SC2295  # the pattern is a glob on purpose
    if { [[ $pat == =* ]] && [ "$1" = "${pat#=}" ]; } || { [[ $pat != =* ]] && [[ /$1/ == */$pat/* ]]; }; then
      pattern_used[$i]=1
      return 0
    fi
  done
  return 1
}

# suite FILE: the tests of tests/FILE.sh follow.
suite() {
  end_group
  file=$1
  group_name=""
}
group() {
  end_group
  group_name=$1
  tmp=$tmp_root/$file/$group_name
  mkdir -p "$tmp"
  fixtures=()
}
end_group() {
  local hook
  for hook in "${group_end[@]}"; do eval "$hook"; done
  group_end=()
}
uses() { fixtures=("$@"); }
# need FIXTURE: run FIXTURE once in this group (fixtures may need others).
need() {
  local key=$file/$group_name/$1 skip_reason=""
  [ -n "${fixture_done[$key]:-}" ] && return 0
  fixture_done[$key]=1
  if ! declare -F "$1" >/dev/null; then
    # a fixture used before its definition would be skipped silently
    printf 'FAILED %s: fixture %s is not defined at its first use\n' "$file/$group_name" "$1"
    failed=$((failed + 1))
    return 0
  fi
  "$1"
  [ -z "$skip_reason" ] || fixture_skip[$key]=$skip_reason
  return 0
}

pass() { passed=$((passed + 1)); printf 'ok     %s\n' "$1"; }
fail() {
  failed=$((failed + 1))
  printf 'FAILED %s\n' "$1"
  [ -f "$tmp/log" ] && sed 's/^/       | /' "$tmp/log" | tail -n 15
}
# case_name CASE: the full name of CASE, checked to be new; false when the
# case is not to run (or is only listed).
case_name() {
  name=$file/$group_name/$1
  if [ -n "${seen[$name]:-}" ]; then
    echo "tests/run: two tests are named $name" >&2
    failed=$((failed + 1))
    return 1
  fi
  seen[$name]=1
  selected "$name" || return 1
  [ $listing -eq 0 ] || { echo "$name"; return 1; }
}
skip_line() {
  skipped=$((skipped + 1))
  printf 'skipped %s\n' "$1"
}
skip() {
  local name
  case_name "$1" || return 0
  skip_line "$name: $2 ($3)"
}

# Whether analysis/pgf-python finds a python3 with numpy, h5py and
# matplotlib, checked once: without one (a login node where they cannot be
# installed), the tests that run it (directly or through tests/check_*.py)
# are skipped, with the packages named.
no_python=""
python_checked=0
check_python() {
  [ $python_checked -eq 0 ] || return 0
  python_checked=1
  if ! analysis/pgf-python -c '' 2>/dev/null; then
    no_python="needs a python3 with numpy, h5py and matplotlib: apt-get install python3-numpy python3-h5py python3-matplotlib"
    echo "tests/run: no python3 imports numpy, h5py and matplotlib: the tests that need one are skipped"
  fi
}

# t CASE DESCRIPTION COMMAND...: passes when COMMAND exits 0; its output goes to the log.
t() {
  local name slug=$1 desc=$2 fx reason=""
  shift 2
  case_name "$slug" || return 0
  check_python
  if [ -n "$no_python" ] && [[ $* =~ pgf-python|check_convex|check_population ]]; then
    skip_line "$name: $desc ($no_python)"
    return
  fi
  for fx in "${fixtures[@]}"; do
    need "$fx"
    reason=${fixture_skip[$file/$group_name/$fx]:-$reason}
  done
  if [ -n "$reason" ]; then
    skip_line "$name: $desc ($reason)"
    return
  fi
  if "$@" >"$tmp/log" 2>&1; then pass "$name: $desc"; else fail "$name: $desc"; fi
}

np() { $MPIEXEC -n "$@"; }
# ranks N COMMAND...: mpiexec -n N COMMAND with only the ranks' own output,
# untagged; mpiexec's report of a rank that exited non-zero is left out
# (Open MPI 5's mpiexec has no --quiet). The status is mpiexec's.
ranks() {
  local n=$1 err rc
  shift
  err=$(mktemp)
  $MPIEXEC --tag-output -n "$n" "$@" 2>"$err" | sed 's/^\[[0-9]*,[0-9]*\]<stdout>: \{0,1\}//'
  rc=${PIPESTATUS[0]}
  sed -n 's/^\[[0-9]*,[0-9]*\]<stderr>: \{0,1\}//p' "$err" >&2
  rm -f "$err"
  return "$rc"
}
export -f ranks
# Value of a number printed after LABEL in the log.
logged() { sed -n "s/.*$1 *\([-+0-9.eE]*\).*/\1/p" "$tmp/log" | tail -n 1; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# user_mistake EXPECT OUT COMMAND...: COMMAND -output OUT exits 2 with one
# line on stderr containing EXPECT (the option or file), no PETSc traceback
# and no results file.
user_mistake() {
  local expect=$1 out=$2 rc
  shift 2
  rm -f "$out"
  "$@" -output "$out" >/dev/null 2>"$out.err"
  rc=$?
  cat "$out.err"
  [ $rc -eq 2 ] && [ "$(wc -l <"$out.err")" -eq 1 ] && grep -q -- "$expect" "$out.err" &&
    ! grep -q "PETSC ERROR" "$out.err" && [ ! -e "$out" ]
}
input_error() {
  local slug=$1 desc=$2 expect=$3
  shift 3
  t "$slug" "$desc" user_mistake "$expect" "$tmp/bad.h5" "$@"
}
# bad_inputs: one input_error per row of tests/bad-inputs.rows whose name is
# in this group, each with the fixtures its row names. The command is
# expanded here (it may name $PGFLOW, $tmp and the file's variables).
bad_inputs() {
  local row_name fx expect cmd desc args saved=("${fixtures[@]}")
  while IFS='|' read -r row_name fx expect cmd desc; do
    row_name=$(echo $row_name)
    [[ $row_name == "$file/$group_name/"* ]] || continue
    fx=$(echo $fx) expect=$(echo "$expect" | sed 's/^ *//; s/ *$//') desc=$(echo "$desc" | sed 's/^ *//; s/ *$//')
    [ "$fx" = - ] && fixtures=() || read -ra fixtures <<<"$fx"
    eval "args=($cmd)"
    input_error "${row_name##*/}" "$desc" "$expect" "${args[@]}"
  done < <(grep -v '^#' tests/bad-inputs.rows | grep .)
  fixtures=("${saved[@]}")
}
