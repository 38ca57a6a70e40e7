/* The flow's dynamics: how the model's velocity moves the particles. The
   Wasserstein gradient flow (doc/math.md section 2) moves each particle
   along -v(u_i), dissipates D = (1/m) sum_i |v(u_i)|^2 and linearizes
   through the model's own Jacobian of v. */
#include "flowimpl.h"

static PetscErrorCode VelocityWasserstein(PgfModel model, Vec U, Vec V, PetscReal *F, PetscReal *D)
{
  PetscInt  m;
  PetscReal norm;

  PetscFunctionBegin;
  PetscCall(PgfModelGetSizes(model, &m, NULL, NULL, NULL));
  PetscCall(PgfModelEvaluate(model, U, V, F));
  PetscCall(VecNorm(V, NORM_2, &norm));
  *D = norm * norm / m;
  PetscFunctionReturn(0);
}

const PgfDynamicsOps PgfDynamicsWasserstein = {VelocityWasserstein, PgfModelJacobian, PgfModelJacobianPrepare, PgfModelJacobianApply, PgfModelJacobianSolveSetUp, PgfModelJacobianSolve};
