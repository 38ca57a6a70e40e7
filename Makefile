# pgflow: `make` builds bin/pgflow; `make run` and `make check` first install
# what is missing (tools/install-deps), then run the default experiment or
# every test. Builds out of tree in build/, quiet unless V=1. `make install
# PREFIX=... [DESTDIR=...]`, `make uninstall` and `make dist`: doc/installing.md.

# The version, in one place: PGFLOW_VERSION of include/pgflow.h.
VERSION := $(shell sed -n 's/^\#define PGFLOW_VERSION "\(.*\)"/\1/p' include/pgflow.h)
SOVERSION = $(firstword $(subst ., ,$(VERSION)))

# PETSc from Debian (pkg-config PETSc) or from PETSC_DIR/PETSC_ARCH (modules).
ifneq ($(PETSC_DIR),)
  PKG_CONFIG_PATH := $(PETSC_DIR)/$(PETSC_ARCH)/lib/pkgconfig:$(PETSC_DIR)/lib/pkgconfig:$(PKG_CONFIG_PATH)
endif
# The path is passed explicitly: before GNU make 4.4, $(shell) does not see
# exported variables.
PKG_CONFIG = PKG_CONFIG_PATH='$(PKG_CONFIG_PATH)' pkg-config
PETSC_PC  := $(shell $(PKG_CONFIG) --exists PETSc 2>/dev/null && echo PETSc || echo petsc)
HDF5_PC   := $(shell $(PKG_CONFIG) --exists hdf5-openmpi 2>/dev/null && echo hdf5-openmpi || ($(PKG_CONFIG) --exists hdf5 2>/dev/null && echo hdf5))
ifneq ($(PETSC_DIR),)
  # ScaLAPACK, BLAS/LAPACK and HDF5 as this PETSc was configured with them:
  # PETSC_EXTERNAL_LIB_BASIC of its petscvariables, else its Libs.private.
  PETSC_VARIABLES := $(firstword $(wildcard $(PETSC_DIR)/$(PETSC_ARCH)/lib/petsc/conf/petscvariables $(PETSC_DIR)/lib/petsc/conf/petscvariables))
  EXTERNAL_LIBS   := $(if $(PETSC_VARIABLES),$(shell sed -n 's/^PETSC_EXTERNAL_LIB_BASIC *= *//p' $(PETSC_VARIABLES)),$(shell $(PKG_CONFIG) --libs --static $(PETSC_PC)))
  EXTERNAL_LIBS   += -Wl,-rpath,$(shell $(PKG_CONFIG) --variable=libdir $(PETSC_PC))
else
  # Debian's PETSc: its ScaLAPACK, and OpenBLAS rather than the reference BLAS.
  EXTERNAL_LIBS   := -lscalapack-openmpi -lopenblas
endif
CC        = mpicc
# Position-independent code for build/libpgflow.so; without semantic
# interposition, so that calls within the library stay direct.
CFLAGS    = -std=c11 -O3 -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -fPIC -fno-semantic-interposition $(VECFLAGS)
# The activations' loops (src/vmath.c) and the population kernels vectorize
# under #pragma omp simd, with their selects only without trapping math and
# their square roots only without errno (pgflow never reads errno after a
# math function); no FMA contraction, so that every vector width and the
# scalar code round alike.
VECFLAGS  = -fopenmp-simd -fno-trapping-math -fno-math-errno -ffp-contract=off
CPPFLAGS  = -Iinclude -Isrc $(shell $(PKG_CONFIG) --cflags $(PETSC_PC) $(HDF5_PC) 2>/dev/null) -DPGF_GIT='"$(GIT)"'
LDLIBS    = $(EXTERNAL_LIBS) $(shell $(PKG_CONFIG) --libs $(PETSC_PC) $(HDF5_PC) 2>/dev/null) -ldl -lm
GIT       = $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# Open MPI refuses root without these; more ranks than cores need --oversubscribe.
export OMPI_ALLOW_RUN_AS_ROOT = 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = 1
MPIEXEC ?= mpiexec --oversubscribe
NP      ?= 2

