/* The dynamics layer (dynamicsimpl.h): the registry, -dynamics, and the
   calls the flow makes on whole vectors. */
#include "dynamicsimpl.h"
#include "options.h"

PetscFunctionList PgfDynamicsList;

PetscErrorCode PgfDynamicsRegister(const char name[], PetscErrorCode (*create)(PgfDynamics))
{
  PetscFunctionBegin;
  PetscCall(PetscFunctionListAdd(&PgfDynamicsList, name, create));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDynamicsRegisterAll(void)
{
  PetscFunctionBegin;
  if (PgfDynamicsList) PetscFunctionReturn(0);
  PetscCall(PgfDynamicsRegister("wasserstein", PgfDynamicsCreate_Wasserstein));
  PetscCall(PgfDynamicsRegister("conic", PgfDynamicsCreate_Conic));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDynamicsCreate(PgfModel model, PetscBool euler, PgfDynamics *dyn)
{
  PgfDynamics d;
  MPI_Comm    comm;
  char        name[32]                  = "wasserstein";
  PetscErrorCode (*create)(PgfDynamics) = NULL;

  PetscFunctionBegin;
  PetscCall(PgfDynamicsRegisterAll());
  PetscCall(PgfModelGetComm(model, &comm));
  PetscCall(PetscNew(&d));
  d->model = model;
  d->euler = euler;
  PetscCall(PgfModelGetSizes(model, NULL, NULL, &d->dof, NULL));
  PetscCall(PgfModelGetOwnership(model, NULL, &d->mloc));
  PetscCall(PgfModelGetRadial(model, &d->radial, &d->radialwhy));
  /* the dynamics and its options define the trajectory: a restart keeps them */
  PgfParamsModelScope(PETSC_TRUE);
  PetscOptionsBegin(comm, NULL, "Particle dynamics (doc/math.md section 2.5)", NULL);
  PetscCall(PetscOptionsFList("-dynamics", "Particle dynamics", "PgfDynamicsRegister", PgfDynamicsList, name, name, sizeof(name), NULL));
  PetscCall(PetscFunctionListFind(PgfDynamicsList, name, &create));
  PgfCheckInput(comm, create, "-dynamics must be one of wasserstein, conic (got '%s')", name);
  PetscCall(PgfParamsAdd("-dynamics", name));
  PetscCall(PetscStrncpy(d->name, name, sizeof(d->name)));
  PetscCall((*create)(d));
  if (d->ops.setfromoptions) PetscCall(d->ops.setfromoptions(d, PetscOptionsObject));
  PetscOptionsEnd();
  PgfParamsModelScope(PETSC_FALSE);
  *dyn = d;
  PetscFunctionReturn(0);
}

PetscBool PgfDynamicsIsIdentity(PgfDynamics dyn)
{
  return (PetscBool)!dyn->ops.velocity;
}

PetscErrorCode PgfDynamicsVelocity(PgfDynamics dyn, Vec U, Vec V, PetscReal *D)
{
  const PetscScalar *u;
  PetscScalar       *v;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(VecGetArray(V, &v));
  PetscCall(dyn->ops.velocity(dyn, u, v, D));
  PetscCall(VecRestoreArray(V, &v));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, D, 1, MPIU_REAL, MPI_SUM, PetscObjectComm((PetscObject)U)));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDynamicsJacobian(PgfDynamics dyn, Vec U, Vec Veucl, Vec X, Vec Y)
{
  const PetscScalar *u, *v, *x;
  PetscScalar       *y;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(VecGetArrayRead(Veucl, &v));
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArray(Y, &y));
  PetscCall(dyn->ops.jacobian(dyn, u, v, x, y));
  PetscCall(VecRestoreArray(Y, &y));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(VecRestoreArrayRead(Veucl, &v));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDynamicsBlocks(PgfDynamics dyn, Vec U, Vec Veucl, PetscReal **S, PetscReal **E)
{
  const PetscScalar *u, *v;
  PetscInt           n = PetscMax(dyn->mloc, 1) * dyn->dof * dyn->dof;

  PetscFunctionBegin;
  if (!*S) PetscCall(PetscMalloc2(n, S, n, E));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(VecGetArrayRead(Veucl, &v));
  PetscCall(dyn->ops.blocks(dyn, u, v, *S, *E));
  PetscCall(VecRestoreArrayRead(Veucl, &v));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscFunctionReturn(0);
}

PetscBool PgfDynamicsRetracts(PgfDynamics dyn)
{
  return (PetscBool)(dyn->ops.retract != NULL);
}

PetscErrorCode PgfDynamicsRetract(PgfDynamics dyn, Vec Uold, Vec Unew)
{
  const PetscScalar *uold;
  PetscScalar       *unew;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(Uold, &uold));
  PetscCall(VecGetArray(Unew, &unew));
  PetscCall(dyn->ops.retract(dyn, uold, unew));
  PetscCall(VecRestoreArray(Unew, &unew));
  PetscCall(VecRestoreArrayRead(Uold, &uold));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDynamicsDestroy(PgfDynamics *dyn)
{
  PetscFunctionBegin;
  if (!*dyn) PetscFunctionReturn(0);
  if ((*dyn)->ops.destroy) PetscCall((*dyn)->ops.destroy(*dyn));
  PetscCall(PetscFree(*dyn));
  PetscFunctionReturn(0);
}
