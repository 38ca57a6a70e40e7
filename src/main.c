/* bin/pgflow: mpiexec -n P bin/pgflow [options]; see README.md and -help.
   Whatever happens, the process ends with one of the statuses 0-4 of
   README "Exit status" and, on a failure, one line of pgflow's own. */
#include <pgflow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] = "pgflow: mean-field gradient flows of particles (Chizat and Bach, 2018).\n"
                           "Options are listed below with their defaults; every -ts_* option of PETSc applies.\n\n";

/* -pgf_debug on the command line or in PETSC_OPTIONS keeps the libraries'
   crash handlers and traces (it is read before PETSc reads its options). */
static PetscBool DebugRequested(int argc, char **argv)
{
  const char *env = getenv("PETSC_OPTIONS");

  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-pgf_debug")) return PETSC_TRUE;
  return (PetscBool)(env && strstr(env, "-pgf_debug"));
}

int main(int argc, char **argv)
{
  PgfExitStatus  status = PGF_EXIT_OK;
  PetscErrorCode ierr;
  PetscBool      debug = DebugRequested(argc, argv);
  char           msg[4096];
  int            rank, size, bad;

  PgfSignalsCatch(debug);
  /* Open MPI's default MPI-IO component overflows a fixed buffer on paths of
     250 characters or more; ROMIO has no such limit. */
  setenv("OMPI_MCA_io", "^ompio", 0);
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  bad = !rank && PgfCheckCommandLine(argc, argv, msg, sizeof(msg));
  (void)MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (bad) {
    if (!rank) fprintf(stderr, "pgflow: %s\n", msg);
    MPI_Finalize();
    return PGF_EXIT_INPUT;
  }
  /* -version: pgflow's version (the one results files record) and the
     PETSc it was built with; PETSc's own -version would go on to run. */
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-version")) {
      if (!rank) printf("pgflow %s (PETSc %d.%d.%d)\n", PGFLOW_VERSION, PETSC_VERSION_MAJOR, PETSC_VERSION_MINOR, PETSC_VERSION_SUBMINOR);
      MPI_Finalize();
      return PGF_EXIT_OK;
    }
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) argv[i] = (char *)"-help";
  ierr = PgfInitializeApplication(&argc, &argv, help, debug);
  if (!ierr) ierr = PgfRun(PETSC_COMM_WORLD, &status);
  if (ierr) status = (PgfExitStatus)PgfExitStatusFromError(ierr);
  /* other ranks may wait in a collective for this one */
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (status == PGF_EXIT_FAILURE && ierr && size > 1) MPI_Abort(MPI_COMM_WORLD, PGF_EXIT_FAILURE);
  /* alone: leave without finalizing, since libraries would still flush
     files that failed (HDF5 closes them after MPI is gone) */
  if (status == PGF_EXIT_FAILURE && ierr) {
    fflush(NULL);
    _exit(PGF_EXIT_FAILURE);
  }
  PetscFinalize();
  /* a file that failed to close (a checkpoint on a full disk) would make
     HDF5's handler at MPI_Finalize close it again, and crash */
  if (status == PGF_EXIT_FAILURE) {
    fflush(NULL);
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, PGF_EXIT_FAILURE);
    _exit(PGF_EXIT_FAILURE);
  }
  MPI_Finalize();
  return status;
}
