/* The model interface: the parts of doc/math.md section 2 common to every
   problem. A model's particles are split over the ranks in contiguous blocks
   (section 7); the predictor h is assembled by one MPI_Allreduce. */
#include "modelimpl.h"
#include "options.h"
#include <unistd.h>

/* The problems pgflow knows, by name (-problem). A new problem adds one
   line here and one file (doc/adding-a-problem.md). */
PetscFunctionList PgfModelList;

/* pgflow's stages of work in -log_view (the integrator's own events miss
   them: its function evaluations are mostly answered from pgflow's cache). */
PetscLogEvent PGF_Evaluate, PGF_Reduce, PGF_JacobianAssemble, PGF_JacobianApply, PGF_Gap, PGF_Snapshot, PGF_Checkpoint, PGF_Ridge, PGF_Spectrum, PGF_SetUpProblem, PGF_SetUpData, PGF_SetUpWork, PGF_SetUpParticles, PGF_SetUpSnapshot;
PetscLogEvent PGF_BirthDeath, PGF_Langevin;

static PetscErrorCode RegisterEvents(void)
{
  PetscClassId id;

  PetscFunctionBegin;
  if (PGF_Evaluate) PetscFunctionReturn(0);
  PetscCall(PetscClassIdRegister("pgflow", &id));
  PetscCall(PetscLogEventRegister("PgfEvaluate", id, &PGF_Evaluate));
  PetscCall(PetscLogEventRegister("PgfReduce", id, &PGF_Reduce));
  PetscCall(PetscLogEventRegister("PgfJacAssemble", id, &PGF_JacobianAssemble));
  PetscCall(PetscLogEventRegister("PgfJacApply", id, &PGF_JacobianApply));
  PetscCall(PetscLogEventRegister("PgfGap", id, &PGF_Gap));
  PetscCall(PetscLogEventRegister("PgfSnapshot", id, &PGF_Snapshot));
  PetscCall(PetscLogEventRegister("PgfCheckpoint", id, &PGF_Checkpoint));
  PetscCall(PetscLogEventRegister("PgfRidgeSolve", id, &PGF_Ridge));
  PetscCall(PetscLogEventRegister("PgfSpectrum", id, &PGF_Spectrum));
  PetscCall(PetscLogEventRegister("PgfSetUpProblem", id, &PGF_SetUpProblem));
  PetscCall(PetscLogEventRegister("PgfSetUpData", id, &PGF_SetUpData));
  PetscCall(PetscLogEventRegister("PgfSetUpWork", id, &PGF_SetUpWork));
  PetscCall(PetscLogEventRegister("PgfSetUpParticle", id, &PGF_SetUpParticles));
  PetscCall(PetscLogEventRegister("PgfSetUpSnapshot", id, &PGF_SetUpSnapshot));
  PetscCall(PetscLogEventRegister("PgfBirthDeath", id, &PGF_BirthDeath));
  PetscCall(PetscLogEventRegister("PgfLangevin", id, &PGF_Langevin));
  PetscFunctionReturn(0);
}

/* Also called by the libraries of -dll_append while PetscInitialize loads
   them, before the built-in problems: a name registered twice, by two
   libraries or a library and pgflow, is refused rather than replaced. */
