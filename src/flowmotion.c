/* How the flow moves the particles: the problem's Euclidean velocity v and
   its Jacobian (the model), turned by the run's particle dynamics
   (dynamics.h, doc/math.md section 2.5) into the velocity, the dissipation
   D (dF/dt = -D) and the Jacobian that the integrator, the Armijo search and
   the energy balance see. The Wasserstein flow passes v through untouched. */
#include "flowimpl.h"

/* F, the particles' velocity V and D at U. */
PetscErrorCode PgfFlowVelocity(PgfFlow flow, Vec U, Vec V, PetscReal *F, PetscReal *D)
{
  PetscReal norm;

  PetscFunctionBegin;
  PetscCall(PgfModelEvaluate(flow->model, U, V, F));
  if (PgfDynamicsIsIdentity(flow->dyn)) {
    PetscCall(VecNorm(V, NORM_2, &norm));
    *D = norm * norm / flow->m;
  } else {
    /* the state and Euclidean velocity of the model's last evaluation, for
       a Jacobian prepared there (implicit types linearize where they just
       evaluated) */
    if (flow->vjac) {
      PetscCall(VecCopy(U, flow->ujac));
      PetscCall(VecCopy(V, flow->vjac));
    }
    PetscCall(PgfDynamicsVelocity(flow->dyn, U, V, D));
    *D /= flow->m;
  }
  PetscFunctionReturn(0);
}

/* The Jacobian at U, which the model prepares from its last evaluation:
   another dynamics also needs the Euclidean velocity there, kept by
   PgfFlowVelocity, or evaluated when the last evaluation was elsewhere. */
PetscErrorCode PgfFlowJacobianPrepare(PgfFlow flow, Vec U)
{
  PetscReal F;
  PetscBool same = PETSC_TRUE;

  PetscFunctionBegin;
  if (!PgfDynamicsIsIdentity(flow->dyn) && !flow->vjac) {
    PetscCall(VecDuplicate(U, &flow->ujac));
    PetscCall(VecDuplicate(U, &flow->vjac));
    PetscCall(VecSet(flow->ujac, PETSC_MAX_REAL)); /* matches no state */
  }
  if (!PgfDynamicsIsIdentity(flow->dyn)) PetscCall(VecEqual(U, flow->ujac, &same));
  if (!same) {
    PetscCall(VecCopy(U, flow->ujac));
    PetscCall(PgfModelEvaluate(flow->model, U, flow->vjac, &F));
    flow->nrhs++;
    flow->modelcached = PETSC_FALSE;
  }
  PetscCall(PgfModelJacobianPrepare(flow->model, U));
  flow->modelcached = PETSC_FALSE; /* it evaluated the model's predictor at U */
  PetscFunctionReturn(0);
}

/* Y = J X, J the Jacobian of the particles' velocity at the prepared state. */
PetscErrorCode PgfFlowJacobianApply(PgfFlow flow, Vec X, Vec Y)
{
  PetscFunctionBegin;
  PetscCall(PgfModelJacobianApply(flow->model, X, Y));
  if (!PgfDynamicsIsIdentity(flow->dyn)) PetscCall(PgfDynamicsJacobian(flow->dyn, flow->ujac, flow->vjac, X, Y));
  PetscFunctionReturn(0);
}

/* The model's direct solve of (shift I + scale J) x = b with that J. */
PetscErrorCode PgfFlowSolveSetUp(PgfFlow flow, PetscReal shift, PetscReal scale)
{
  PetscFunctionBegin;
  if (!PgfDynamicsIsIdentity(flow->dyn)) PetscCall(PgfDynamicsBlocks(flow->dyn, flow->ujac, flow->vjac, &flow->S, &flow->E));
  PetscCall(PgfModelJacobianSolveSetUp(flow->model, shift, scale, flow->S, flow->E));
  PetscFunctionReturn(0);
}
