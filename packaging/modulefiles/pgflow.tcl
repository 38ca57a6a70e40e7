#%Module1.0
## pgflow @VERSION@ for environment-modules, written by `make install`
## (packaging/modulefiles/pgflow.tcl).
## Prerequisites: the MPI, PETSc (with HDF5 and ScaLAPACK) and HDF5 pgflow was
## built with; load their modules first when they are not the system's.
module-whatis "pgflow @VERSION@: particle gradient flows (Chizat and Bach, 2018) with PETSc TS, MPI and parallel HDF5"
proc ModulesHelp { } {
  puts stderr "pgflow @VERSION@: mpiexec -n P pgflow \[options\]; man pgflow; docs in @PKGDATADIR@/doc"
}

setenv       PGFLOW_DIR      @PREFIX@
prepend-path PATH            @BINDIR@
prepend-path MANPATH         @MANDIR@
prepend-path PKG_CONFIG_PATH @LIBDIR@/pkgconfig
prepend-path PYTHONPATH      @PYTHONDIR@