PetscErrorCode PgfModelRegister(const char name[], PetscErrorCode (*create)(PgfModel))
{
  PetscErrorCode (*existing)(PgfModel) = NULL;

  PetscFunctionBegin;
  PetscCall(PetscFunctionListFind(PgfModelList, name, &existing));
  PgfCheckInput(PETSC_COMM_SELF, !existing, "problem '%s' is registered twice (a -dll_append library may add a problem of a new name only)", name);
  PetscCall(PetscFunctionListAdd(&PgfModelList, name, create));
  PetscCall(PgfLibraryRegistered((void (*)(void))create));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelRegisterAll(void)
{
  static PetscBool registered;

  PetscFunctionBegin;
  PetscCall(RegisterEvents());
  if (registered) PetscFunctionReturn(0);
  registered = PETSC_TRUE;
  PetscCall(PgfModelRegister("twolayer", PgfModelCreate_TwoLayer));
  PetscCall(PgfModelRegister("deconv", PgfModelCreate_Deconv));
  PetscFunctionReturn(0);
}

/* A model of the registered problem name; an unknown name is the user's
   mistake (-problem). */
PetscErrorCode PgfModelCreate(MPI_Comm comm, const char name[], PgfModel *model)
{
  PgfModel mdl;
  PetscErrorCode (*create)(PgfModel) = NULL;

  PetscFunctionBegin;
  PetscCall(PgfModelRegisterAll());
  PetscCall(PetscFunctionListFind(PgfModelList, name, &create));
  if (!create) {
    const char **names;
    int          n;
    char         accepted[256] = "";

    PetscCall(PetscFunctionListGet(PgfModelList, &names, &n));
    for (int k = 0; k < n; k++) {
      if (!names[k] || !names[k][0]) continue;
      PetscCall(PetscStrlcat(accepted, accepted[0] ? ", " : "", sizeof(accepted)));
      PetscCall(PetscStrlcat(accepted, names[k], sizeof(accepted)));
    }
    PetscCall(PetscFree(names));
    PgfInputError(comm, "-problem must be one of %s (got '%s')", accepted, name);
  }
  PetscCall(PetscNew(&mdl));
  mdl->comm    = comm;
  mdl->rowcomm = MPI_COMM_NULL;
  mdl->colcomm = MPI_COMM_NULL;
  mdl->step    = -1;
  PetscCall(PetscStrncpy(mdl->name, name, sizeof(mdl->name)));
  PetscCall(create(mdl));
  *model = mdl;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetComm(PgfModel model, MPI_Comm *comm)
{
  PetscFunctionBegin;
  *comm = model->comm;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetType(PgfModel model, const char **name)
{
  PetscFunctionBegin;
  *name = model->name;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetSeed(PgfModel model, PetscInt64 *seed)
{
  PetscFunctionBegin;
  *seed = model->seed;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetSampleGroups(PgfModel model, PetscInt *groups)
{
  PetscFunctionBegin;
  *groups = model->groups;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetMemoryLimit(PgfModel model, PetscReal *bytes)
{
  PetscFunctionBegin;
  *bytes = model->memory_limit;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelHasOperation(PgfModel model, PgfModelOperation op, PetscBool *has)
{
  PetscFunctionBegin;
  switch (op) {
    case PGF_OP_JACOBIAN: *has = (PetscBool)(model->ops.jacobian != NULL); break;
    case PGF_OP_JACOBIAN_APPLY: *has = (PetscBool)(model->ops.jacobianapply != NULL); break;
    case PGF_OP_JACOBIAN_SOLVE: *has = (PetscBool)(model->ops.jacobiansolve != NULL); break;
    case PGF_OP_HJACOBIAN: *has = (PetscBool)(model->ops.hjacobian != NULL); break;
    case PGF_OP_ACCEPTABLE: *has = (PetscBool)(model->ops.acceptable != NULL); break;
    case PGF_OP_SETSTEP: *has = (PetscBool)(model->ops.setstep != NULL); break;
    case PGF_OP_FIRSTVARIATION: *has = (PetscBool)(model->ops.firstvariation != NULL); break;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetRidge(PgfModel model, const PetscReal **y, PetscReal *lambda)
{
  PetscFunctionBegin;
  *y      = NULL;
  *lambda = 0;
  if (model->ops.ridge) PetscCall(model->ops.ridge(model, y, lambda));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelHJacobian(PgfModel model, const PetscScalar u[], PetscInt j0, PetscInt nj, PetscInt c, PetscReal A[])
{
  PetscFunctionBegin;
  PetscCall(model->ops.hjacobian(model, u, j0, nj, c, A));
  PetscFunctionReturn(0);
}

/* How the model's particles split into a radius and a direction (for the
   conic dynamics), and why they do not when they do not. */
PetscErrorCode PgfModelGetRadial(PgfModel model, PgfRadial *radial, const char **why)
{
  PetscFunctionBegin;
  *radial = model->radial;
  *why    = model->radialwhy ? model->radialwhy : "this problem declares none";
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetDefaultTSType(PgfModel model, const char **type)
{
  PetscFunctionBegin;
  *type = model->tstype;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelSetTSDefaults(PgfModel model, TS ts)
{
  PetscFunctionBegin;
  if (model->ops.tsdefaults) PetscCall(model->ops.tsdefaults(model, ts));
  PetscFunctionReturn(0);
}

/* The default -memory_limit: three quarters of the node's memory (or of the
   job's cgroup limit when smaller), shared by the ranks on the node. */
static PetscErrorCode DefaultMemoryLimit(MPI_Comm comm, PetscReal *bytes)
{
  MPI_Comm    node;
  PetscMPIInt onnode;
  PetscReal   total = (PetscReal)sysconf(_SC_PHYS_PAGES) * (PetscReal)sysconf(_SC_PAGE_SIZE);
  FILE       *f     = fopen("/sys/fs/cgroup/memory.max", "r");
  double      limit;

  PetscFunctionBegin;
  if (f) {
    if (fscanf(f, "%lf", &limit) == 1 && limit > 0 && limit < total) total = limit;
    fclose(f);
  }
  PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_size(node, &onnode));
  PetscCallMPI(MPI_Comm_free(&node));
  *bytes = 0.75 * total / onnode;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, bytes, 1, MPIU_REAL, MPI_MIN, comm));
  PetscFunctionReturn(0);
}

/* Contiguous split of n items over size parts, the first ones one larger. */
static void Split(PetscInt n, PetscMPIInt size, PetscMPIInt rank, PetscInt *start, PetscInt *count)
{
  *count = n / size + (rank < n % size);
  *start = rank * (n / size) + PetscMin(rank, n % size);
}

/* The 2-D decomposition (-sample_groups G): rank r = q G + g is in sample
   group g and particle group q. The G ranks of a particle group own
   consecutive blocks of particles in the state vector; the model's
   operations act on their union (gathered along colcomm) and on the samples
   of group g. h is reduced along rowcomm (same g), the loss and the
   velocities along colcomm (same q). G = 1 is the 1-D layout. */
static PetscErrorCode SetUpGroups(PgfModel model, PetscInt G)
{
  PetscMPIInt size, rank, g, q;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(model->comm, &size));
  PetscCallMPI(MPI_Comm_rank(model->comm, &rank));
  PgfCheckInput(model->comm, size % G == 0, "-sample_groups must divide the number of ranks %d (got %" PetscInt_FMT ")", size, G);
  model->groups = G;
  g             = rank % (PetscMPIInt)G;
  q             = rank / (PetscMPIInt)G;
  model->sgroup = g;
  PetscCallMPI(MPI_Comm_split(model->comm, g, q, &model->rowcomm));
  PetscCallMPI(MPI_Comm_split(model->comm, q, g, &model->colcomm));
  PetscCall(PetscMalloc2(G, &model->counts, G, &model->displs));
  model->nact = 0;
  for (PetscMPIInt k = 0; k < G; k++) {
    PetscInt start, count;

    Split(model->m, size, q * (PetscMPIInt)G + k, &start, &count);
    model->displs[k] = (PetscMPIInt)model->nact;
    model->counts[k] = (PetscMPIInt)count;
    model->nact += count;
  }
  PetscFunctionReturn(0);
}

/* -particles, -seed, -memory_limit and -sample_groups, then the problem's
   own options. The problem sets npos and N. */
PetscErrorCode PgfModelSetFromOptions(PgfModel model)
{
  PetscInt    seed = 0, groups = 1;
  PetscMPIInt size, rank;

  PetscFunctionBegin;
  model->m = 100;
  PetscCall(DefaultMemoryLimit(model->comm, &model->memory_limit));
  PetscOptionsBegin(model->comm, NULL, "Particles", NULL);
  PgfParamsModelScope(PETSC_TRUE);
  PetscCall(PgfOptionsInt(model->comm, "-particles", "Number of particles m", model->m, 1, PETSC_MAX_INT, &model->m));
  PetscCall(PgfOptionsInt(model->comm, "-seed", "Seed of all random draws", seed, 0, PETSC_MAX_INT, &seed));
  PgfParamsModelScope(PETSC_FALSE);
  PetscCall(PgfOptionsBytes(model->comm, "-memory_limit", "Working memory per rank in bytes, suffix k, M, G or T (default: 3/4 of the node's memory over its ranks)", model->memory_limit, &model->memory_limit));
  PetscCall(PgfOptionsInt(model->comm, "-sample_groups", "Split the ranks into G groups of samples times ranks/G groups of particles (twolayer)", groups, 1, PETSC_MAX_INT, &groups));
  PetscOptionsEnd();
  model->seed = seed;
  PetscCallMPI(MPI_Comm_size(model->comm, &size));
  PetscCallMPI(MPI_Comm_rank(model->comm, &rank));
  Split(model->m, size, rank, &model->rstart, &model->mloc);
  PgfCheckInput(model->comm, groups == 1 || model->samplegroups, "-sample_groups needs a problem with samples to split (-problem twolayer), not -problem %s", model->name);
  PetscCall(SetUpGroups(model, groups));
  PgfParamsModelScope(PETSC_TRUE);
  PetscCall(PetscLogEventBegin(PGF_SetUpProblem, 0, 0, 0, 0));
  PetscCall(model->ops.setfromoptions(model));
  PetscCall(PetscLogEventEnd(PGF_SetUpProblem, 0, 0, 0, 0));
  PgfParamsModelScope(PETSC_FALSE);
  model->dof = 1 + model->npos;
  PetscCall(PgfModelReserve(model, sizeof(PetscReal) * (2.0 * model->N + (groups > 1 ? 2.0 * model->nact * model->dof : 0)), "the predictor and its gradient"));
  PetscCall(PetscMalloc2(model->N + 1, &model->hbuf, model->N, &model->rho));
  for (PetscInt k = 0; k < groups; k++) {
    model->counts[k] *= (PetscMPIInt)model->dof; /* in values from now on */
    model->displs[k] *= (PetscMPIInt)model->dof;
  }
  if (groups > 1) PetscCall(PetscMalloc2(model->nact * model->dof, &model->ugroup, model->nact * model->dof, &model->vgroup));
  PetscFunctionReturn(0);
}

/* Every large allocation of a run is reserved against -memory_limit before
   it is made, so that a run too large for it is refused at once, naming
   what does not fit. Collective: bytes is this rank's share, the decision
   is on the largest over the ranks. */
PetscErrorCode PgfModelReserve(PgfModel model, PetscReal bytes, const char what[])
{
  PetscReal most = bytes, gib = 1 << 30;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &most, 1, MPIU_REAL, MPI_MAX, model->comm));
  PgfCheckInput(model->comm, model->reserved + most <= model->memory_limit, "-memory_limit %.4g GiB per rank is too small: %s need%s %.4g GiB per rank, with %.4g GiB reserved before; use more ranks or raise -memory_limit", (double)(model->memory_limit / gib), what, what[strlen(what) - 1] == 's' ? "" : "s", (double)(most / gib), (double)(model->reserved / gib));
  model->reserved += most;
  PetscFunctionReturn(0);
}

/* What is left of -memory_limit per rank. */
PetscErrorCode PgfModelAvailableMemory(PgfModel model, PetscReal *bytes)
{
  PetscFunctionBegin;
  *bytes = model->memory_limit - model->reserved;
  PetscFunctionReturn(0);
}

/* The samples of this rank's sample group out of n: first and count. */
PetscErrorCode PgfModelSampleRange(PgfModel model, PetscInt n, PetscInt *start, PetscInt *count)
{
  PetscFunctionBegin;
  Split(n, (PetscMPIInt)model->groups, (PetscMPIInt)model->sgroup, start, count);
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetSizes(PgfModel model, PetscInt *m, PetscInt *npos, PetscInt *dof, PetscInt *N)
{
  PetscFunctionBegin;
  if (m) *m = model->m;
  if (npos) *npos = model->npos;
  if (dof) *dof = model->dof;
  if (N) *N = model->N;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetOwnership(PgfModel model, PetscInt *rstart, PetscInt *mloc)
{
  PetscFunctionBegin;
  if (rstart) *rstart = model->rstart;
  if (mloc) *mloc = model->mloc;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelCreateVec(PgfModel model, Vec *U)
{
  PetscFunctionBegin;
  PetscCall(VecCreateMPI(model->comm, model->mloc * model->dof, model->m * model->dof, U));
  PetscCall(VecSetBlockSize(*U, model->dof));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelInitialize(PgfModel model, Vec U)
{
  PetscScalar *u;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_SetUpParticles, U, 0, 0, 0));
  PetscCall(VecGetArray(U, &u));
  PetscCall(model->ops.initialize(model, u));
  PetscCall(VecRestoreArray(U, &u));
  PetscCall(PetscLogEventEnd(PGF_SetUpParticles, U, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* h = (1/m) sum_i Phi(u_i) with one MPI_Allreduce, which also carries the
   local sum of V; then F_m = R(h) + (1/m) sum_i V(u_i) and rho. */
static PetscErrorCode Predict(PgfModel model, const PetscScalar *u, PetscReal *F)
{
  PetscReal         *h  = model->hbuf, R;
  const PetscScalar *ug = u;
  PetscLogDouble     t0, t1, t2, t3;

  PetscFunctionBegin;
  PetscCall(PetscTime(&t0));
  if (model->groups > 1) {
    PetscMPIInt n = (PetscMPIInt)(model->mloc * model->dof);

    PetscCallMPI(MPI_Allgatherv(u, n, MPIU_SCALAR, model->ugroup, model->counts, model->displs, MPIU_SCALAR, model->colcomm));
    ug = model->ugroup;
  }
  PetscCall(PetscTime(&t1));
  PetscCall(PetscArrayzero(h, model->N));
  PetscCall(model->ops.predict(model, ug, h));
  PetscCall(model->ops.regularizer(model, ug, &h[model->N]));
  PetscCall(PetscTime(&t2));
  PetscCall(PetscLogEventBegin(PGF_Reduce, 0, 0, 0, 0));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, h, (PetscMPIInt)(model->N + 1), MPIU_REAL, MPI_SUM, model->rowcomm));
  PetscCall(PetscLogEventEnd(PGF_Reduce, 0, 0, 0, 0));
  PetscCall(PetscTime(&t3));
  for (PetscInt k = 0; k <= model->N; k++) h[k] /= model->m;
  PetscCall(model->ops.loss(model, h, &R, model->rho));
  if (model->groups > 1) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &R, 1, MPIU_REAL, MPI_SUM, model->colcomm));
  *F               = R + h[model->N];
  model->comm_last = (t1 - t0) + (t3 - t2);
  PetscFunctionReturn(0);
}

/* Velocities of this rank's particles: with sample groups, the partial
   velocities of the group's particles summed over the sample groups. */
static PetscErrorCode Velocity(PgfModel model, const PetscScalar *u, PetscScalar *v)
{
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  if (model->groups == 1) {
    PetscCall(model->ops.velocity(model, u, model->rho, v));
    PetscFunctionReturn(0);
  }
  PetscCall(model->ops.velocity(model, model->ugroup, model->rho, model->vgroup));
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Reduce_scatter(model->vgroup, v, model->counts, MPIU_SCALAR, MPI_SUM, model->colcomm));
  PetscCall(PetscTime(&t1));
  model->comm_last += t1 - t0;
  PetscFunctionReturn(0);
}

/* The velocity field v (doc/math.md section 2) and the objective F_m at U. */
PetscErrorCode PgfModelEvaluate(PgfModel model, Vec U, Vec V, PetscReal *F)
{
  const PetscScalar *u;
  PetscScalar       *v;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_Evaluate, U, V, 0, 0));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(VecGetArrayWrite(V, &v));
  if (model->ops.evaluate) {
    PetscCall(model->ops.evaluate(model, u, F, v));
  } else {
    PetscCall(Predict(model, u, F));
    PetscCall(Velocity(model, u, v));
  }
  model->comm_time += model->comm_last;
  PetscCall(VecRestoreArrayWrite(V, &v));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscCall(PetscLogEventEnd(PGF_Evaluate, U, V, 0, 0));
  PetscFunctionReturn(0);
}

/* With sample groups, the partial values of the group's particles summed
   over the sample groups, as Velocity() does with one value per particle. */
PetscErrorCode PgfModelFirstVariation(PgfModel model, Vec U, PetscReal V[])
{
  const PetscScalar *u;
  PetscMPIInt       *counts;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(U, &u));
  if (model->groups == 1) PetscCall(model->ops.firstvariation(model, u, model->rho, V));
  else {
    PetscCall(model->ops.firstvariation(model, model->ugroup, model->rho, model->vgroup));
    PetscCall(PetscMalloc1(model->groups, &counts));
    for (PetscInt k = 0; k < model->groups; k++) counts[k] = model->counts[k] / (PetscMPIInt)model->dof;
    PetscCallMPI(MPI_Reduce_scatter(model->vgroup, V, counts, MPIU_REAL, MPI_SUM, model->colcomm));
    PetscCall(PetscFree(counts));
  }
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelReplaced(PgfModel model)
{
  PetscFunctionBegin;
  if (model->ops.replaced) PetscCall(model->ops.replaced(model));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelObjective(PgfModel model, Vec U, PetscReal *F)
{
  const PetscScalar *u;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(U, &u));
  if (model->ops.evaluate) {
    PetscCall(model->ops.evaluate(model, u, F, NULL));
  } else PetscCall(Predict(model, u, F));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscFunctionReturn(0);
}

/* The integrator is about to evaluate the velocities of step k: models whose
   velocity depends on it (mini-batch SGD) are told, and *changed says that
   velocities computed at another step no longer hold. */
PetscErrorCode PgfModelSetStep(PgfModel model, PetscInt step, PetscBool *changed)
{
  PetscFunctionBegin;
  *changed    = (PetscBool)(model->ops.setstep && step != model->step);
  model->step = step;
  if (*changed) PetscCall(model->ops.setstep(model, step));
  PetscFunctionReturn(0);
}

/* R(h) at U, without the regularizer, in buffers of its own: the last
   evaluation's h and rho stay valid. */
PetscErrorCode PgfModelRisk(PgfModel model, Vec U, PetscReal *R)
{
  const PetscScalar *u;
  PetscReal         *h, *rho;

  PetscFunctionBegin;
  PetscCall(PetscCalloc2(model->N, &h, model->N, &rho));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(model->ops.predict(model, u, h));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, h, (PetscMPIInt)model->N, MPIU_REAL, MPI_SUM, model->comm));
  for (PetscInt k = 0; k < model->N; k++) h[k] /= model->m;
  PetscCall(model->ops.loss(model, h, R, rho));
  PetscCall(PetscFree2(h, rho));
  PetscFunctionReturn(0);
}

/* The Jacobian of v at U (the model's optional jacobian op), assembled. */
PetscErrorCode PgfModelJacobian(PgfModel model, Vec U, Mat J)
{
  const PetscScalar *u;
  PetscReal          F;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_JacobianAssemble, U, J, 0, 0));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(Predict(model, u, &F));
  PetscCall(model->ops.jacobian(model, u, model->rho, J));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscCall(MatAssemblyBegin(J, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(J, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscLogEventEnd(PGF_JacobianAssemble, U, J, 0, 0));
  PetscFunctionReturn(0);
}

/* The Jacobian of v at U, matrix-free: prepare at U, then apply to any x. */
PetscErrorCode PgfModelJacobianPrepare(PgfModel model, Vec U)
{
  const PetscScalar *u;
  PetscReal          F;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(Predict(model, u, &F));
  PetscCall(model->ops.jacobianprepare(model, u, model->rho));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelJacobianApply(PgfModel model, Vec X, Vec Y)
{
  const PetscScalar *x;
  PetscScalar       *y;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_JacobianApply, X, Y, 0, 0));
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArrayWrite(Y, &y));
  PetscCall(model->ops.jacobianapply(model, x, y));
  PetscCall(VecRestoreArrayWrite(Y, &y));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(PetscLogEventEnd(PGF_JacobianApply, X, Y, 0, 0));
  PetscFunctionReturn(0);
}

