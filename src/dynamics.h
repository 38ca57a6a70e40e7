/* Particle dynamics as the flow sees them (dynamics.c): -dynamics NAME,
   registered in PgfDynamicsList like -problem in PgfModelList. */
#pragma once

#include "pgfimpl.h"

/* How a model's particle splits into a radius r and a direction, for the
   dynamics that move them apart (doc/math.md section 2.5). */
typedef enum {
  PGF_RADIAL_NONE, /* no such split: a dynamics that needs one is refused */
  PGF_RADIAL_FIRST, /* u = (r, theta): r = u_0 (signed), theta on a flat space with metric r^2 */
  PGF_RADIAL_NORM /* r = |u|, direction u / |u| (a 2-homogeneous feature map) */
} PgfRadial;
/* The model's split; why is the reason when there is none (model.c). */
PETSC_INTERN PetscErrorCode PgfModelGetRadial(PgfModel, PgfRadial *, const char **);

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
