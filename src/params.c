/* The parameters of a run: every option pgflow reads, as resolved (the
   default when the user gave none), recorded by the readers of options.c.
   They give the one-line refusal of an option nothing read, with the
   closest known name, and the problem-defining options a checkpoint must
   share with the run that restarts from it. */
#include "pgfimpl.h"

typedef struct {
  char     *name, *value;
  char      kind; /* 's' string, 'i' integer, 'r' real: how the results file stores it */
  PetscBool model; /* defines the trajectory: read while the model sets up, or the integrator settings a restart must keep */
} Param;

static Param    *params;
static PetscInt  nparams, maxparams;
static PetscBool in_model;

/* Options PETSc reads itself that pgflow may not see read (at start-up or at
   the end), and the integrator's most common ones, for suggestions. */
static const char *const petsc_known[] = {"-help", "-log_view", "-options_left", "-malloc_debug", "-malloc_dump", "-malloc_view", "-info", "-no_signal_handler", "-on_error_abort", "-fp_trap", "-pgf_debug", "-skip_petscrc", "-options_monitor", "-start_in_debugger", "-debugger_ranks", "-ts_type", "-ts_max_time", "-ts_max_steps", "-ts_dt", "-ts_rtol", "-ts_atol", "-ts_adapt_type", "-ts_rk_type", "-ts_adapt_dt_max", "-ts_adapt_dt_min", "-ts_monitor", "-ts_max_reject", "-ts_arkimex_type", "-ts_arkimex_fully_implicit", "-ts_rosw_type", "-ts_bdf_order", "-ts_theta_theta", "-snes_mf", "-snes_mf_operator", "-snes_rtol", "-snes_atol", "-snes_max_it", "-snes_monitor", "-ksp_type", "-ksp_rtol", "-ksp_monitor", "-pc_type"};
/* Prefixes of options that PETSc's infrastructure reads outside any object. */
static const char *const petsc_global[] = {"-log", "-malloc", "-info", "-options_", "-on_error", "-fp_trap", "-no_signal_handler", "-debugger", "-start_in_debugger", "-stop_for_debugger", "-skip_petscrc", "-history", "-objects_dump", "-checkstack", "-check_pointer_intensity", "-viewer", "-use_gpu_aware_mpi", "-mpi_linear_solver_server", "-pgf_debug"};

/* Marks the options read between two calls as defining the trajectory
   (checkpoints record them; a restart must give the same). */
void PgfParamsModelScope(PetscBool on)
{
  in_model = on;
}

static PetscErrorCode Add(const char name[], const char value[], char kind)
{
  PetscFunctionBegin;
  for (PetscInt k = 0; k < nparams; k++)
    if (!strcmp(params[k].name, name)) {
      PetscCall(PetscFree(params[k].value));
      PetscCall(PetscStrallocpy(value, &params[k].value));
      params[k].kind = kind;
      PetscFunctionReturn(0);
    }
  if (nparams == maxparams) {
    Param *more;

    maxparams = PetscMax(64, 2 * maxparams);
    PetscCall(PetscCalloc1(maxparams, &more));
    if (nparams) PetscCall(PetscArraycpy(more, params, nparams));
    PetscCall(PetscFree(params));
    params = more;
  }
  PetscCall(PetscStrallocpy(name, &params[nparams].name));
  PetscCall(PetscStrallocpy(value, &params[nparams].value));
  params[nparams].kind    = kind;
  params[nparams++].model = in_model;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfParamsAdd(const char name[], const char value[])
{
  PetscFunctionBegin;
  PetscCall(Add(name, value, 's'));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfParamsAddReal(const char name[], PetscReal value)
{
  char buf[64];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "%.17g", (double)value));
  PetscCall(Add(name, buf, 'r'));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfParamsAddInt(const char name[], PetscInt64 value)
{
  char buf[64];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "%" PetscInt64_FMT, value));
  PetscCall(Add(name, buf, 'i'));
  PetscFunctionReturn(0);
}

PetscInt PgfParamsCount(void)
{
  return nparams;
}

/* Parameter k: its name (with the dash), resolved value, kind ('s', 'i' or
   'r') and whether it defines the problem. */
void PgfParamsGet(PetscInt k, const char **name, const char **value, char *kind, PetscBool *model)
{
  if (name) *name = params[k].name;
  if (value) *value = params[k].value;
  if (kind) *kind = params[k].kind;
  if (model) *model = params[k].model;
}

PetscErrorCode PgfParamsDestroy(void)
{
  PetscFunctionBegin;
  for (PetscInt k = 0; k < nparams; k++) {
    PetscCall(PetscFree(params[k].name));
    PetscCall(PetscFree(params[k].value));
  }
  PetscCall(PetscFree(params));
  nparams = maxparams = 0;
  PetscFunctionReturn(0);
}

/* Edit distance, for suggestions. */
static size_t Distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b), d[128];

  if (la >= 127 || lb >= 127) return 1000;
  for (size_t j = 0; j <= lb; j++) d[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = d[0];

    d[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = d[j];

      d[j] = PetscMin(PetscMin(d[j] + 1, d[j - 1] + 1), prev + (a[i - 1] != b[j - 1]));
      prev = cur;
    }
  }
  return d[lb];
}

static const char *Closest(const char *name)
{
  const char *best  = NULL;
  size_t      dbest = 1000;

  for (PetscInt k = 0; k < nparams; k++) {
    size_t d = Distance(name, params[k].name);

    if (d < dbest) dbest = d, best = params[k].name;
  }
  for (size_t k = 0; k < sizeof(petsc_known) / sizeof(petsc_known[0]); k++) {
    size_t d = Distance(name, petsc_known[k]);

    if (d < dbest) dbest = d, best = petsc_known[k];
  }
  return dbest <= PetscMax(2, strlen(name) / 3) ? best : NULL;
}

/* Refuses (exit 2) an option that nothing has read: a typo, or an option of
   another problem or integrator. Collective (every rank has the same
   options). Call it once everything that reads options has. */
PetscErrorCode PgfParamsCheckUnused(MPI_Comm comm, const char problem[])
{
  PetscInt N;
  char   **names, **values, bad[256] = "";

  PetscFunctionBegin;
  PetscCall(PetscOptionsLeftGet(NULL, &N, &names, &values));
  for (PetscInt k = 0; k < N && !bad[0]; k++) {
    char      opt[256];
    PetscBool global = PETSC_FALSE;

    PetscCall(PetscSNPrintf(opt, sizeof(opt), "-%s", names[k]));
    for (size_t g = 0; g < sizeof(petsc_global) / sizeof(petsc_global[0]); g++) global = (PetscBool)(global || !strncmp(opt, petsc_global[g], strlen(petsc_global[g])));
    /* viewers and monitors that solvers read only when they run */
    global = (PetscBool)(global || strstr(opt, "_view") || strstr(opt, "monitor") || strstr(opt, "converged_reason"));
    if (!global) PetscCall(PetscStrncpy(bad, opt, sizeof(bad)));
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &N, &names, &values));
  if (bad[0]) {
    const char *near = Closest(bad);

    if (near) PgfInputError(comm, "%s is not an option of pgflow with -problem %s (did you mean %s?)", bad, problem, near);
    PgfInputError(comm, "%s is not an option of pgflow with -problem %s and this integrator (bin/pgflow -help lists them)", bad, problem);
  }
  PetscFunctionReturn(0);
}