/* Prepares the direct solve of (shift I + scale (S dv/du + E)) x = b at the
   state of the last PgfModelJacobianPrepare (the model's optional
   jacobiansolve ops), S and E the per-particle blocks of a dynamics (NULL:
   identity and zero); collective. */
PetscErrorCode PgfModelJacobianSolveSetUp(PgfModel model, PetscReal shift, PetscReal scale, const PetscReal S[], const PetscReal E[])
{
  PetscFunctionBegin;
  PetscCall(model->ops.jacobiansolvesetup(model, shift, scale, S, E));
  PetscFunctionReturn(0);
}

/* X = (shift I + scale dv/du)^-1 B with the factors of the last setup; collective. */
PetscErrorCode PgfModelJacobianSolve(PgfModel model, Vec B, Vec X)
{
  const PetscScalar *b;
  PetscScalar       *x;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(B, &b));
  PetscCall(VecGetArrayWrite(X, &x));
  PetscCall(model->ops.jacobiansolve(model, b, x));
  PetscCall(VecRestoreArrayWrite(X, &x));
  PetscCall(VecRestoreArrayRead(B, &b));
  PetscFunctionReturn(0);
}

/* Whether a proximal step on any rank changed the objective so far. */
PetscErrorCode PgfModelNonsmooth(PgfModel model, PetscBool *nonsmooth)
{
  PetscBool local = PETSC_FALSE;

  PetscFunctionBegin;
  if (model->ops.nonsmooth) PetscCall(model->ops.nonsmooth(model, &local));
  PetscCallMPI(MPI_Allreduce(&local, nonsmooth, 1, MPIU_BOOL, MPI_LOR, model->comm));
  PetscFunctionReturn(0);
}

