/* Checkpoints and signals. A checkpoint holds the particles U (m x dof, in
   global particle order, so a run may continue on any number of ranks) and
   the flow's scalar state. It is written to FILE.tmp and renamed into place,
   so that a kill at any moment leaves the previous checkpoint whole. */
#include "pgfimpl.h"
#include <stdio.h>

/* What a checkpoint needs of the model. */
typedef struct {
  MPI_Comm    comm;
  const char *name;
  PetscInt    m, dof, rstart, mloc;
} Layout;

static PetscErrorCode GetLayout(PgfModel model, Layout *l)
{
  PetscFunctionBegin;
  PetscCall(PgfModelGetComm(model, &l->comm));
  PetscCall(PgfModelGetType(model, &l->name));
  PetscCall(PgfModelGetSizes(model, &l->m, NULL, &l->dof, NULL));
  PetscCall(PgfModelGetOwnership(model, &l->rstart, &l->mloc));
  PetscFunctionReturn(0);
}

static const char *const field_names[PGF_CKPT_FIELDS] = {"t", "dt", "step", "rejected", "rhs_evals", "rhs_calls", "F0", "integral", "qt0", "qt1", "qt2", "qD0", "qD1", "qD2", "nq", "next_snapshot", "tsnap", "snapshots", "history"};

PetscErrorCode PgfCheckpointWrite(PgfModel model, const char path[], Vec U, const PetscReal state[])
{
  PgfOutput          out;
  Layout             l;
  char              *tmp, *options;
  size_t             len = strlen(path) + sizeof(".tmp");
  const PetscScalar *u;
  PetscMPIInt        rank;
  PetscInt           one    = 1;
  int                failed = 0;

  PetscFunctionBegin;
  PetscCall(GetLayout(model, &l));
  PetscCall(PetscMalloc1(len, &tmp));
  PetscCall(PetscSNPrintf(tmp, len, "%s.tmp", path));
  PetscCall(PgfOutputCreate(l.comm, "-checkpoint", tmp, &out));
  PetscCall(PetscOptionsGetAll(NULL, &options));
  PetscCall(PgfOutputSetAttributeString(out, "problem", l.name));
  PetscCall(PgfOutputSetAttributeInt(out, "particles", l.m));
  PetscCall(PgfOutputSetAttributeInt(out, "dof", l.dof));
  PetscCall(PgfOutputSetAttributeString(out, "options", options));
  PetscCall(PetscFree(options));
  PetscCall(PgfOutputWriteParameters(out, PETSC_TRUE));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(PgfOutputWriteParticles(out, "/U", l.m, l.rstart, l.mloc, l.dof, u));
  PetscCall(VecRestoreArrayRead(U, &u));
  for (PetscInt k = 0; k < PGF_CKPT_FIELDS; k++) {
    char name[64];

    PetscCall(PetscSNPrintf(name, sizeof(name), "/state/%s", field_names[k]));
    PetscCall(PgfOutputWriteRootArray(out, name, 1, &one, &state[k]));
  }
  PetscCall(PgfOutputDestroy(&out));
  /* every rank has closed the file before it replaces the previous one */
  PetscCallMPI(MPI_Barrier(l.comm));
  PetscCallMPI(MPI_Comm_rank(l.comm, &rank));
  if (!rank) failed = rename(tmp, path);
  PetscCallMPI(MPI_Bcast(&failed, 1, MPI_INT, 0, l.comm));
  PetscCheck(!failed, l.comm, PETSC_ERR_FILE_WRITE, "cannot rename %s to %s", tmp, path);
  PetscCall(PetscFree(tmp));
  PetscFunctionReturn(0);
}

/* Reads a checkpoint for this model into U and state; a checkpoint of
   another problem or size is the user's mistake. */
PetscErrorCode PgfCheckpointRead(PgfModel model, const char path[], Vec U, PetscReal state[])
{
  Layout       l;
  MPI_Comm     comm;
  char         problem[64];
  PetscInt     dims[2];
  PetscReal   *local;
  PetscScalar *u;
  PetscBool    same;
  PetscInt     bad = PETSC_MAX_INT;

  PetscFunctionBegin;
  PetscCall(GetLayout(model, &l));
  comm = l.comm;
  PetscCall(PgfReadAttributeString(comm, "-restart", path, "problem", problem, sizeof(problem)));
  PetscCall(PetscStrcmp(problem, l.name, &same));
  PgfCheckInput(comm, same, "-restart %s: the checkpoint is of -problem %s, the options give %s", path, problem, l.name);
  /* the options that define the problem must be those the checkpoint was
     written with (a checkpoint without /parameters predates them) */
  for (PetscInt k = 0; k < PgfParamsCount(); k++) {
    const char *name, *value;
    char        kind, there[PETSC_MAX_PATH_LEN];
    PetscBool   model, found;

    PgfParamsGet(k, &name, &value, &kind, &model);
    if (!model) continue;
    PetscCall(PgfReadParameter(comm, "-restart", path, name + 1, there, sizeof(there), &found));
    PgfCheckInput(comm, !found || (kind == 'r' ? atof(there) == atof(value) : !strcmp(there, value)), "-restart %s: the checkpoint was written with %s %s, the options give %s %s", path, name, there, name, value);
  }
  PetscCall(PgfReadArrayShape(comm, "-restart", path, "U", 2, dims));
  PgfCheckInput(comm, dims[0] == l.m, "-restart %s: the checkpoint has %" PetscInt_FMT " particles, the options give %" PetscInt_FMT, path, dims[0], l.m);
  PgfCheckInput(comm, dims[1] == l.dof, "-restart %s: the checkpoint's particles have %" PetscInt_FMT " coordinates, the options give %" PetscInt_FMT, path, dims[1], l.dof);
  PetscCall(PgfReadArrayRows(comm, "-restart", path, "U", 2, l.rstart, l.mloc, &local));
  for (PetscInt k = 0; k < l.mloc * l.dof; k++)
    if (PetscIsInfOrNanReal(local[k])) bad = PetscMin(bad, l.rstart + k / l.dof);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT, MPI_MIN, comm));
  PgfCheckInput(comm, bad == PETSC_MAX_INT, "-restart %s: particle %" PetscInt_FMT " of the checkpoint is not finite", path, bad);
  PetscCall(VecGetArray(U, &u));
  PetscCall(PetscArraycpy(u, local, l.mloc * l.dof));
  PetscCall(VecRestoreArray(U, &u));
  PetscCall(PetscFree(local));
  for (PetscInt k = 0; k < PGF_CKPT_FIELDS; k++) {
    char       name[64];
    PetscInt   n;
    PetscReal *v;

    PetscCall(PetscSNPrintf(name, sizeof(name), "state/%s", field_names[k]));
    PetscCall(PgfReadArray(comm, "-restart", path, name, 1, &n, &v));
    PgfCheckInput(comm, n == 1, "-restart %s: /%s must hold one value", path, name);
    state[k] = v[0];
    PetscCall(PetscFree(v));
    /* a NaN time or step made a run that never ends */
    PgfCheckInput(comm, !PetscIsInfOrNanReal(state[k]) && (state[k] >= 0 || k == PGF_CKPT_F0 || k == PGF_CKPT_INTEGRAL), "-restart %s: /%s is %g; the checkpoint is damaged", path, name, (double)state[k]);
  }
  PgfCheckInput(comm, state[PGF_CKPT_DT] > 0, "-restart %s: /state/dt is %g, not a positive step; the checkpoint is damaged", path, (double)state[PGF_CKPT_DT]);
  PetscFunctionReturn(0);
}
