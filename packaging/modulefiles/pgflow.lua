-- pgflow @VERSION@ for Lmod, written by `make install` (packaging/modulefiles/pgflow.lua).
-- Prerequisites: the MPI, PETSc (with HDF5 and ScaLAPACK) and HDF5 pgflow was
-- built with; load their modules first when they are not the system's.
whatis("Name: pgflow")
whatis("Version: @VERSION@")
whatis("Description: particle gradient flows (Chizat and Bach, 2018) with PETSc TS, MPI and parallel HDF5")
help([[pgflow @VERSION@: mpiexec -n P pgflow [options]; man pgflow; docs in @PKGDATADIR@/doc]])

setenv("PGFLOW_DIR", "@PREFIX@")
prepend_path("PATH", "@BINDIR@")
prepend_path("MANPATH", "@MANDIR@")
prepend_path("PKG_CONFIG_PATH", "@LIBDIR@/pkgconfig")
prepend_path("PYTHONPATH", "@PYTHONDIR@")