/* Whether every rank accepts the state U (the model's optional acceptable op). */
PetscErrorCode PgfModelAcceptable(PgfModel model, Vec U, PetscBool *ok)
{
  const PetscScalar *u;
  PetscBool          local = PETSC_TRUE;

  PetscFunctionBegin;
  if (model->ops.acceptable) {
    PetscCall(VecGetArrayRead(U, &u));
    PetscCall(model->ops.acceptable(model, u, &local));
    PetscCall(VecRestoreArrayRead(U, &u));
  }
  PetscCallMPI(MPI_Allreduce(&local, ok, 1, MPIU_BOOL, MPI_LAND, model->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelHasGap(PgfModel model, PetscBool *has)
{
  PetscFunctionBegin;
  *has = (PetscBool)(model->ops.gap != NULL);
  PetscFunctionReturn(0);
}

/* The duality gap at U, or NaN when the model has no certificate. */
PetscErrorCode PgfModelGap(PgfModel model, Vec U, PetscReal *gap)
{
  const PetscScalar *u;
  PetscReal          F;

  PetscFunctionBegin;
  *gap = NAN;
  if (!model->ops.gap) PetscFunctionReturn(0);
  PetscCall(PetscLogEventBegin(PGF_Gap, U, 0, 0, 0));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(Predict(model, u, &F));
  PetscCall(model->ops.gap(model, u, F, gap));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscCall(PetscLogEventEnd(PGF_Gap, U, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelProx(PgfModel model, PetscReal dt, Vec U, PetscBool *changed)
{
  PetscScalar *u;
  PetscBool    local = PETSC_FALSE;

  PetscFunctionBegin;
  *changed = PETSC_FALSE;
  if (!model->ops.prox) PetscFunctionReturn(0);
  PetscCall(VecGetArray(U, &u));
  PetscCall(model->ops.prox(model, dt, u, &local));
  PetscCall(VecRestoreArray(U, &u));
  PetscCallMPI(MPI_Allreduce(&local, changed, 1, MPIU_BOOL, MPI_LOR, model->comm));
  PetscFunctionReturn(0);
}

/* Local weights of the measure (mloc values) and positions (mloc x npos). */
PetscErrorCode PgfModelGetWeights(PgfModel model, Vec U, PetscReal w[])
{
  const PetscScalar *u;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(U, &u));
  if (model->ops.weights) PetscCall(model->ops.weights(model, u, w));
  else
    for (PetscInt i = 0; i < model->mloc; i++) w[i] = u[i * model->dof];
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelGetPositions(PgfModel model, Vec U, PetscReal theta[])
{
  const PetscScalar *u;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(U, &u));
  for (PetscInt i = 0; i < model->mloc; i++) PetscCall(PetscArraycpy(&theta[i * model->npos], &u[i * model->dof + 1], model->npos));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelWriteProblem(PgfModel model, PgfOutput out)
{
  PetscFunctionBegin;
  PetscCall(model->ops.writeproblem(model, out));
  PetscFunctionReturn(0);
}

/* Seconds this rank spent in the MPI reductions (and, with sample groups,
   gathers) of PgfModelEvaluate. */
PetscErrorCode PgfModelGetCommunicationTime(PgfModel model, PetscReal *seconds)
{
  PetscFunctionBegin;
  *seconds = model->comm_time;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelDestroy(PgfModel *model)
{
  PetscFunctionBegin;
  if (!*model) PetscFunctionReturn(0);
  if ((*model)->ops.destroy) PetscCall((*model)->ops.destroy(*model));
  PetscCall(PetscFree2((*model)->hbuf, (*model)->rho));
  PetscCall(PetscFree2((*model)->ugroup, (*model)->vgroup));
  PetscCall(PetscFree2((*model)->counts, (*model)->displs));
  if ((*model)->rowcomm != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&(*model)->rowcomm));
  if ((*model)->colcomm != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&(*model)->colcomm));
  PetscCall(PetscFree(*model));
  PetscFunctionReturn(0);
}
