/* Particle dynamics as the flow sees them (dynamics.c): -dynamics NAME,
   registered in PgfDynamicsList like -problem in PgfModelList. */
#pragma once

#include "pgfimpl.h"

typedef struct _p_PgfDynamics *PgfDynamics;
PETSC_INTERN PetscFunctionList PgfDynamicsList;
PETSC_INTERN PetscErrorCode    PgfDynamicsRegister(const char[], PetscErrorCode (*)(PgfDynamics));
PETSC_INTERN PetscErrorCode    PgfDynamicsRegisterAll(void);
/* Reads -dynamics and its options for the model (collective); euler says
   whether the integrator takes fixed forward Euler steps. */
PETSC_INTERN PetscErrorCode PgfDynamicsCreate(PgfModel, PetscBool euler, PgfDynamics *);
/* Whether the dynamics is the Wasserstein flow, which leaves the problem's
   velocity as it is (the flow then skips every call below). */
PETSC_INTERN PetscBool      PgfDynamicsIsIdentity(PgfDynamics);
PETSC_INTERN PetscErrorCode PgfDynamicsVelocity(PgfDynamics, Vec U, Vec V, PetscReal *D);
PETSC_INTERN PetscErrorCode PgfDynamicsJacobian(PgfDynamics, Vec U, Vec Veucl, Vec X, Vec Y);
/* The per-particle blocks S and E (mloc dof^2 values each; allocated). */
PETSC_INTERN PetscErrorCode PgfDynamicsBlocks(PgfDynamics, Vec U, Vec Veucl, PetscReal **S, PetscReal **E);
PETSC_INTERN PetscBool      PgfDynamicsRetracts(PgfDynamics);
PETSC_INTERN PetscErrorCode PgfDynamicsRetract(PgfDynamics, Vec Uold, Vec Unew);
PETSC_INTERN PetscErrorCode PgfDynamicsDestroy(PgfDynamics *);
