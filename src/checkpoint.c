/* Checkpoints and signals. A checkpoint holds the particles U (m x dof, in
   global particle order, so a run may continue on any number of ranks), the
   flow's scalar state and the run it belongs to (its run id and results
   file). It is written to FILE.RUNID.tmp, a name no other run uses, and
   renamed into place, so that a kill at any moment leaves the previous
   checkpoint whole; a write that fails removes its temporary file. The
   scalar state is not known here: each component registers its named
   values once, and the checkpoint writes and reads them by name. The
   solver attribute says whose state it is: a particle flow's (a checkpoint
   without it predates it) or Sliding Frank-Wolfe's, whose /U holds the
   spikes (sfw.c). */
#include "pgfimpl.h"
#include <hdf5.h>
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

/* One named value of the state. */
typedef struct {
  char          name[32];
  PgfStateRange range;
  PetscReal    *real;
  PetscInt     *integer;
  PetscInt64   *integer64;
  PetscErrorCode (*get)(void *, PetscReal *);
  PetscErrorCode (*set)(void *, PetscReal);
  void *ctx;
} Entry;

#define MAX_ENTRIES 64

struct _p_PgfCheckpoint {
  PgfModel    model;
  const char *solver; /* "flow" or "sfw" */
  Entry       entries[MAX_ENTRIES];
  PetscInt    n;
};

/* solver names the run whose state it holds: "flow" or "sfw". */
PetscErrorCode PgfCheckpointCreate(PgfModel model, const char solver[], PgfCheckpoint *ckpt)
{
  PetscFunctionBegin;
  PetscCall(PetscNew(ckpt));
  (*ckpt)->model  = model;
  (*ckpt)->solver = solver;
  PetscFunctionReturn(0);
}

/* How the user runs what wrote a checkpoint of this solver. */
static const char *SolverRun(const char solver[])
{
  return strcmp(solver, "sfw") ? "a particle flow (a run without -baseline sfw)" : "Sliding Frank-Wolfe (-baseline sfw)";
}

PetscErrorCode PgfCheckpointDestroy(PgfCheckpoint *ckpt)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(*ckpt));
  PetscFunctionReturn(0);
}