# A problem is a file of src/ or, with the files of a family, a folder of src/problems/.
LIBSRC  = $(filter-out src/main.c,$(wildcard src/*.c src/problems/*/*.c src/dynamics/*.c))
LIBOBJ  = $(LIBSRC:src/%.c=build/src/%.o)
TESTS   = $(patsubst tests/%.c,bin/tests/%,$(wildcard tests/*.c))

ifeq ($(V),1)
  Q =
else
  Q = @
endif

all: bin/pgflow bin/pgfbench $(TESTS) build/libpgflow.so build/examples/libpgfbumps.so

build/src/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

build/bench/%.o: bench/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

bin/pgfbench: build/bench/pgfbench.o build/libpgflow.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

build/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

build/libpgflow.a: $(LIBOBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

build/libpgflow.so: $(LIBOBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -shared -Wl,-soname,libpgflow.so.$(SOVERSION) $^ -o $@ $(LDLIBS)

# The whole library, its symbols exported: problems loaded with -dll_append
# call pgflow's functions from the executable (doc/installing.md).
bin/pgflow: build/src/main.o build/libpgflow.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -rdynamic build/src/main.o -Wl,--whole-archive build/libpgflow.a -Wl,--no-whole-archive -o $@ $(LDLIBS)

# The worked example of doc/adding-a-problem.md as a library, built against
# the tree's headers: the tests compare it with the same file built against
# an installed pgflow.
build/examples/libpgfbumps.so: packaging/examples/bumps/bumps.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF build/examples/libpgfbumps.d -shared $< -o $@

bin/tests/%: build/tests/%.o build/libpgflow.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# Every package make run and make check need is checked, and the missing ones
# installed where root or sudo allows. When PETSc and HDF5 are found
# (--found), what cannot be installed (a cluster login node) is named in one
# line and the tests that need it are skipped; otherwise make stops.
DEPS_FOUND := $(shell { $(PKG_CONFIG) --exists $(PETSC_PC) && { [ -n "$(PETSC_DIR)" ] || $(PKG_CONFIG) --exists hdf5-openmpi; }; } 2>/dev/null && echo yes)
deps:
	@PETSC_DIR='$(PETSC_DIR)' bash tools/install-deps$(if $(filter yes,$(DEPS_FOUND)), --found)

# The default experiment: E3 (small) on $(NP) local ranks, and its figure.
run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p results
	$(MPIEXEC) -n $(NP) bin/pgflow -options_file jobs/e3-relu-small.opts -output results/e3-relu.h5
	analysis/pgf-python analysis/fig_e3.py results/e3-relu.h5 -o results/e3-relu.png
	@echo "results: results/e3-relu.h5, figure: results/e3-relu.png"

# make check search='PATTERN...': only the tests those patterns select (tests/run).
check: deps
	@$(MAKE) --no-print-directory all
	@bash tests/run $(search)

# Every experiment at its small size into results/, all figures into results/figures/.
figures: all
	@MPIEXEC="$(MPIEXEC)" NP=$(NP) bash analysis/make-figures
.PHONY: figures

# Right-hand side against same-process DGEMM on 1 and 2 ranks, and the
# stochastic dynamics' step against the plain one: results/bench.json.
bench: all
	@mkdir -p results
	$(MPIEXEC) -n 1 bin/pgfbench -json results/bench-1.json
	$(MPIEXEC) -n 2 bin/pgfbench -json results/bench-2.json
	MPIEXEC="$(MPIEXEC)" bash bench/steps.sh results/bench-steps.json
	@python3 -c 'import json, sys; json.dump([json.load(open(f)) for f in sys.argv[1:]], open("results/bench.json", "w"), indent=1)' results/bench-1.json results/bench-2.json results/bench-steps.json
	@echo "results: results/bench.json"
.PHONY: bench

# Installation (doc/installing.md): the programs, the library (static and
# shared), the headers a problem needs, pgflow.pc, the job and analysis
# scripts, the docs, the worked example, the man page, the results reader as
# the Python module pgflow, and modulefiles for Lmod and environment-modules.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
PYTHONDIR  ?= $(PREFIX)/lib/python3/site-packages
MODULEDIR  ?= $(DATADIR)/modulefiles
PKGDATADIR  = $(DATADIR)/pgflow
# What a problem's file includes (src/modelimpl.h, src/options.h) and what
# they include, installed as include/pgflow/private/.
PRIVATE_HEADERS = src/modelimpl.h src/pgfimpl.h src/dynamics.h src/options.h
INSTALL    ?= install
# PETSc's and HDF5's include paths for problems built against pgflow.pc,
# without the build-only flags Debian's PETSc.pc carries.
PC_CFLAGS   = $(filter-out -Wdate-time -D_FORTIFY_SOURCE=%,$(shell $(PKG_CONFIG) --cflags $(PETSC_PC) $(HDF5_PC) 2>/dev/null))
D           = $(DESTDIR)
# Installed job scripts run the installed programs and scripts.
JOBS_SED = -e 's|bin/pgflow|$(BINDIR)/pgflow|g' -e 's|bin/pgfbench|$(BINDIR)/pgfbench|g' \
           -e 's|analysis/pgf-python analysis/|$(PKGDATADIR)/analysis/pgf-python $(PKGDATADIR)/analysis/|g' \
           -e 's|exec bash jobs/run.sbatch|exec bash $(PKGDATADIR)/jobs/run.sbatch|' \
           -e 's|"jobs/$$v.opts" "jobs/$$v"|"jobs/$$v.opts" "jobs/$$v" "$(PKGDATADIR)/jobs/$$v.opts" "$(PKGDATADIR)/jobs/$$v"|'
MODULE_SED = -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
             -e 's|@MANDIR@|$(MANDIR)|g' -e 's|@PYTHONDIR@|$(PYTHONDIR)|g' -e 's|@PKGDATADIR@|$(PKGDATADIR)|g' \
             -e 's|@VERSION@|$(VERSION)|g'

install: bin/pgflow bin/pgfbench build/libpgflow.a build/libpgflow.so
	$(INSTALL) -d $(D)$(BINDIR) $(D)$(LIBDIR)/pkgconfig $(D)$(INCLUDEDIR)/pgflow/private $(D)$(MANDIR)/man1 \
	  $(D)$(PYTHONDIR)/pgflow $(D)$(PKGDATADIR)/jobs $(D)$(PKGDATADIR)/analysis $(D)$(PKGDATADIR)/doc \
	  $(D)$(PKGDATADIR)/examples/bumps $(D)$(MODULEDIR)/pgflow
	$(INSTALL) -m 755 bin/pgflow bin/pgfbench $(D)$(BINDIR)
	$(INSTALL) -m 644 build/libpgflow.a $(D)$(LIBDIR)
	$(INSTALL) -m 755 build/libpgflow.so $(D)$(LIBDIR)/libpgflow.so.$(VERSION)
	ln -sf libpgflow.so.$(VERSION) $(D)$(LIBDIR)/libpgflow.so.$(SOVERSION)
	ln -sf libpgflow.so.$(SOVERSION) $(D)$(LIBDIR)/libpgflow.so
	$(INSTALL) -m 644 include/pgflow.h $(D)$(INCLUDEDIR)/pgflow
	$(INSTALL) -m 644 $(PRIVATE_HEADERS) $(D)$(INCLUDEDIR)/pgflow/private
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' 'Name: pgflow' \
	  'Description: particle gradient flows with PETSc TS (problems as shared libraries: -dll_append)' 'Version: $(VERSION)' \
	  'Cflags: -I$${includedir}/pgflow -I$${includedir}/pgflow/private $(PC_CFLAGS)' \
	  'Libs: -L$${libdir} -lpgflow' 'Libs.private: $(LDLIBS)' >$(D)$(LIBDIR)/pkgconfig/pgflow.pc
	for p in pgflow pgfbench; do sed $(MODULE_SED) doc/$$p.1 >$(D)$(MANDIR)/man1/$$p.1 || exit 1; done
	$(INSTALL) -m 644 analysis/pgfresults.py $(D)$(PYTHONDIR)/pgflow/results.py
	printf '%s\n' '"""pgflow results files (doc/results-file.md): numpy and h5py only, no plotting."""' \
	  'from .results import *  # noqa: F401,F403' '' '__version__ = "$(VERSION)"' >$(D)$(PYTHONDIR)/pgflow/__init__.py
	$(INSTALL) -m 644 jobs/*.opts jobs/*.table $(D)$(PKGDATADIR)/jobs
	for f in jobs/*.sbatch; do sed $(JOBS_SED) $$f >$(D)$(PKGDATADIR)/$$f && chmod 755 $(D)$(PKGDATADIR)/$$f || exit 1; done
	$(INSTALL) -m 644 analysis/*.py analysis/README.md $(D)$(PKGDATADIR)/analysis
	$(INSTALL) -m 755 analysis/pgf-python $(D)$(PKGDATADIR)/analysis
	$(INSTALL) -m 644 README.md $(D)$(PKGDATADIR)
	$(INSTALL) -m 644 doc/*.md $(D)$(PKGDATADIR)/doc
	$(INSTALL) -m 644 packaging/examples/bumps/bumps.c packaging/examples/bumps/Makefile $(D)$(PKGDATADIR)/examples/bumps
	sed $(MODULE_SED) packaging/modulefiles/pgflow.lua >$(D)$(MODULEDIR)/pgflow/$(VERSION).lua
	sed $(MODULE_SED) packaging/modulefiles/pgflow.tcl >$(D)$(MODULEDIR)/pgflow/$(VERSION)

uninstall:
	rm -f $(D)$(BINDIR)/pgflow $(D)$(BINDIR)/pgfbench $(D)$(LIBDIR)/libpgflow.a $(D)$(LIBDIR)/libpgflow.so* \
	  $(D)$(LIBDIR)/pkgconfig/pgflow.pc $(D)$(MANDIR)/man1/pgflow.1 $(D)$(MANDIR)/man1/pgfbench.1 \
	  $(D)$(MODULEDIR)/pgflow/$(VERSION).lua $(D)$(MODULEDIR)/pgflow/$(VERSION)
	rm -rf $(D)$(INCLUDEDIR)/pgflow $(D)$(PYTHONDIR)/pgflow $(D)$(PKGDATADIR)
	-rmdir $(D)$(MODULEDIR)/pgflow 2>/dev/null

# pgflow-VERSION.tar.gz: the files git tracks, as they are in the work tree.
dist:
	git ls-files -z | tar --null -T - --transform 's,^,pgflow-$(VERSION)/,' -czf pgflow-$(VERSION).tar.gz
	@echo "pgflow-$(VERSION).tar.gz"

format:
	clang-format -i include/*.h src/*.c src/*.h src/problems/*/*.[ch] src/dynamics/*.c tests/*.c bench/*.c packaging/examples/*/*.c

clean:
	rm -rf build bin

.PHONY: all deps run check install uninstall dist format clean
-include $(LIBOBJ:.o=.d) build/src/main.d build/bench/pgfbench.d $(TESTS:bin/tests/%=build/tests/%.d) build/examples/libpgfbumps.d
