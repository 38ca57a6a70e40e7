# pgflow: `make` builds bin/pgflow; `make run` and `make check` first install
# what is missing (tools/install-deps), then run the default experiment or
# every test. Builds out of tree in build/, quiet unless V=1.

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
CFLAGS    = -std=c11 -O3 -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE $(VECFLAGS)
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

all: bin/pgflow bin/pgfbench $(TESTS)

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

bin/pgflow: build/src/main.o build/libpgflow.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

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

# Right-hand side against same-process DGEMM on 1 and 2 ranks: results/bench.json.
bench: all
	@mkdir -p results
	$(MPIEXEC) -n 1 bin/pgfbench -json results/bench-1.json
	$(MPIEXEC) -n 2 bin/pgfbench -json results/bench-2.json
	@python3 -c 'import json, sys; json.dump([json.load(open(f)) for f in sys.argv[1:]], open("results/bench.json", "w"), indent=1)' results/bench-1.json results/bench-2.json
	@echo "results: results/bench.json"
.PHONY: bench

format:
	clang-format -i include/*.h src/*.c src/*.h src/problems/*/*.[ch] src/dynamics/*.c tests/*.c bench/*.c

clean:
	rm -rf build bin

.PHONY: all deps run check format clean
-include $(LIBOBJ:.o=.d) build/src/main.d build/bench/pgfbench.d $(TESTS:bin/tests/%=build/tests/%.d)
