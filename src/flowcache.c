/* The flow's evaluation cache: v, F and D at the last evaluated state,
   through the flow's dynamics, reused by the integrator's right-hand side,
   the monitor after each step and the Armijo search, so that gradient
   descent costs one evaluation per step and Runge-Kutta none beyond its
   stages. Every evaluation is timed and counted. */
#include "flowimpl.h"

/* v, F and D at U, kept with U for reuse; timed and counted. */
static PetscErrorCode Evaluate(PgfFlow flow, Vec U)
{
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCall(PetscTime(&t0));
  PetscCall(PgfFlowVelocity(flow, U, flow->vcache, &flow->Fcache, &flow->Dcache));
  PetscCall(VecCopy(U, flow->ucache));
  PetscCall(PetscTime(&t1));
  flow->rhs_time += t1 - t0;
  flow->nrhs++;
  flow->modelcached = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* A non-finite objective or velocity ends the integration at once (the
   integrator would otherwise carry it into its error norm and fail with a
   trace): PgfFlowSolve catches this error and keeps the last accepted
   state. F and D are the same on every rank, so all ranks stop together. */
static PetscErrorCode CheckFinite(PgfFlow flow, PetscReal F, PetscReal D)
{
  PetscFunctionBegin;
  if (PetscIsInfOrNanReal(F) || PetscIsInfOrNanReal(D)) {
    flow->nonfinite = PETSC_TRUE;
    SETERRQ(PETSC_COMM_SELF, PGF_ERR_NONFINITE, "the objective or the velocity is not finite");
  }
  PetscFunctionReturn(0);
}

/* Tells the model the integrator's step: a velocity that depends on it
   (mini-batch SGD) makes the cached one stale at another step. */
static PetscErrorCode SetStep(PgfFlow flow)
{
  PetscInt  step;
  PetscBool changed;

  PetscFunctionBegin;
  PetscCall(TSGetStepNumber(flow->ts, &step));
  PetscCall(PgfModelSetStep(flow->model, step, &changed));
  if (changed) PetscCall(VecSet(flow->ucache, PETSC_MAX_REAL));
  PetscFunctionReturn(0);
}

/* G = -v(U). The last evaluated state and its velocity are kept: the
   monitor needs no evaluation of its own after a Runge-Kutta step (whose
   last stage is the new state), and the first stage of an explicit step
   reuses the monitor's evaluation (gradient descent costs one per step). */
PetscErrorCode PgfFlowRHSFunction(TS ts, PetscReal t, Vec U, Vec G, void *ctx)
{
  PgfFlow   flow = (PgfFlow)ctx;
  PetscBool same;

  PetscFunctionBeginUser;
  PetscCall(SetStep(flow));
  PetscCall(VecEqual(U, flow->ucache, &same));
  if (!same) PetscCall(Evaluate(flow, U));
  PetscCall(CheckFinite(flow, flow->Fcache, flow->Dcache));
  PetscCall(VecAXPBY(G, -1.0, 0.0, flow->vcache));
  flow->ncalls++;
  PetscFunctionReturn(0);
}

/* The right-hand side as the matrix-free Jacobian differentiates it: the
   states are perturbations, so the cache is neither used nor replaced. */
PetscErrorCode PgfFlowJacobianFunction(void *ctx, Vec U, Vec G)
{
  PgfFlow        flow = (PgfFlow)ctx;
  PetscReal      F, D;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCall(PetscTime(&t0));
  PetscCall(PgfFlowVelocity(flow, U, G, &F, &D));
  flow->modelcached = PETSC_FALSE;
  PetscCall(CheckFinite(flow, F, D));
  PetscCall(VecScale(G, -1.0));
  PetscCall(PetscTime(&t1));
  flow->rhs_time += t1 - t0;
  flow->nrhs++;
  flow->ncalls++;
  PetscFunctionReturn(0);
}

/* Whether U and the last evaluated state differ by rounding only: the last
   stage of a Runge-Kutta step is the new solution up to the order in which
   the stages were summed. */
static PetscErrorCode SameState(PgfFlow flow, Vec U, PetscBool *same)
{
  const PetscScalar *u, *c;
  PetscInt           n;
  PetscReal          diff = 0, size = 0;

  PetscFunctionBegin;
  PetscCall(VecGetLocalSize(U, &n));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(VecGetArrayRead(flow->ucache, &c));
  for (PetscInt k = 0; k < n; k++) {
    diff = PetscMax(diff, PetscAbsReal(u[k] - c[k]));
    size = PetscMax(size, PetscAbsReal(u[k]));
  }
  PetscCall(VecRestoreArrayRead(flow->ucache, &c));
  PetscCall(VecRestoreArrayRead(U, &u));
  diff = diff <= 16 * PETSC_MACHINE_EPSILON * size ? 0 : 1;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &diff, 1, MPIU_REAL, MPI_MAX, flow->comm));
  *same = (PetscBool)(diff == 0);
  PetscFunctionReturn(0);
}

/* F and D = (1/m) sum_i |v(u_i)|^2 at U when the last evaluation was at
   this state, or (evaluate) by an evaluation; *known says whether they are. */
PetscErrorCode PgfFlowObserveIfCached(PgfFlow flow, Vec U, PetscBool evaluate, PetscBool *known)
{
  PetscFunctionBegin;
  PetscCall(SetStep(flow));
  PetscCall(SameState(flow, U, known));
  if (!*known && evaluate) {
    PetscCall(Evaluate(flow, U));
    *known = PETSC_TRUE;
  }
  if (*known) {
    flow->F = flow->Fcache;
    flow->D = flow->Dcache;
  }
  PetscFunctionReturn(0);
}

/* F and D at U, reusing the last evaluation when it was at this state. */
PetscErrorCode PgfFlowObserve(PgfFlow flow, Vec U)
{
  PetscBool known;

  PetscFunctionBegin;
  PetscCall(PgfFlowObserveIfCached(flow, U, PETSC_TRUE, &known));
  PetscFunctionReturn(0);
}

/* The model's own state (what its last evaluation left: the first
   variation reads it) at the cached state, U, which the flow observed
   last: a Jacobian's evaluations elsewhere since are redone there. */
PetscErrorCode PgfFlowModelAtCache(PgfFlow flow, Vec U)
{
  PetscFunctionBegin;
  if (!flow->modelcached) PetscCall(Evaluate(flow, U));
  PetscFunctionReturn(0);
}

/* F and D at U for the Armijo adapt: an evaluation unless U is the last
   evaluated state. */
PetscErrorCode PgfFlowObjective(void *ctx, Vec U, PetscReal *F, PetscReal *D)
{
  PgfFlow flow = (PgfFlow)ctx;

  PetscFunctionBegin;
  PetscCall(PgfFlowObserve(flow, U));
  *F = flow->F;
  *D = flow->D;
  PetscFunctionReturn(0);
}