static PetscErrorCode AddEntry(PgfCheckpoint ckpt, const char name[], PgfStateRange range, Entry **e)
{
  PetscFunctionBegin;
  PetscCheck(ckpt->n < MAX_ENTRIES, PETSC_COMM_SELF, PETSC_ERR_PLIB, "more than %d values of checkpointed state", MAX_ENTRIES);
  *e = &ckpt->entries[ckpt->n++];
  PetscCall(PetscStrncpy((*e)->name, name, sizeof((*e)->name)));
  (*e)->range = range;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfCheckpointAddReal(PgfCheckpoint ckpt, const char name[], PgfStateRange range, PetscReal *value)
{
  Entry *e = NULL;

  PetscFunctionBegin;
  PetscCall(AddEntry(ckpt, name, range, &e));
  e->real = value;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfCheckpointAddInt(PgfCheckpoint ckpt, const char name[], PetscInt *value)
{
  Entry *e = NULL;

  PetscFunctionBegin;
  PetscCall(AddEntry(ckpt, name, PGF_STATE_NONNEGATIVE, &e));
  e->integer = value;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfCheckpointAddInt64(PgfCheckpoint ckpt, const char name[], PetscInt64 *value)
{
  Entry *e = NULL;

  PetscFunctionBegin;
  PetscCall(AddEntry(ckpt, name, PGF_STATE_NONNEGATIVE, &e));
  e->integer64 = value;
  PetscFunctionReturn(0);
}

/* A value the component computes when written and applies when read. */
PetscErrorCode PgfCheckpointAdd(PgfCheckpoint ckpt, const char name[], PgfStateRange range, PetscErrorCode (*get)(void *, PetscReal *), PetscErrorCode (*set)(void *, PetscReal), void *ctx)
{
  Entry *e = NULL;

  PetscFunctionBegin;
  PetscCall(AddEntry(ckpt, name, range, &e));
  e->get = get;
  e->set = set;
  e->ctx = ctx;
  PetscFunctionReturn(0);
}

static PetscErrorCode GetValue(const Entry *e, PetscReal *v)
{
  PetscFunctionBegin;
  if (e->real) *v = *e->real;
  else if (e->integer) *v = *e->integer;
  else if (e->integer64) *v = (PetscReal)*e->integer64;
  else PetscCall(e->get(e->ctx, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetValue(const Entry *e, PetscReal v)
{
  PetscFunctionBegin;
  if (e->real) *e->real = v;
  else if (e->integer) *e->integer = (PetscInt)v;
  else if (e->integer64) *e->integer64 = (PetscInt64)v;
  else PetscCall(e->set(e->ctx, v));
  PetscFunctionReturn(0);
}

/* The checkpoint's contents. */
static PetscErrorCode WriteContents(PgfOutput out, const Layout *l, PgfCheckpoint ckpt, Vec U, const char run_id[], const char output[])
{
  char              *options;
  const PetscScalar *u;
  PetscInt           one = 1;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetAll(NULL, &options));
  PetscCall(PgfOutputSetAttributeString(out, "version", PGFLOW_VERSION));
  PetscCall(PgfOutputSetAttributeString(out, "problem", l->name));
  PetscCall(PgfOutputSetAttributeString(out, "solver", ckpt->solver));
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
  for (PetscInt k = 0; k < ckpt->n; k++) {
    char      name[64];
    PetscReal v;

    PetscCall(GetValue(&ckpt->entries[k], &v));
    PetscCall(PetscSNPrintf(name, sizeof(name), "/state/%s", ckpt->entries[k].name));
    PetscCall(PgfOutputWriteRootArray(out, name, 1, &one, &v));
  }
  PetscFunctionReturn(0);
}

/* Writes the checkpoint at path for the run run_id, whose results file is
   output. Collective; on failure (a full disk, say) no temporary file is
   left and the error is returned on every rank. */
PetscErrorCode PgfCheckpointWrite(PgfCheckpoint ckpt, const char path[], Vec U, const char run_id[], const char output[])
{
  Layout         l;
  PgfOutput      out;
  char          *tmp;
  size_t         len = strlen(path) + strlen(run_id) + sizeof("..tmp");
  PetscMPIInt    rank;
  PetscErrorCode ierr;
  int            failed;

  PetscFunctionBegin;
  PetscCall(GetLayout(ckpt->model, &l));
  PetscCallMPI(MPI_Comm_rank(l.comm, &rank));
  PetscCall(PetscMalloc1(len, &tmp));
  PetscCall(PetscSNPrintf(tmp, len, "%s.%s.tmp", path, run_id));
  ierr = PgfOutputCreate(l.comm, "-checkpoint", tmp, &out);
  if (!ierr) {
    PetscErrorCode closed;

    ierr   = WriteContents(out, &l, ckpt, U, run_id, output);
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

/* Whether a checkpoint is due: 2 after a stop signal to any rank, 1 when
   interval seconds (0: never) have passed since *last by rank 0's clock,
   else 0; when one is due, *last becomes now. Collective: all ranks decide
   together. */
PetscErrorCode PgfCheckpointDue(MPI_Comm comm, PetscReal interval, PetscLogDouble *last, int *due)
{
  PetscMPIInt    rank;
  PetscLogDouble now;

  PetscFunctionBegin;
  *due = PgfSignalReceived() ? 2 : 0;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscTime(&now));
  if (!rank && interval > 0 && now - *last >= interval) *due = PetscMax(*due, 1);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, due, 1, MPI_INT, MPI_MAX, comm));
  if (*due) *last = now;
  PetscFunctionReturn(0);
}

/* The first registered value the checkpoint at path lacks (NULL: none),
   as rank 0 sees it. */
static PetscErrorCode FindMissing(PgfCheckpoint ckpt, MPI_Comm comm, const char path[], const char **missing)
{
  PetscMPIInt rank;
  PetscInt    k = -1;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);

    for (k = 0; file >= 0 && k < ckpt->n; k++) {
      char name[64];

      PetscCall(PetscSNPrintf(name, sizeof(name), "/state/%s", ckpt->entries[k].name));
      if (H5Lexists(file, "/state", H5P_DEFAULT) <= 0 || H5Lexists(file, name, H5P_DEFAULT) <= 0) break;
    }
    if (file >= 0) H5Fclose(file);
  }
  PetscCallMPI(MPI_Bcast(&k, 1, MPIU_INT, 0, comm));
  *missing = k >= 0 && k < ckpt->n ? ckpt->entries[k].name : NULL;
  PetscFunctionReturn(0);
}

/* Reads a checkpoint for this model into U and the registered state; a
   checkpoint of another problem or size, or of a layout without one of
   the registered values, is the user's mistake. */
PetscErrorCode PgfCheckpointRead(PgfCheckpoint ckpt, const char path[], Vec U)
{
  PgfModel     model = ckpt->model;
  PetscReal    state[MAX_ENTRIES];
  const char  *missing;
  Layout       l;
  MPI_Comm     comm;
  char         problem[64], solver[16];
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
  PetscCall(PgfReadAttributeStringIfAny(comm, path, "solver", solver, sizeof(solver), &same));
  if (!same) PetscCall(PetscStrcpy(solver, "flow"));
  PetscCall(PetscStrcmp(solver, ckpt->solver, &same));
  PgfCheckInput(comm, same, "-restart %s: the checkpoint is of %s, these options run %s; continue it with the options that wrote it", path, SolverRun(solver), SolverRun(ckpt->solver));
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
  PetscCall(FindMissing(ckpt, comm, path, &missing));
  if (missing) {
    char      version[64];
    PetscBool found;

    PetscCall(PgfReadAttributeStringIfAny(comm, path, "version", version, sizeof(version), &found));
    PgfInputError(comm, "-restart %s: the checkpoint has no /state/%s: it was written by %s%s, whose checkpoints this pgflow (%s) cannot continue; start a new run without -restart", path, missing, found ? "pgflow " : "an earlier pgflow, which recorded no version", found ? version : "", PGFLOW_VERSION);
  }
  for (PetscInt k = 0; k < ckpt->n; k++) {
    char       name[64];
    PetscInt   n;
    PetscReal *v;

    PetscCall(PetscSNPrintf(name, sizeof(name), "state/%s", ckpt->entries[k].name));
    PetscCall(PgfReadArray(comm, "-restart", path, name, 1, &n, &v));
    PgfCheckInput(comm, n == 1, "-restart %s: /%s must hold one value", path, name);
    state[k] = v[0];
    PetscCall(PetscFree(v));
    /* a NaN time or step made a run that never ends */
    PgfCheckInput(comm, !PetscIsInfOrNanReal(state[k]) && (state[k] >= 0 || ckpt->entries[k].range == PGF_STATE_SIGNED), "-restart %s: /%s is %g; the checkpoint is damaged", path, name, (double)state[k]);
  }
  for (PetscInt k = 0; k < ckpt->n; k++) PgfCheckInput(comm, ckpt->entries[k].range != PGF_STATE_POSITIVE || state[k] > 0, "-restart %s: /state/%s is %g, not a positive step; the checkpoint is damaged", path, ckpt->entries[k].name, (double)state[k]);
  for (PetscInt k = 0; k < ckpt->n; k++) PetscCall(SetValue(&ckpt->entries[k], state[k]));
  PetscFunctionReturn(0);
}
