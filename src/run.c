/* The application as bin/pgflow runs it: options, model, flow, results file. */
#include "pgfimpl.h"
#include "options.h"

static const char *const problems[] = {"twolayer", "deconv"};

/* OpenBLAS 0.3.21 does not recognise recent processors and falls back to a
   generic kernel several times slower (shared/ENVIRONMENT.md). */
static PetscErrorCode WarnGenericBlas(MPI_Comm comm, const char *core)
{
  PetscBool generic;

  PetscFunctionBegin;
  PetscCall(PetscStrcasecmp(core, "Prescott", &generic));
  if (generic && __builtin_cpu_supports("avx2") && !getenv("OPENBLAS_CORETYPE"))
    PetscCall(PetscPrintf(comm, "pgflow: warning: OpenBLAS uses its generic kernel (%s) on a processor with %s; set OPENBLAS_CORETYPE=%s for a several times faster run\n", core, __builtin_cpu_supports("avx512f") ? "AVX-512" : "AVX2", __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell"));
  PetscFunctionReturn(0);
}

/* Root attributes of INTERFACE.md; completed stays 0 until the run ends well. */
static PetscErrorCode WriteAttributes(PgfModel model, PgfOutput out)
{
  PetscMPIInt size;
  PetscInt    m;
  char       *options;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(model->comm, &size));
  PetscCall(PgfModelGetSizes(model, &m, NULL, NULL, NULL));
  PetscCall(PetscOptionsGetAll(NULL, &options));
  PetscCall(PgfOutputSetAttributeString(out, "problem", model->name));
  PetscCall(PgfOutputSetAttributeInt(out, "particles", m));
  PetscCall(PgfOutputSetAttributeInt(out, "ranks", size));
  PetscCall(PgfOutputSetAttributeInt(out, "seed", model->seed));
  PetscCall(PgfOutputSetAttributeString(out, "version", PGFLOW_VERSION));
  PetscCall(PgfOutputSetAttributeString(out, "options", options));
  PetscCall(PgfOutputSetAttributeInt(out, "completed", 0));
  PetscCall(PgfOutputSetAttributeString(out, "stop_reason", "running"));
  PetscCall(PetscFree(options));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfRun(MPI_Comm comm, PgfExitStatus *status)
{
  PgfModel    model;
  PgfFlow     flow;
  PgfOutput   out;
  PetscInt    problem = 0;
  PetscMPIInt size;
  char        path[PETSC_MAX_PATH_LEN];
  const char *core;
  PetscBool   help;

  PetscFunctionBegin;
  *status = PGF_EXIT_OK;
  PetscCall(PgfSetInputPhase(PETSC_TRUE));
  PetscOptionsBegin(comm, NULL, "pgflow: particle gradient flows (see README.md)", NULL);
  PetscCall(PgfOptionsEList(PetscOptionsObject, "-problem", "Problem", problems, 2, problem, &problem));
  PetscCall(PgfOptionsString(PetscOptionsObject, "-output", "Results file (HDF5)", "pgflow.h5", path, sizeof(path)));
  PetscOptionsEnd();
  PetscCall(PgfModelCreate(comm, problems[problem], &model));
  PetscCall(PgfModelSetFromOptions(model));
  PetscCall(PgfFlowCreate(model, &flow));
  PetscCall(PgfFlowSetFromOptions(flow));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(PgfFlowDestroy(&flow));
    PetscCall(PgfModelDestroy(&model));
    PetscFunctionReturn(0);
  }
  PetscCall(PgfOutputCreate(comm, path, &out));
  PetscCall(PgfSetInputPhase(PETSC_FALSE));

  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PgfBlasCoreName(&core));
  PetscCall(PetscPrintf(comm, "pgflow %s: %s with %" PetscInt_FMT " particles on %d rank%s (BLAS kernel %s), results in %s\n", PGFLOW_VERSION, model->name, model->m, size, size > 1 ? "s" : "", core, path));
  PetscCall(WarnGenericBlas(comm, core));
  PetscCall(WriteAttributes(model, out));
  PetscCall(PgfModelWriteProblem(model, out));
  PetscCall(PgfFlowSolve(flow, out, status));
  PetscCall(PgfOutputSetAttributeInt(out, "completed", *status == PGF_EXIT_OK));
  PetscCall(PgfOutputDestroy(&out));
  PetscCall(PetscPrintf(comm, "results written to %s\n", path));
  PetscCall(PgfFlowDestroy(&flow));
  PetscCall(PgfModelDestroy(&model));
  PetscFunctionReturn(0);
}
