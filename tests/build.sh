# Tests of the build and of the test runner (sourced by tests/run). They run
# make -n and tests/run itself, never pgflow.
# shellcheck shell=bash disable=SC2154  # tmp, t, skip, group, uses come from tests/lib.sh

group make
  # A PETSc elsewhere, as a module would give it: only its pkg-config file and
  # petscvariables, whose external libraries are what bin/pgflow must link.
  fake=$tmp/petsc
  fake_petsc() {
    mkdir -p "$fake/lib/pkgconfig" "$fake/lib/petsc/conf"
    # shellcheck disable=SC2016  # ${prefix} is pkg-config's
    printf 'prefix=%s\nName: PETSc\nDescription: PETSc\nVersion: 3.99.0\nCflags: -I${prefix}/include\nLibs: -L${prefix}/lib -lpetsc\n' "$fake" >"$fake/lib/pkgconfig/PETSc.pc"
    echo "PETSC_EXTERNAL_LIB_BASIC = -lscalapack-of-petsc -lblas-of-petsc -lhdf5" >"$fake/lib/petsc/conf/petscvariables"
  }

  t deps-found-pkg-config "make check runs tools/install-deps --found when pkg-config finds PETSc and HDF5" bash -c "
    env -u PETSC_DIR make -n deps | grep -q 'tools/install-deps --found'"
  t deps-not-found "make check runs tools/install-deps when neither pkg-config nor PETSC_DIR finds PETSc" bash -c "
    env -u PETSC_DIR PKG_CONFIG_LIBDIR=$tmp/none PKG_CONFIG_PATH= make -n deps | grep 'tools/install-deps'; [ \${PIPESTATUS[1]} -eq 0 ] &&
      ! env -u PETSC_DIR PKG_CONFIG_LIBDIR=$tmp/none PKG_CONFIG_PATH= make -n deps | grep -q -- --found"
  uses fake_petsc
  t deps-found-petsc-dir "make check runs tools/install-deps --found with PETSC_DIR set" bash -c "
    PKG_CONFIG_LIBDIR=$tmp/none PKG_CONFIG_PATH= make -n deps PETSC_DIR=$fake PETSC_ARCH= | grep \"PETSC_DIR='$fake' bash tools/install-deps --found\""
  t link-petsc-dir "with PETSC_DIR, that PETSc, and ScaLAPACK and BLAS from its petscvariables" bash -c "
    make -n -B bin/pgflow PETSC_DIR=$fake PETSC_ARCH= | grep -- '-o bin/pgflow' >$tmp/link
    cat $tmp/link; grep -q -- '-lscalapack-of-petsc -lblas-of-petsc' $tmp/link && grep -q -- '-L$fake/lib -lpetsc' $tmp/link &&
      ! grep -q -- '-lopenblas' $tmp/link"
  uses
  t link-debian "with Debian's PETSc, Debian's ScaLAPACK and OpenBLAS" bash -c "
    env -u PETSC_DIR make -n -B bin/pgflow | grep -- '-o bin/pgflow' | grep -- '-lscalapack-openmpi -lopenblas'"
  # Without root: run as nobody, which needs root and runuser.
  as_nobody() {
    [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null ||
      skip_reason="needs root and runuser to become nobody"
  }
  uses as_nobody
  t deps-without-root "tools/install-deps without root or sudo names the missing packages and exits 1" bash -c "
    runuser -u nobody -- bash tools/install-deps pgflow-no-such-package </dev/null 2>$tmp/deps.err; rc=\$?
    cat $tmp/deps.err; [ \$rc -eq 1 ] && [ \$(wc -l <$tmp/deps.err) -eq 1 ] && grep -q 'missing packages pgflow-no-such-package' $tmp/deps.err"
  t deps-found-without-root "tools/install-deps --found (PETSc found) without root or sudo names the missing packages in one line and exits 0" bash -c "
    runuser -u nobody -- bash tools/install-deps --found pgflow-no-such-package </dev/null 2>$tmp/deps.err; rc=\$?
    cat $tmp/deps.err; [ \$rc -eq 0 ] && [ \$(wc -l <$tmp/deps.err) -eq 1 ] &&
      grep -q 'missing packages pgflow-no-such-package: .*the tests that need them are skipped' $tmp/deps.err"
  t newer-stack-without-root "tools/check-newer-stack without root exits 77 (cannot run here) with the reason" bash -c "
    runuser -u nobody -- bash tools/check-newer-stack --build-only </dev/null 2>$tmp/stack.err; rc=\$?
    cat $tmp/stack.err; [ \$rc -eq 77 ] && grep -q 'needs root' $tmp/stack.err"
  uses
  t newer-stack-bad-argument "tools/check-newer-stack rejects an unknown argument (exit 2)" bash -c "
    tools/check-newer-stack --no-such-option 2>$tmp/stack.err; rc=\$?; cat $tmp/stack.err; [ \$rc -eq 2 ]"

group runner
  t unknown-pattern "a pattern that matches no test fails with a message, running nothing" bash -c "
    bash tests/run twolayer/inputs/particles-0 pgflow-no-such-test >$tmp/none.out 2>&1; rc=\$?
    cat $tmp/none.out; [ \$rc -eq 2 ] && grep -q \"no test matches 'pgflow-no-such-test'\" $tmp/none.out && ! grep -q '^ok' $tmp/none.out"
  t list "--list names every test FILE/GROUP/CASE, once, without running them" bash -c "
    bash tests/run --list >$tmp/list.out || exit 1
    cat $tmp/list.out; grep -qx twolayer/inputs/particles-0 $tmp/list.out && grep -qx build/runner/list $tmp/list.out &&
      grep -qx rng/philox/known-answers $tmp/list.out && ! grep -qvE '^[a-z0-9_]+/[a-z0-9_-]+/[a-z0-9_.-]+\$' $tmp/list.out &&
      [ -z \"\$(sort $tmp/list.out | uniq -d)\" ] &&
      [ \"\$(bash tests/run --list convex)\" = \"\$(grep '^convex/' $tmp/list.out)\" ]"
  t exact-name "=NAME runs that test alone, a pattern what it matches in whole segments" bash -c "
    bash tests/run =twolayer/inputs/particles-0 >$tmp/one.out 2>&1 || exit 1
    cat $tmp/one.out; [ \"\$(grep -c '^ok ' $tmp/one.out)\" = 1 ] && grep -q '^ok     twolayer/inputs/particles-0: ' $tmp/one.out &&
      grep -q '^1 passed, 0 failed' $tmp/one.out &&
      [ \"\$(bash tests/run --list 'inputs/particles-*')\" = \"\$(printf 'twolayer/inputs/particles-0\\ntwolayer/inputs/particles-abc')\" ]"
