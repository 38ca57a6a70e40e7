/* Stochastic dynamics on top of the flow (doc/math.md sections 2.6 and
   2.7): birth-death jumps after each accepted step (-birth_death_rate) and
   the Langevin noise of fixed Euler steps (-temperature). Every draw comes
   from the counter-based generator keyed by (seed, step, global particle
   index), so that the decisions do not depend on the ranks, the
   -sample_groups layout or a restart. Neither is a gradient flow of F: the
   flow's check that F decreases is off for both. */
#include "flowimpl.h"
#include "options.h"
#include <math.h>

/* -birth_death_rate and -temperature, and the integrators and problems
   that allow them; euler and fixed describe the integrator (collective). */
PetscErrorCode PgfFlowJumpsSetFromOptions(PgfFlow flow, PetscBool euler, PetscBool fixed)
{
  MPI_Comm    comm = flow->comm;
  PetscBool   hasfv, set;
  const char *name;

  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "Stochastic dynamics (doc/math.md sections 2.6, 2.7)", NULL);
  /* they define the trajectory: a restart keeps them */
  PgfParamsModelScope(PETSC_TRUE);
  PetscCall(PgfOptionsReal(comm, "-birth_death_rate", "Rate A of the birth-death jumps after each step (0: none)", 0, 0, PETSC_MAX_REAL, &flow->bd_rate));
  PetscCall(PgfOptionsReal(comm, "-temperature", "Temperature T of mean-field Langevin dynamics (0: none; -ts_type euler, fixed -ts_dt)", 0, 0, PETSC_MAX_REAL, &flow->temperature));
  PgfParamsModelScope(PETSC_FALSE);
  /* how much is measured, not the trajectory */
  PetscCall(PgfOptionsBool(comm, "-birth_death_balance", "Evaluate F before each step's jumps where the integrator did not (fixed Euler, Rosenbrock: one evaluation more per step with jumps), to record their change of F apart from the flow's", flow->bd_balance, &flow->bd_balance));
  PetscOptionsEnd();
  PetscCall(PgfModelGetType(flow->model, &name));
  PgfCheckInput(comm, !flow->bd_balance || flow->bd_rate > 0, "-birth_death_balance needs -birth_death_rate > 0 (it measures the jumps' change of F)");
  if (flow->bd_rate > 0) {
    PetscCall(PgfModelHasOperation(flow->model, PGF_OP_FIRSTVARIATION, &hasfv));
    PgfCheckInput(comm, hasfv, "-birth_death_rate needs the first variation of F at each particle, which -problem %s does not compute%s", name, flow->model && !strcmp(name, "twolayer") ? " with -population true (use the samples' loss)" : "");
    PetscCall(PetscMalloc1(flow->mloc, &flow->fvar));
    /* birth-death runs only: other runs continue from earlier checkpoints */
    PetscCall(PgfCheckpointAddInt(flow->ckpt, "jumps_unmeasured", &flow->unmeasured));
    /* a jump can start a transient far faster than the step the integrator
       had reached (a copy of a particle that carries a whole spike splits
       from it, doc/math.md section 2.6): more retries than PETSc's 10 to
       shrink the step to it, unless -ts_max_reject says otherwise */
    PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_max_reject", &set));
    if (!set) PetscCall(TSSetMaxStepRejections(flow->ts, 100));
  }
  if (flow->temperature > 0) {
    const PetscReal *y;
    PetscReal        lambda;

    PgfCheckInput(comm, euler && fixed && !flow->armijo, "-temperature needs -ts_type euler with a fixed -ts_dt (the Euler-Maruyama step of Langevin dynamics)");
    PgfCheckInput(comm, PgfDynamicsIsIdentity(flow->dyn), "-temperature needs -dynamics wasserstein (the noise of another metric's Langevin dynamics is not implemented)");
    PgfCheckInput(comm, strcmp(name, "deconv"), "-temperature is not available with -problem deconv: noise on the signed weights has no entropy, and positions alone would need the entropy of a signed measure");
    PetscCall(PgfModelGetRidge(flow->model, &y, &lambda));
    PgfCheckInput(comm, lambda > 0, "-temperature needs -reg l2 with -lambda > 0 (-problem twolayer on samples): without it exp(-V/T) is not normalizable and the particles diffuse away");
  }
  if (flow->bd_rate > 0 || flow->temperature > 0) flow->monotone = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* One birth-death decision: particle g with first variation V against the
   mean Vbar (doc/math.md section 2.6). *event is -1 (killed), +1
   (duplicated) or 0; *partner is the uniformly chosen other particle. */
