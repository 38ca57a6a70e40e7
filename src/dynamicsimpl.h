/* The particle dynamics (doc/math.md section 2.5): how the flow moves a
   particle given what the problem computes, its Euclidean velocity
   v(u) = m grad_u F. A dynamics is one file under src/dynamics/ that fills
   a PgfDynamicsOps table, and one PgfDynamicsRegister line in
   PgfDynamicsRegisterAll (dynamics.c); doc/adding-a-dynamics.md says how.
   Every dynamics here is a gradient flow of F in a metric of its own,
   u' = -G(u)^-1 v(u) with G(u) block diagonal (one block per particle), so
   dF/dt = -D with D = (1/m) sum_i v_i . G^-1 v_i. */
#pragma once

#include "dynamics.h"

typedef struct {
  /* Read the dynamics' options in the caller's PetscOptions block and
     check that the model allows it (collective). */
  PetscErrorCode (*setfromoptions)(PgfDynamics, PetscOptionItems *);
  /* In place, the local particles: v(u_i) -> G(u_i)^-1 v(u_i), and *D the
     sum over them of v_i . G^-1 v_i (local). */
  PetscErrorCode (*velocity)(PgfDynamics, const PetscScalar *u, PetscScalar *v, PetscReal *D);
  /* The Jacobian of the field u -> G(u)^-1 v(u) applied to x, from that of
     v: y = (dv/du) x on entry, (G^-1 dv/du + d(G^-1)/du [v]) x on exit;
     v is the Euclidean velocity at u (local). */
  PetscErrorCode (*jacobian)(PgfDynamics, const PetscScalar *u, const PetscScalar *v, const PetscScalar *x, PetscScalar *y);
  /* The same as per-particle dof x dof blocks (column-major): S = G^-1 and
     E = d(G^-1)/du [v], for a model's direct solve of the Newton systems. */
  PetscErrorCode (*blocks)(PgfDynamics, const PetscScalar *u, const PetscScalar *v, PetscReal *S, PetscReal *E);
  /* Optional: after a forward Euler step from uold, replace the new state
     unew = uold - dt G^-1 v by the dynamics' own update (a retraction). */
  PetscErrorCode (*retract)(PgfDynamics, const PetscScalar *uold, PetscScalar *unew);
  PetscErrorCode (*destroy)(PgfDynamics);
} PgfDynamicsOps;

struct _p_PgfDynamics {
  PgfModel       model;
  char           name[32];
  PgfDynamicsOps ops; /* all NULL: the Wasserstein flow, v unchanged */
  void          *data;
  PetscInt       mloc, dof; /* the model's local particles and their values */
  PgfRadial      radial; /* how the model's particles split into radius and direction */
  const char    *radialwhy; /* why they do not (PGF_RADIAL_NONE) */
  PetscBool      euler; /* set by the flow: fixed forward Euler steps */
};

/* The dynamics, registered by PgfDynamicsRegisterAll. */
PETSC_INTERN PetscErrorCode PgfDynamicsCreate_Wasserstein(PgfDynamics);
PETSC_INTERN PetscErrorCode PgfDynamicsCreate_Conic(PgfDynamics);
