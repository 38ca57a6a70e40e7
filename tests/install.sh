# Tests of the installation (sourced by tests/run; doc/installing.md):
# make install into a temporary prefix from a copy of the tree, which is then
# deleted; the installed pgflow, its Python module, its modulefiles (Lmod and
# environment-modules) and a problem built against it alone as a -dll_append
# library. The Debian package needs a fresh root: tools/check-deb.
# shellcheck shell=bash disable=SC2154,SC2016  # tmp, t, skip, group, uses come from tests/lib.sh; bash -c scripts

group prefix
  src=$tmp/install-src
  prefix=$tmp/prefix
  staged=$tmp/staged
  version=$(sed -n 's/^#define PGFLOW_VERSION "\(.*\)"/\1/p' include/pgflow.h)
  # The tree as built, copied (make keeps its objects: nothing is rebuilt),
  # installed into a temporary prefix and staged under a DESTDIR, then
  # deleted.
  installed() {
    mkdir -p "$src"
    cp -a Makefile README.md include src bench tests analysis jobs doc packaging bin build "$src"
    make -C "$src" --no-print-directory install PREFIX="$prefix" >"$tmp/install.log" 2>&1
    echo $? >"$tmp/install.rc"
    make -C "$src" --no-print-directory install DESTDIR="$staged" PREFIX=/opt/pgflow >"$tmp/staged.log" 2>&1
    echo $? >"$tmp/staged.rc"
    cp -a "$src" "$tmp/uninstall-src"
    rm -rf "$src"
  }
  uses installed
  t install-prefix "make install PREFIX installs the programs, libraries, headers, pgflow.pc, man page, module, scripts and docs" bash -c "
    cat $tmp/install.log; [ \$(cat $tmp/install.rc) = 0 ] || exit 1
    cd $prefix && ls bin/pgflow bin/pgfbench lib/libpgflow.a lib/libpgflow.so lib/libpgflow.so.$version lib/pkgconfig/pgflow.pc \
      include/pgflow/pgflow.h include/pgflow/private/modelimpl.h share/man/man1/pgflow.1 lib/python3/site-packages/pgflow/__init__.py \
      share/modulefiles/pgflow/$version share/modulefiles/pgflow/$version.lua share/pgflow/jobs/run.sbatch share/pgflow/jobs/e3-relu-small.opts \
      share/pgflow/analysis/fig_e3.py share/pgflow/doc/installing.md share/pgflow/examples/bumps/bumps.c share/pgflow/examples/bumps/Makefile"
  t destdir-uninstall "make install DESTDIR stages under DESTDIR with PREFIX's paths; make uninstall removes every file" bash -c "
    [ \$(cat $tmp/staged.rc) = 0 ] &&
      grep -q 'prefix=/opt/pgflow' $staged/opt/pgflow/lib/pkgconfig/pgflow.pc &&
      grep -q '/opt/pgflow/bin/pgflow' $staged/opt/pgflow/share/pgflow/jobs/run.sbatch &&
      make -C $tmp/uninstall-src --no-print-directory uninstall DESTDIR=$staged PREFIX=/opt/pgflow >/dev/null &&
      find $staged -type f -o -type l | tee $tmp/left; [ ! -s $tmp/left ]"

  t version "pgflow -version prints the version of include/pgflow.h, and pkg-config pgflow has it" bash -c "
    $prefix/bin/pgflow -version | tee /dev/stderr | grep -q '^pgflow $version (PETSc ' &&
      [ \"\$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion pgflow)\" = $version ]"
  t no-tree-paths "no installed text file names the tree it was installed from" bash -c "
    ! grep -rIl '$src' $prefix"
  t e3-installed "the installed pgflow runs E3 small (share/pgflow/jobs) with the tree deleted; import pgflow reads it, without matplotlib" bash -c "
    mkdir -p $tmp/installed-run && cd $tmp/installed-run && \$MPIEXEC -n 2 $prefix/bin/pgflow -options_file $prefix/share/pgflow/jobs/e3-relu-small.opts -output e3.h5 | tail -n 1 &&
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
    t lmod "Lmod: module use PREFIX/share/modulefiles; module load pgflow sets PATH, MANPATH, PKG_CONFIG_PATH, PYTHONPATH, PGFLOW_DIR" bash -c "
      . /usr/share/lmod/lmod/init/bash && $module_check && module -t list 2>&1 | grep -q 'pgflow/$version'"
  else
    skip lmod "Lmod module" "needs Lmod: apt-get install lmod"
  fi
  # environment-modules conflicts with lmod in Debian: where it is not
  # installed, its package is unpacked (not installed) into the group's
  # directory, which is all that its modulecmd.tcl needs.
  envmod() {
    local f
    modulecmd=${PGF_MODULECMD_TCL:-}
    for f in /usr/lib/x86_64-linux-gnu/modulecmd.tcl /usr/share/modules/libexec/modulecmd.tcl; do
      [ -n "$modulecmd" ] || [ ! -f "$f" ] || modulecmd=$f
    done
    if [ -z "$modulecmd" ] && command -v apt-get >/dev/null && (cd "$tmp" && apt-get download environment-modules >/dev/null 2>&1) &&
      dpkg-deb -x "$tmp"/environment-modules_*.deb "$tmp/envmod"; then
      modulecmd=$(find "$tmp/envmod" -name modulecmd.tcl | head -n 1)
    fi
    [ -n "$modulecmd" ] && command -v tclsh >/dev/null && printf '%s\n' "$modulecmd" >"$tmp/modulecmd" ||
      skip_reason="needs environment-modules' modulecmd.tcl and tclsh: apt-get install environment-modules tcl, or PGF_MODULECMD_TCL=its modulecmd.tcl"
  }
  uses installed envmod
  t environment-modules "environment-modules: module use PREFIX/share/modulefiles; module load pgflow (the Tcl modulefile)" bash -c "
    module() { eval \"\$(tclsh \$(cat $tmp/modulecmd) bash \"\$@\")\"; }
    $module_check && module list 2>&1 | grep -q 'pgflow/$version'"
  uses installed

  # The worked example of doc/adding-a-problem.md as a library, built from
  # share/pgflow/examples against the installed headers and pgflow.pc only,
  # against the same file built in the tree (build/examples/libpgfbumps.so).
  ex=$tmp/example
  bumps=(-problem bumps -particles 20 -samples 200 -ts_max_time 5)
  example_built() {
    cp -r "$prefix/share/pgflow/examples/bumps" "$ex" && PKG_CONFIG_PATH=$prefix/lib/pkgconfig make -C "$ex" --no-print-directory >"$tmp/example.log" 2>&1
  }
  tree_example() {
    np 1 bin/pgflow -dll_append build/examples/libpgfbumps.so "${bumps[@]}" -output "$tmp/bumps-tree.h5" >"$tmp/bumps-tree.log" 2>&1
  }
  uses installed example_built
  t example-builds "the example problem builds against the installed pgflow alone" bash -c "
    cat $tmp/example.log; [ -f $ex/libpgfbumps.so ] && grep -q -- '-I$prefix/include/pgflow ' $tmp/example.log && ! grep -q -- '-I$PWD' $tmp/example.log"
  uses tree_example
  t example-in-tree "the tree's pgflow runs the example library built in the tree on 1 rank" bash -c "cat $tmp/bumps-tree.log; $RESULTS check $tmp/bumps-tree.h5"
  uses installed example_built tree_example
  for n in 1 3; do
    t "example-installed-$n-ranks" "the installed pgflow runs the installed example (-dll_append) on $n ranks, final state as the tree's to 1e-10" bash -c "
      cd $ex && \$MPIEXEC -n $n $prefix/bin/pgflow -dll_append ./libpgfbumps.so ${bumps[*]} -output $tmp/bumps-$n.h5 >/dev/null &&
        bin_t=\"$PWD/bin/tests/t_results\" && \"\$bin_t\" compare $tmp/bumps-tree.h5 $tmp/bumps-$n.h5 /final/w 1e-10 &&
        \"\$bin_t\" compare $tmp/bumps-tree.h5 $tmp/bumps-$n.h5 /final/theta 1e-10"
  done
  # Refusals: one line, status 2, no results file.
  uses installed example_built
  refused() {
    local slug=$1 name=$2 expect=$3
    shift 3
    t "$slug" "$name is refused in one line, status 2" bash -c '
      expect=$1; out=$2; shift 2
      cd '"$ex"' && "$@" -problem bumps -output "$out" >/dev/null 2>"$out.err"; rc=$?
      cat "$out.err"
      [ $rc -eq 2 ] && [ "$(wc -l <"$out.err")" -eq 1 ] && grep -q -- "$expect" "$out.err" && [ ! -e "$out" ]' \
      _ "$expect" "$tmp/refused.h5" "$@"
  }
  refused missing-library "a -dll_append library that does not exist" "Unable to locate dynamic library.*$ex/libnone.so" \
    "$prefix/bin/pgflow" -dll_append "$ex/libnone.so"
  # a shared library that is not pgflow's: the installed libpgflow itself
  refused not-a-problem "a -dll_append library that is not a pgflow problem" "-dll_append $prefix/lib/libpgflow.so: not a library of pgflow problems: it must define PetscDLLibraryRegister_pgflow" \
    "$prefix/bin/pgflow" -dll_append "$prefix/lib/libpgflow.so"
  # the example again under another library name: it registers bumps twice
  again_built() {
    (cd "$ex" && mpicc $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags pgflow) -fPIC -shared \
      -DPetscDLLibraryRegister_pgfbumps=PetscDLLibraryRegister_pgfbumpsagain bumps.c -o libpgfbumpsagain.so) >"$tmp/again.log" 2>&1
  }
  uses installed example_built again_built
  refused registered-twice "a -dll_append library that registers a name twice" "problem 'bumps' is registered twice" \
    "$prefix/bin/pgflow" -dll_append ./libpgfbumps.so,./libpgfbumpsagain.so

group spack
  # Spack cannot be installed here: the recipe is run against a stub of
  # spack.package that records its directives, which must name what the
  # Makefile links (pkg-config PETSc and hdf5-openmpi, or PETSC_DIR with its
  # petscvariables: MPI, PETSc with HDF5 and ScaLAPACK, BLAS, LAPACK) and
  # call its install target.
  t recipe "the Spack recipe parses, depends on what the Makefile links, and runs make install" analysis/pgf-python -c '
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