static void Decide(PgfFlow flow, PetscInt64 seed, PetscInt step, PetscInt g, PetscReal V, PetscReal Vbar, PetscReal dt, PetscInt *event, PetscInt *partner)
{
  PetscInt64 index = (PetscInt64)step * flow->m + g;
  PetscReal  beta  = flow->bd_rate * dt * (V - Vbar);

  *event   = 0;
  *partner = -1;
  if (!(PgfRandUniform(seed, PGF_STREAM_JUMPS, index, 0) < -expm1(-PetscAbsReal(beta)))) return;
  *event   = beta > 0 ? -1 : 1;
  *partner = PetscMin((PetscInt)(PgfRandUniform(seed, PGF_STREAM_JUMPS, index, 1) * flow->m), flow->m - 1);
}

/* The owner of particle g among the ranks' contiguous blocks. */
static PetscMPIInt Owner(const PetscInt *ranges, PetscMPIInt size, PetscInt g)
{
  PetscMPIInt lo = 0, hi = size - 1;

  while (lo < hi) {
    PetscMPIInt mid = (lo + hi + 1) / 2;

    if (ranges[mid] <= g) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/* The first variation at U, the state the flow observed last and the
   next step starts from: its jumps are decided there, from the evaluation
   that step's first stage uses (doc/math.md section 2.6). */
PetscErrorCode PgfFlowFirstVariation(PgfFlow flow, Vec U)
{
  PetscFunctionBegin;
  PetscCall(PgfFlowModelAtCache(flow, U));
  PetscCall(PetscLogEventBegin(PGF_BirthDeath, U, 0, 0, 0));
  PetscCall(PgfModelFirstVariation(flow->model, flow->ucache, flow->fvar));
  flow->Vbar = 0;
  for (PetscInt i = 0; i < flow->mloc; i++) flow->Vbar += flow->fvar[i];
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &flow->Vbar, 1, MPIU_REAL, MPI_SUM, flow->comm));
  flow->Vbar /= flow->m;
  PetscCall(PetscLogEventEnd(PGF_BirthDeath, U, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* The birth-death jumps after the accepted step of number step and size dt,
   which reached U, decided from the first variations at the state the step
   started from (PgfFlowFirstVariation). Each event is a copy (target <-
   source) of a value of U: a killed particle's slot takes a uniformly
   chosen particle, a duplicated particle a uniformly chosen slot. The
   events of all ranks are gathered in global order (a collective sized by
   the events); all copies read U before the jumps, and of two events on
   one slot the later one wins. The sources' values go to every rank by one
   Allgatherv sized by the copies. *moved says whether a particle changed. */
PetscErrorCode PgfFlowBirthDeath(PgfFlow flow, Vec U, PetscInt step, PetscReal dt, PetscBool *moved)
{
  MPI_Comm        comm = flow->comm;
  PetscInt        dof = flow->dof, mloc = flow->mloc, nloc = 0, nev, ncopy = 0, nsend = 0;
  PetscInt64      seed, *ev, *all, *key;
  PetscReal      *send, *recv;
  PetscMPIInt     size, mine[2] = {0, 0}, *both, *cnt, *dsp, *scnt, *sdsp;
  const PetscInt *ranges;
  PetscScalar    *u;
  PetscInt       *next;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_BirthDeath, U, 0, 0, 0));
  flow->births = flow->deaths = 0;
  *moved                      = PETSC_FALSE;
  PetscCall(PgfModelGetSeed(flow->model, &seed));

  /* this rank's events (target, source), in the order of its particles */
  PetscCall(PetscMalloc1(2 * mloc, &ev));
  for (PetscInt i = 0; i < mloc; i++) {
    PetscInt g = flow->rstart + i, event, partner;

    Decide(flow, seed, step, g, flow->fvar[i], flow->Vbar, dt, &event, &partner);
    if (!event) continue;
    mine[event > 0]++;
    ev[2 * nloc]     = event > 0 ? partner : g;
    ev[2 * nloc + 1] = event > 0 ? g : partner;
    nloc++;
  }
  /* every rank's deaths and births: the counts, and the sizes of the gather */
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMalloc5(2 * size, &both, size, &cnt, size + 1, &dsp, size, &scnt, size + 1, &sdsp));
  PetscCallMPI(MPI_Allgather(mine, 2, MPI_INT, both, 2, MPI_INT, comm));
  dsp[0] = 0;
  for (PetscMPIInt r = 0; r < size; r++) {
    flow->deaths += both[2 * r];
    flow->births += both[2 * r + 1];
    cnt[r]     = 2 * (both[2 * r] + both[2 * r + 1]);
    dsp[r + 1] = dsp[r] + cnt[r];
  }
  if (!dsp[size]) {
    PetscCall(PetscFree(ev));
    PetscCall(PetscFree5(both, cnt, dsp, scnt, sdsp));
    PetscCall(PetscLogEventEnd(PGF_BirthDeath, U, 0, 0, 0));
    PetscFunctionReturn(0);
  }
  PetscCall(VecGetOwnershipRanges(U, &ranges));
  nev = dsp[size] / 2;
  PetscCall(PetscMalloc2(2 * nev, &all, nev, &key));
  PetscCallMPI(MPI_Allgatherv(ev, (PetscMPIInt)(2 * nloc), MPIU_INT64, all, cnt, dsp, MPIU_INT64, comm));
  PetscCall(PetscFree(ev));

  /* the last event on each slot: sort by (target, order) */
  for (PetscInt e = 0; e < nev; e++) key[e] = all[2 * e] * nev + e;
  PetscCall(PetscSortInt64(nev, key));
  for (PetscInt e = 0; e < nev; e++) {
    PetscInt64 target = key[e] / nev, source = all[2 * (key[e] % nev) + 1];

    if (e + 1 < nev && key[e + 1] / nev == target) continue; /* overwritten later */
    if (source == target) continue;
    all[2 * ncopy]     = target;
    all[2 * ncopy + 1] = source;
    ncopy++;
  }

  /* the sources' values, in the order of the copies within each owner */
  for (PetscMPIInt r = 0; r < size; r++) scnt[r] = 0;
  for (PetscInt c = 0; c < ncopy; c++) scnt[Owner(ranges, size, all[2 * c + 1] * dof)] += (PetscMPIInt)dof;
  sdsp[0] = 0;
  for (PetscMPIInt r = 0; r < size; r++) sdsp[r + 1] = sdsp[r] + scnt[r];
  PetscCall(PetscMalloc3(ncopy * dof, &send, ncopy * dof, &recv, size, &next));
  PetscCall(VecGetArray(U, &u));
  for (PetscInt c = 0; c < ncopy; c++) {
    PetscInt source = (PetscInt)all[2 * c + 1];

    if (source >= flow->rstart && source < flow->rstart + mloc) PetscCall(PetscArraycpy(&send[nsend++ * dof], &u[(source - flow->rstart) * dof], dof));
  }
  PetscCallMPI(MPI_Allgatherv(send, (PetscMPIInt)(nsend * dof), MPIU_SCALAR, recv, scnt, sdsp, MPIU_SCALAR, comm));
  for (PetscMPIInt r = 0; r < size; r++) next[r] = sdsp[r];
  for (PetscInt c = 0; c < ncopy; c++) {
    PetscInt    target = (PetscInt)all[2 * c], source = (PetscInt)all[2 * c + 1];
    PetscMPIInt r = Owner(ranges, size, source * dof);

    if (target >= flow->rstart && target < flow->rstart + mloc) PetscCall(PetscArraycpy(&u[(target - flow->rstart) * dof], &recv[next[r]], dof));
    next[r] += (PetscInt)dof;
  }
  PetscCall(VecRestoreArray(U, &u));
  *moved = (PetscBool)(ncopy > 0);
  PetscCall(PetscFree3(send, recv, next));
  PetscCall(PetscFree2(all, key));
  PetscCall(PetscFree5(both, cnt, dsp, scnt, sdsp));
  PetscCall(PetscLogEventEnd(PGF_BirthDeath, U, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* The Euler-Maruyama step's noise after the Euler step of number step and
   size dt: U += sqrt(2 T dt) xi, every coordinate of every particle
   (doc/math.md section 2.7). */
PetscErrorCode PgfFlowLangevinNoise(PgfFlow flow, Vec U, PetscInt step, PetscReal dt)
{
  PetscInt64   seed;
  PetscScalar *u;
  PetscReal    s = PetscSqrtReal(2 * flow->temperature * dt), *xi;
  PetscInt     n = flow->mloc * flow->dof;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_Langevin, U, 0, 0, 0));
  PetscCall(PgfModelGetSeed(flow->model, &seed));
  PetscCall(PetscMalloc1(n, &xi));
  PgfRandNormalBlock(seed, PGF_STREAM_LANGEVIN, (PetscInt64)step * flow->m + flow->rstart, flow->mloc, flow->dof, xi);
  PetscCall(VecGetArray(U, &u));
  for (PetscInt k = 0; k < n; k++) u[k] += s * xi[k];
  PetscCall(VecRestoreArray(U, &u));
  PetscCall(PetscFree(xi));
  PetscCall(PetscLogEventEnd(PGF_Langevin, U, 0, 0, 0));
  PetscFunctionReturn(0);
}
