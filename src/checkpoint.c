/* Checkpoints and signals. A checkpoint holds the particles U (m x dof, in
   global particle order, so a run may continue on any number of ranks), the
   flow's scalar state and the run it belongs to (its run id and results
   file). It is written to FILE.RUNID.tmp, a name no other run uses, and
   renamed into place, so that a kill at any moment leaves the previous
   checkpoint whole; a write that fails removes its temporary file. */
#include "pgfimpl.h"
#include <stdio.h>
#include <unistd.h>

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

/* The checkpoint's contents. */
static PetscErrorCode WriteContents(PgfOutput out, const Layout *l, Vec U, const PetscReal state[], const char run_id[], const char output[])
{
  char              *options;
  const PetscScalar *u;
  PetscInt           one = 1;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetAll(NULL, &options));
  PetscCall(PgfOutputSetAttributeString(out, "problem", l->name));
  PetscCall(PgfOutputSetAttributeInt(out, "particles", l->m));
  PetscCall(PgfOutputSetAttributeInt(out, "dof", l->dof));
  PetscCall(PgfOutputSetAttributeString(out, "options", options));
  PetscCall(PgfOutputSetAttributeString(out, "run_id", run_id));
  PetscCall(PgfOutputSetAttributeString(out, "output", output));
  PetscCall(PetscFree(options));
  PetscCall(PgfOutputWriteParameters(out, PETSC_TRUE));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(PgfOutputWriteParticles(out, "/U", l->m, l->rstart, l->mloc, l->dof, u));
  PetscCall(VecRestoreArrayRead(U, &u));
  for (PetscInt k = 0; k < PGF_CKPT_FIELDS; k++) {
    char name[64];

    PetscCall(PetscSNPrintf(name, sizeof(name), "/state/%s", field_names[k]));
    PetscCall(PgfOutputWriteRootArray(out, name, 1, &one, &state[k]));
  }
  PetscFunctionReturn(0);
}

/* Writes the checkpoint at path for the run run_id, whose results file is
   output. Collective; on failure (a full disk, say) no temporary file is
   left and the error is returned on every rank. */
PetscErrorCode PgfCheckpointWrite(PgfModel model, const char path[], Vec U, const PetscReal state[], const char run_id[], const char output[])
{
  Layout         l;
  PgfOutput      out;
  char          *tmp;
  size_t         len = strlen(path) + strlen(run_id) + sizeof("..tmp");
  PetscMPIInt    rank;
  PetscErrorCode ierr;
  int            failed;

  PetscFunctionBegin;
  PetscCall(GetLayout(model, &l));
  PetscCallMPI(MPI_Comm_rank(l.comm, &rank));
  PetscCall(PetscMalloc1(len, &tmp));
  PetscCall(PetscSNPrintf(tmp, len, "%s.%s.tmp", path, run_id));
  ierr = PgfOutputCreate(l.comm, "-checkpoint", tmp, &out);
  if (!ierr) {
    PetscErrorCode closed;

    ierr   = WriteContents(out, &l, U, state, run_id, output);
    closed = PgfOutputDestroy(&out);
    if (!ierr) ierr = closed;
  }
  failed = ierr != 0;
  /* every rank has closed the file (or failed) before it replaces the
     previous one */
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, l.comm));
  if (!rank) {
    if (!failed && rename(tmp, path)) failed = 2;
    if (failed) unlink(tmp);
  }
  PetscCallMPI(MPI_Bcast(&failed, 1, MPI_INT, 0, l.comm));
  PetscCall(PetscFree(tmp));
  if (ierr) PetscCall(ierr);
  PetscCheck(!failed, l.comm, PETSC_ERR_FILE_WRITE, "cannot write the checkpoint %s (%s)", path, failed == 2 ? "cannot rename its temporary file into place" : "another rank failed to write it");
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
  /* the options that define the problem and the integrator's trajectory
     must be those the checkpoint was written with (a checkpoint without
     /parameters, or without one of them, predates them) */
  for (PetscInt k = 0; k < PgfParamsCount(); k++) {
    const char *name, *value;
    char        kind, there[PETSC_MAX_PATH_LEN];
    PetscBool   model, found;

    PgfParamsGet(k, &name, &value, &kind, &model);
    if (!model) continue;
    PetscCall(PgfReadParameter(comm, "-restart", path, name + 1, there, sizeof(there), &found));
    if (found && kind == 'r' && atof(there) != atof(value)) PgfInputError(comm, "-restart %s: the checkpoint was written with %s %g, the options give %s %g", path, name, atof(there), name, atof(value));
    PgfCheckInput(comm, !found || kind == 'r' || !strcmp(there, value), "-restart %s: the checkpoint was written with %s %s, the options give %s %s", path, name, there, name, value);
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
