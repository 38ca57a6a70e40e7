/* Errors and exit statuses (README "Exit status"). A user mistake is one
   line on stderr and exit status 2; any other failure one line and status 1,
   PETSc's trace only with -pgf_debug. */
#include "pgfimpl.h"
#include <dlfcn.h>
#include <unistd.h>

static PetscBool input_phase, initializing, debug;
static char      first_message[1024], first_function[128];
static int       first_number;

/* While options and input files are read, any error is the user's: PETSc's
   own option parsing (an unknown -ts_type, say) included. */
PetscErrorCode PgfSetInputPhase(PetscBool flag)
{
  PetscFunctionBegin;
  input_phase = flag;
  PetscFunctionReturn(0);
}

/* Keeps the first message of an error for the one line main() prints; the
   trace of every frame only with -pgf_debug. */
static PetscErrorCode PgfErrorHandler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  if (p == PETSC_ERROR_INITIAL) {
    PetscStrncpy(first_message, mess ? mess : "", sizeof(first_message));
    PetscStrncpy(first_function, fun ? fun : "", sizeof(first_function));
    first_number = n;
  }
  if (debug && n != PGF_ERR_INPUT && n != PGF_ERR_NONFINITE) return PetscTraceBackErrorHandler(comm, line, fun, file, n, p, mess, ctx);
  return n;
}

/* Ranks other than 0 give rank 0 a moment to say a failure all ranks met:
   whether it did shows as the signal by which mpiexec ends the other ranks
   after rank 0's MPI_Abort (pgflow catches it: src/signals.c). Returns
   whether this rank should still say it. */
static PetscBool SayAfterRankZero(PetscMPIInt rank)
{
  if (!rank) return PETSC_TRUE;
  for (unsigned left = 2; left && !PgfSignalReceived();) left = sleep(left);
  return (PetscBool)!PgfSignalReceived();
}

/* Maps an error returned to main() to its exit status and prints one line.
   An input mistake was detected by every rank alike: rank 0 says it. Any
   other failure is said by the rank that met it, after rank 0
   (SayAfterRankZero), whose MPI_Abort ends the others. A mistake in the
   options PetscInitialize reads is met by rank 0 alone when rank 0 reads the
   file, while the other ranks wait in a collective: it ends every rank the
   same way. */
int PgfExitStatusFromError(PetscErrorCode ierr)
{
  PetscMPIInt rank = 0, size = 1;
  PetscBool   input = (PetscBool)(ierr == PGF_ERR_INPUT || input_phase);
  size_t      len   = strlen(first_message);

  if (!ierr) return PGF_EXIT_OK;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  while (len && (first_message[len - 1] == '\n' || first_message[len - 1] == ' ')) first_message[--len] = 0;
  for (char *c = first_message; *c; c++)
    if (*c == '\n') *c = ' ';
  if (input && initializing && size > 1) {
    if (SayAfterRankZero(rank)) fprintf(stderr, "pgflow: %s\n", first_message[0] ? first_message : "invalid options");
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, PGF_EXIT_INPUT);
  }
  if (input) {
    if (!rank) fprintf(stderr, "pgflow: %s\n", first_message[0] ? first_message : "invalid input");
    fflush(stderr);
    return PGF_EXIT_INPUT;
  }
  if (SayAfterRankZero(rank)) fprintf(stderr, "pgflow: error: %s (PETSc error %d in %s)%s\n", first_message[0] ? first_message : "internal failure", first_number ? first_number : (int)ierr, first_function[0] ? first_function : "pgflow", debug ? "" : "; rerun with -pgf_debug for a trace");
  fflush(stderr);
  return PGF_EXIT_FAILURE;
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

/* For the tests and benchmarks: PETSc as usual, traces kept. */
PetscErrorCode PgfInitialize(int *argc, char ***argv, const char help[])
{
  PetscFunctionBegin;
  debug = PETSC_TRUE;
  PetscCall(PetscInitialize(argc, argv, NULL, help));
  PetscCall(PetscPushErrorHandler(PgfErrorHandler, NULL));
  BlasSingleThreaded();
  PetscFunctionReturn(0);
}

/* For bin/pgflow: PETSc without its signal handlers (pgflow's own,
   src/signals.c, stay in place) unless debugging, errors kept for one line
   (PgfExitStatusFromError), single-threaded BLAS. */
PetscErrorCode PgfInitializeApplication(int *argc, char ***argv, const char help[], PetscBool debugging)
{
  PetscFunctionBegin;
  debug = debugging;
  if (!debug) PetscCall(PetscOptionsSetValue(NULL, "-no_signal_handler", NULL));
  /* PetscInitialize reads the options files, PETSC_OPTIONS and the command
     line: what it refuses is the user's, said in one line, so the handler
     is in place before it starts. */
  PetscCall(PetscPushErrorHandler(PgfErrorHandler, NULL));
  input_phase = initializing = PETSC_TRUE;
  PetscCall(PetscInitialize(argc, argv, NULL, help));
  input_phase = initializing = PETSC_FALSE;
  PetscCall(PgfLibrariesCheck(PETSC_COMM_WORLD));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-pgf_debug", &debug));
  PgfSignalsCatch(debug);
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
