/* A problem whose velocity is the wrong sign (an ascent: v = -grad V for
   V(u) = |u|^2 / 2), run through bin/pgflow's application: every step,
   however short, raises F, so the flow must undo each one and end with
   status 3 and stop_reason step_underflow (doc/math.md section 2). Usage:
   t_rise [pgflow options]; -problem ascent is this one. */
#include "modelimpl.h"

static PetscErrorCode AscentSetFromOptions(PgfModel model)
{
  PetscFunctionBegin;
  model->npos = 1;
  model->N    = 1;
  PetscFunctionReturn(0);
}

static PetscErrorCode AscentInitialize(PgfModel model, PetscScalar *u)
{
  PetscFunctionBegin;
  for (PetscInt k = 0; k < model->mloc * model->dof; k++) u[k] = 1;
  PetscFunctionReturn(0);
}

static PetscErrorCode AscentPredict(PgfModel model, const PetscScalar *u, PetscReal *h)
{
  PetscFunctionBegin;
  PetscFunctionReturn(0);
}

static PetscErrorCode AscentLoss(PgfModel model, const PetscReal *h, PetscReal *R, PetscReal *rho)
{
  PetscFunctionBegin;
  *R     = 0;
  rho[0] = 0;
  PetscFunctionReturn(0);
}

static PetscErrorCode AscentVelocity(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscScalar *v)
{
  PetscFunctionBegin;
  for (PetscInt k = 0; k < model->mloc * model->dof; k++) v[k] = -u[k];
  PetscFunctionReturn(0);
}

static PetscErrorCode AscentRegularizer(PgfModel model, const PetscScalar *u, PetscReal *V)
{
  PetscFunctionBegin;
  *V = 0;
  for (PetscInt k = 0; k < model->mloc * model->dof; k++) *V += 0.5 * u[k] * u[k];
  PetscFunctionReturn(0);
}

static PetscErrorCode AscentWriteProblem(PgfModel model, PgfOutput out)
{
  PetscFunctionBegin;
  PetscFunctionReturn(0);
}

static PetscErrorCode AscentCreate(PgfModel model)
{
  PetscFunctionBegin;
  model->ops.setfromoptions = AscentSetFromOptions;
  model->ops.initialize     = AscentInitialize;
  model->ops.predict        = AscentPredict;
  model->ops.loss           = AscentLoss;
  model->ops.velocity       = AscentVelocity;
  model->ops.regularizer    = AscentRegularizer;
  model->ops.writeproblem   = AscentWriteProblem;
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PgfExitStatus  status = PGF_EXIT_OK;
  PetscErrorCode ierr;

  ierr = PgfInitializeApplication(&argc, &argv, NULL, PETSC_FALSE);
  if (!ierr) ierr = PgfModelRegister("ascent", AscentCreate);
  if (!ierr) ierr = PgfRun(PETSC_COMM_WORLD, &status);
  if (ierr) status = (PgfExitStatus)PgfExitStatusFromError(ierr);
  PetscFinalize();
  return status;
}
