/* The application as bin/pgflow runs it: options, model, flow, results file. */
#include "pgfimpl.h"
#include "options.h"
#include <unistd.h>

static const char *const problems[] = {"twolayer", "deconv"};

/* OpenBLAS 0.3.21 does not recognise recent processors and falls back to a
   generic kernel several times slower (shared/ENVIRONMENT.md). */
static PetscErrorCode WarnGenericBlas(MPI_Comm comm, const char *core)
{
  PetscFunctionBegin;
  /* __builtin_cpu_supports and these kernel names exist on x86 only. */
#if defined(__x86_64__) || defined(__i386__)
  PetscBool generic;

  PetscCall(PetscStrcasecmp(core, "Prescott", &generic));
  if (generic && __builtin_cpu_supports("avx2") && !getenv("OPENBLAS_CORETYPE"))
    PetscCall(PetscPrintf(comm, "pgflow: warning: OpenBLAS uses its generic kernel (%s) on a processor with %s; set OPENBLAS_CORETYPE=%s for a several times faster run\n", core, __builtin_cpu_supports("avx512f") ? "AVX-512" : "AVX2", __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell"));
#endif
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

/* A checkpoint is written late (at a signal, say): the directory of one not
   beside the results file is checked now, before the run. */
static PetscErrorCode CheckDirectory(MPI_Comm comm, const char option[], const char path[])
{
  char        dir[PETSC_MAX_PATH_LEN], *slash;
  PetscMPIInt rank;
  int         ok = 0;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  slash = strrchr(dir, '/');
  if (slash) slash[slash == dir] = 0;
  else PetscCall(PetscStrncpy(dir, ".", sizeof(dir)));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) ok = !access(dir, W_OK | X_OK);
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  PgfCheckInput(comm, ok, "%s %s: the directory %s must exist and be writable", option, path, dir);
  PetscFunctionReturn(0);
}

/* The results file: on a restart, the interrupted run's file if it still
   holds that run's results up to the checkpoint, else a new one. */
static PetscErrorCode OpenResults(PgfModel model, PgfFlow flow, const char path[], const char restart[], PgfOutput *out, PetscBool *created)
{
  PetscInt  nsnap, nhist;
  PetscReal tsnap, t;

  PetscFunctionBegin;
  *out = NULL;
  if (restart[0]) {
    PetscCall(PgfFlowRestart(flow, restart, &nsnap, &tsnap, &nhist, &t));
    PetscCall(PgfOutputOpen(model->comm, path, model->name, model->m, nsnap, tsnap, nhist, t, out));
    if (*out) PetscCall(PetscPrintf(model->comm, "pgflow: continuing from %s; results appended to %s\n", restart, path));
    else PetscCall(PetscPrintf(model->comm, "pgflow: continuing from %s; %s does not hold the results up to it: a new results file holds them from the restart on\n", restart, path));
  }
  *created = (PetscBool) !*out;
  if (*created) PetscCall(PgfOutputCreate(model->comm, "-output", path, out));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfRun(MPI_Comm comm, PgfExitStatus *status)
{
  PgfModel    model;
  PgfFlow     flow;
  PgfOutput   out;
  PetscInt    problem = 0;
  PetscMPIInt size;
  PetscReal   interval;
  char        path[PETSC_MAX_PATH_LEN], checkpoint[PETSC_MAX_PATH_LEN], restart[PETSC_MAX_PATH_LEN];
  const char *core;
  PetscBool   help, created, own_checkpoint;

  PetscFunctionBegin;
  *status = PGF_EXIT_OK;
  PetscCall(PgfSetInputPhase(PETSC_TRUE));
  PetscOptionsBegin(comm, NULL, "pgflow: particle gradient flows (see README.md)", NULL);
  PetscCall(PgfOptionsEList(comm, "-problem", "Problem", problems, 2, problem, &problem));
  PetscCall(PgfOptionsString(comm, "-output", "Results file (HDF5)", "pgflow.h5", path, sizeof(path)));
  PetscCall(PgfOptionsString(comm, "-checkpoint", "Checkpoint file (HDF5), written on SIGTERM, SIGINT, SIGUSR1 and every -checkpoint_interval (default: -output with .h5 replaced by .ckpt.h5)", "", checkpoint, sizeof(checkpoint)));
  PetscCall(PgfOptionsReal(comm, "-checkpoint_interval", "Seconds of wall time between checkpoints (0: on signals only)", 0, 0, PETSC_MAX_REAL, &interval));
  PetscCall(PgfOptionsString(comm, "-restart", "Continue from this checkpoint file", "", restart, sizeof(restart)));
  PetscOptionsEnd();
  own_checkpoint = (PetscBool)(checkpoint[0] != 0);
  if (!own_checkpoint) {
    size_t len = strlen(path);

    PetscCall(PetscStrncpy(checkpoint, path, sizeof(checkpoint)));
    if (len > 3 && !strcmp(path + len - 3, ".h5")) checkpoint[len - 3] = 0;
    PetscCall(PetscStrlcat(checkpoint, ".ckpt.h5", sizeof(checkpoint)));
  }
  PetscCall(PgfModelCreate(comm, problems[problem], &model));
  PetscCall(PgfModelSetFromOptions(model));
  PetscCall(PgfFlowCreate(model, &flow));
  PetscCall(PgfFlowSetFromOptions(flow));
  PetscCall(PgfFlowSetCheckpoint(flow, checkpoint, interval));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(PgfFlowDestroy(&flow));
    PetscCall(PgfModelDestroy(&model));
    PetscFunctionReturn(0);
  }
  if (own_checkpoint) PetscCall(CheckDirectory(comm, "-checkpoint", checkpoint));
  PetscCall(OpenResults(model, flow, path, restart, &out, &created));
  PetscCall(PgfSetInputPhase(PETSC_FALSE));
  PetscCall(WriteAttributes(model, out));
  if (created) PetscCall(PgfModelWriteProblem(model, out));

  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PgfBlasCoreName(&core));
  PetscCall(PetscPrintf(comm, "pgflow %s: %s with %" PetscInt_FMT " particles on %d rank%s (BLAS kernel %s), results in %s\n", PGFLOW_VERSION, model->name, model->m, size, size > 1 ? "s" : "", core, path));
  PetscCall(WarnGenericBlas(comm, core));
  PetscCall(PgfFlowSolve(flow, out, status));
  PetscCall(PgfOutputSetAttributeInt(out, "completed", *status == PGF_EXIT_OK));
  PetscCall(PgfOutputDestroy(&out));
  PetscCall(PetscPrintf(comm, "results written to %s\n", path));
  PetscCall(PgfFlowDestroy(&flow));
  PetscCall(PgfModelDestroy(&model));
  PetscFunctionReturn(0);
}
