/* Errors and exit statuses (shared/spec/INTERFACE.md). A user mistake is one
   line on stderr and exit status 2; an internal failure keeps PETSc's trace. */
#include "pgfimpl.h"
#include <dlfcn.h>

static PetscBool input_phase;
static char      input_message[1024];

/* While options and input files are read, any error is the user's: PETSc's
   own option parsing (an unknown -ts_type, say) included. */
PetscErrorCode PgfSetInputPhase(PetscBool flag)
{
  PetscFunctionBegin;
  input_phase = flag;
  PetscFunctionReturn(0);
}

static PetscErrorCode PgfErrorHandler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  if (n != PGF_ERR_INPUT && !input_phase) return PetscTraceBackErrorHandler(comm, line, fun, file, n, p, mess, ctx);
  if (p == PETSC_ERROR_INITIAL && mess) PetscStrncpy(input_message, mess, sizeof(input_message));
  return n;
}

/* Maps an error returned to main() to its exit status, printing the input
   mistake once (from rank 0; inputs are checked on every rank alike). */
int PgfExitStatusFromError(PetscErrorCode ierr)
{
  PetscMPIInt rank = 0;

  if (!ierr) return PGF_EXIT_OK;
  if (ierr != PGF_ERR_INPUT && !input_phase) return PGF_EXIT_FAILURE;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (!rank) {
    size_t len = strlen(input_message);

    while (len && (input_message[len - 1] == '\n' || input_message[len - 1] == ' ')) input_message[--len] = 0;
    fprintf(stderr, "pgflow: %s\n", input_message[0] ? input_message : "invalid input");
    fflush(stderr);
  }
  return PGF_EXIT_INPUT;
}

/* OpenBLAS as Debian ships it may be loaded twice (libblas.so.3 and
   libopenblas.so.0): each copy gets one thread per rank unless the user
   asked otherwise, since ranks, not BLAS threads, use the cores. */
static void BlasSingleThreaded(void)
{
  const char *libs[] = {"libopenblas.so.0", "libblas.so.3"};

  if (getenv("OPENBLAS_NUM_THREADS") || getenv("OMP_NUM_THREADS")) return;
  for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
    void *lib = dlopen(libs[i], RTLD_LAZY | RTLD_NOLOAD);
    void (*set)(int);

    if (!lib) continue;
    *(void **)&set = dlsym(lib, "openblas_set_num_threads");
    if (set) set(1);
    dlclose(lib);
  }
}

PetscErrorCode PgfBlasCoreName(const char **name)
{
  char *(*corename)(void);

  PetscFunctionBegin;
  *(void **)&corename = dlsym(RTLD_DEFAULT, "openblas_get_corename");
  *name               = corename ? corename() : "not OpenBLAS";
  PetscFunctionReturn(0);
}

PetscErrorCode PgfInitialize(int *argc, char ***argv, const char help[])
{
  PetscFunctionBegin;
  PetscCall(PetscInitialize(argc, argv, NULL, help));
  PetscCall(PetscPushErrorHandler(PgfErrorHandler, NULL));
  BlasSingleThreaded();
  PetscFunctionReturn(0);
}

PetscErrorCode PgfGemm(const char *ta, const char *tb, PetscInt m, PetscInt n, PetscInt k, PetscReal alpha, const PetscReal *A, PetscInt lda, const PetscReal *B, PetscInt ldb, PetscReal beta, PetscReal *C, PetscInt ldc)
{
  PetscBLASInt bm, bn, bk, blda, bldb, bldc;

  PetscFunctionBegin;
  if (!m || !n) PetscFunctionReturn(0);
  PetscCall(PetscBLASIntCast(m, &bm));
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(PetscBLASIntCast(k, &bk));
  PetscCall(PetscBLASIntCast(lda, &blda));
  PetscCall(PetscBLASIntCast(ldb, &bldb));
  PetscCall(PetscBLASIntCast(ldc, &bldc));
  PetscCallBLAS("BLASgemm", BLASgemm_(ta, tb, &bm, &bn, &bk, &alpha, A, &blda, B, &bldb, &beta, C, &bldc));
  PetscFunctionReturn(0);
}
