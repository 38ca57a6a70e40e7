/* bin/pgflow: mpiexec -n P bin/pgflow [options]; see README.md and -help. */
#include <pgflow.h>

static const char help[] = "pgflow: mean-field gradient flows of particles (Chizat and Bach, 2018).\n"
                           "Options are listed below with their defaults; every -ts_* option of PETSc applies.\n\n";

int main(int argc, char **argv)
{
  PgfExitStatus  status = PGF_EXIT_OK;
  PetscErrorCode ierr;

  PetscCall(PgfInitialize(&argc, &argv, help));
  ierr = PgfRun(PETSC_COMM_WORLD, &status);
  if (ierr) status = (PgfExitStatus)PgfExitStatusFromError(ierr);
  if (status == PGF_EXIT_FAILURE && ierr) PETSCABORT(PETSC_COMM_WORLD, ierr); /* other ranks may wait in a collective */
  PetscCall(PetscFinalize());
  return status;
}
