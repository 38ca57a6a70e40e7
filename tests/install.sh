# Tests of the installation (sourced by tests/run; doc/installing.md):
# make install into a temporary prefix from a copy of the tree, which is then
# deleted; the installed pgflow, its Python module, its modulefiles (Lmod and
# environment-modules) and a problem built against it alone as a -dll_append
# library. The Debian package needs a fresh root: tools/check-deb.
# shellcheck shell=bash disable=SC2154,SC2016  # tmp, t, skip, selected come from tests/run; bash -c scripts

if selected install; then
  src=$tmp/install-src
  prefix=$tmp/prefix
  staged=$tmp/staged
  version=$(sed -n 's/^#define PGFLOW_VERSION "\(.*\)"/\1/p' include/pgflow.h)
  # The tree as built (make keeps its objects: nothing is rebuilt).
  mkdir -p "$src"
  cp -a Makefile README.md include src bench tests analysis jobs doc packaging bin build "$src"
  pyrun() { PYTHONPATH=$prefix/lib/python3/site-packages "$prefix/share/pgflow/analysis/pgf-python" "$@"; }

  t "install: make install PREFIX installs the programs, libraries, headers, pgflow.pc, man page, module, scripts and docs" bash -c "
    make -C $src --no-print-directory install PREFIX=$prefix >$tmp/install.log 2>&1 || { cat $tmp/install.log; exit 1; }
    cd $prefix && ls bin/pgflow bin/pgfbench lib/libpgflow.a lib/libpgflow.so lib/libpgflow.so.$version lib/pkgconfig/pgflow.pc \
      include/pgflow/pgflow.h include/pgflow/private/modelimpl.h share/man/man1/pgflow.1 lib/python3/site-packages/pgflow/__init__.py \
      share/modulefiles/pgflow/$version share/modulefiles/pgflow/$version.lua share/pgflow/jobs/run.sbatch share/pgflow/jobs/e3-relu-small.opts \
      share/pgflow/analysis/fig_e3.py share/pgflow/doc/installing.md share/pgflow/examples/bumps/bumps.c share/pgflow/examples/bumps/Makefile"
  t "install: make install DESTDIR stages under DESTDIR with PREFIX's paths; make uninstall removes every file" bash -c "
    make -C $src --no-print-directory install DESTDIR=$staged PREFIX=/opt/pgflow >/dev/null &&
      grep -q 'prefix=/opt/pgflow' $staged/opt/pgflow/lib/pkgconfig/pgflow.pc &&
      grep -q '/opt/pgflow/bin/pgflow' $staged/opt/pgflow/share/pgflow/jobs/run.sbatch &&
      make -C $src --no-print-directory uninstall DESTDIR=$staged PREFIX=/opt/pgflow >/dev/null &&
      find $staged -type f -o -type l | tee $tmp/left; [ ! -s $tmp/left ]"
  rm -rf "$src"

  t "install: pgflow -version prints the version of include/pgflow.h, and pkg-config pgflow has it" bash -c "
    $prefix/bin/pgflow -version | tee /dev/stderr | grep -q '^pgflow $version (PETSc ' &&
      [ \"\$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion pgflow)\" = $version ]"
  t "install: no installed text file names the tree it was installed from" bash -c "
    ! grep -rIl '$src' $prefix"
  mkdir -p "$tmp/installed-run"
  t "install: the installed pgflow runs E3 small (share/pgflow/jobs) with the tree deleted; import pgflow reads it, without matplotlib" bash -c "
    cd $tmp/installed-run && \$MPIEXEC -n 2 $prefix/bin/pgflow -options_file $prefix/share/pgflow/jobs/e3-relu-small.opts -output e3.h5 | tail -n 1 &&
      PYTHONPATH=$prefix/lib/python3/site-packages $prefix/share/pgflow/analysis/pgf-python -c '
import sys, pgflow
r = pgflow.Results(\"e3.h5\")
print(r.attrs[\"problem\"], r.attrs[\"version\"], r.attrs[\"stop_reason\"], r.data[\"/final/loss\"][0])
assert r.attrs[\"version\"] == pgflow.__version__ == \"$version\" and \"matplotlib\" not in sys.modules'"

  # Lmod, and environment-modules' modulecmd.tcl (the two Debian packages
  # conflict: the one not installed is skipped; PGF_MODULECMD_TCL names an
  # unpacked copy).
  module_check="module use $prefix/share/modulefiles && module load pgflow && pgflow -version &&
    [ \"\$PGFLOW_DIR\" = $prefix ] && pkg-config --modversion pgflow && man -w pgflow &&
    case :\$PYTHONPATH: in *:$prefix/lib/python3/site-packages:*) ;; *) exit 1 ;; esac"
  if [ -f /usr/share/lmod/lmod/init/bash ]; then
    t "install: Lmod: module use PREFIX/share/modulefiles; module load pgflow sets PATH, MANPATH, PKG_CONFIG_PATH, PYTHONPATH, PGFLOW_DIR" bash -c "
      . /usr/share/lmod/lmod/init/bash && $module_check && module -t list 2>&1 | grep -q 'pgflow/$version'"
  else
    skip "install: Lmod module (needs Lmod: apt-get install lmod)"
  fi
  modulecmd=${PGF_MODULECMD_TCL:-}
  for f in /usr/lib/x86_64-linux-gnu/modulecmd.tcl /usr/share/modules/libexec/modulecmd.tcl; do
    [ -n "$modulecmd" ] || [ ! -f "$f" ] || modulecmd=$f
  done
  if [ -n "$modulecmd" ] && command -v tclsh >/dev/null; then
    t "install: environment-modules: module use PREFIX/share/modulefiles; module load pgflow (the Tcl modulefile)" bash -c "
      module() { eval \"\$(tclsh $modulecmd bash \"\$@\")\"; }
      $module_check && module list 2>&1 | grep -q 'pgflow/$version'"
  else
    skip "install: environment-modules module (needs environment-modules and tclsh, which conflict with lmod: apt-get install environment-modules, or PGF_MODULECMD_TCL=its modulecmd.tcl)"
  fi

  # The worked example of doc/adding-a-problem.md as a library, built from
  # share/pgflow/examples against the installed headers and pgflow.pc only,
  # against the same file built in the tree (build/examples/libpgfbumps.so).
  ex=$tmp/example
  bumps=(-problem bumps -particles 20 -samples 200 -ts_max_time 5)
  t "install: the example problem builds against the installed pgflow alone" bash -c "
    cp -r $prefix/share/pgflow/examples/bumps $ex && PKG_CONFIG_PATH=$prefix/lib/pkgconfig make -C $ex --no-print-directory |
      tee $tmp/example.log && grep -q -- '-I$prefix/include/pgflow ' $tmp/example.log && ! grep -q -- '-I$PWD' $tmp/example.log"
  t "install: the tree's pgflow runs the example library built in the tree on 1 rank" \
    np 1 bin/pgflow -dll_append build/examples/libpgfbumps.so "${bumps[@]}" -output "$tmp/bumps-tree.h5"
  for n in 1 3; do
    t "install: the installed pgflow runs the installed example (-dll_append) on $n ranks, final state as the tree's to 1e-10" bash -c "
      cd $ex && \$MPIEXEC -n $n $prefix/bin/pgflow -dll_append ./libpgfbumps.so ${bumps[*]} -output $tmp/bumps-$n.h5 >/dev/null &&
        bin_t=$PWD/bin/tests/t_results && \$bin_t compare $tmp/bumps-tree.h5 $tmp/bumps-$n.h5 /final/w 1e-10 &&
        \$bin_t compare $tmp/bumps-tree.h5 $tmp/bumps-$n.h5 /final/theta 1e-10"
  done
  # Refusals: one line, status 2, no results file.
  refused() {
    local name=$1 expect=$2
    shift 2
    t "install: $name is refused in one line, status 2" bash -c '
      expect=$1; out=$2; shift 2
      cd '"$ex"' && "$@" -problem bumps -output "$out" >/dev/null 2>"$out.err"; rc=$?
      cat "$out.err"
      [ $rc -eq 2 ] && [ "$(wc -l <"$out.err")" -eq 1 ] && grep -q -- "$expect" "$out.err" && [ ! -e "$out" ]' \
      _ "$expect" "$tmp/refused.h5" "$@"
  }
  refused "a -dll_append library that does not exist" "Unable to locate dynamic library.*$ex/libnone.so" \
    "$prefix/bin/pgflow" -dll_append "$ex/libnone.so"
  # a shared library that is not pgflow's: the installed libpgflow itself
  refused "a -dll_append library that is not a pgflow problem" "-dll_append $prefix/lib/libpgflow.so: not a library of pgflow problems: it must define PetscDLLibraryRegister_pgflow" \
    "$prefix/bin/pgflow" -dll_append "$prefix/lib/libpgflow.so"
  # the example again under another library name: it registers bumps twice
  t "install: the example built as libpgfbumpsagain.so (registers bumps again)" bash -c "
    cd $ex && mpicc \$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags pgflow) -fPIC -shared \
      -DPetscDLLibraryRegister_pgfbumps=PetscDLLibraryRegister_pgfbumpsagain bumps.c -o libpgfbumpsagain.so"
  refused "a -dll_append library that registers a name twice" "problem 'bumps' is registered twice" \
    "$prefix/bin/pgflow" -dll_append ./libpgfbumps.so,./libpgfbumpsagain.so
fi

if selected install; then
  # Spack cannot be installed here: the recipe is run against a stub of
  # spack.package that records its directives, which must name what the
  # Makefile links (pkg-config PETSc and hdf5-openmpi, or PETSC_DIR with its
  # petscvariables: MPI, PETSc with HDF5 and ScaLAPACK, BLAS, LAPACK) and
  # call its install target.
  t "install: the Spack recipe parses, depends on what the Makefile links, and runs make install" analysis/pgf-python -c '
import sys, types
deps, calls = {}, []
stub = types.ModuleType("spack.package")
class MakefilePackage: pass
def depends_on(spec, **kw): deps[spec.split("@")[0].split("+")[0].split("~")[0].split(" ")[0]] = spec
for name in ("version", "variant", "maintainers", "extends"): setattr(stub, name, lambda *a, **kw: None)
stub.MakefilePackage, stub.depends_on = MakefilePackage, depends_on
stub.join_path = lambda *a: "/".join(a)
stub.make = lambda *a: calls.append(a)
sys.modules["spack"] = types.ModuleType("spack"); sys.modules["spack.package"] = stub
ns = {}
exec(open("packaging/spack/pgflow/package.py").read(), ns)
print(sorted(deps))
need = {"mpi", "petsc", "hdf5", "scalapack", "blas", "lapack", "pkgconfig", "python", "py-numpy", "py-h5py"}
assert need <= set(deps), need - set(deps)
assert all(v in deps["petsc"] for v in ("+mpi", "+hdf5", "+scalapack")) and "+mpi" in deps["hdf5"], deps
make = open("Makefile").read()
assert "PETSC_DIR" in make and "\ninstall:" in make and "PETSC_EXTERNAL_LIB_BASIC" in make
spec = {"python": types.SimpleNamespace(package=types.SimpleNamespace(platlib="lib/python3.11/site-packages")), "mpi": types.SimpleNamespace(mpicc="mpicc")}
class Spec(dict):
    def satisfies(self, v): return True
class Prefix(str):
    lib = types.SimpleNamespace(join=lambda x: types.SimpleNamespace(join=lambda y: x + "/" + y))
ns["Pgflow"].install(None, Spec(spec), Prefix("/opt/pgflow"))
print(calls)
assert calls and calls[0][0] == "install" and "PREFIX=/opt/pgflow" in calls[0]'
fi
