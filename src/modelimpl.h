/* The model layer's private header: the struct of a model and the table of
   operations every problem implements. Only model.c and the problem files
   (src/problems/) include it; the flow, the output and the
   baselines go through the accessors of pgfimpl.h. A new problem is one
   file that fills a PgfModelOps table and one PgfModelRegister line in
   PgfModelRegisterAll (model.c); doc/adding-a-problem.md says how. */
#pragma once

#include "pgfimpl.h"

/* Particles are stored particle by particle: u_i = (weight-like coordinate,
   npos position coordinates), dof = 1 + npos values each, local particles
   contiguous. All array arguments below are local to the rank. */
typedef struct {
  /* Read the problem's options, check them, build its data (every rank). */
  PetscErrorCode (*setfromoptions)(PgfModel);
  /* Initial particles rstart .. rstart + mloc - 1. */
  PetscErrorCode (*initialize)(PgfModel, PetscScalar *);
  /* Add sum over local particles of Phi(u_i) to h (length N). */
  PetscErrorCode (*predict)(PgfModel, const PetscScalar *, PetscReal *);
  /* R(h) and rho = grad R(h) (length N); the same on every rank. */
  PetscErrorCode (*loss)(PgfModel, const PetscReal *, PetscReal *, PetscReal *);
  /* Velocities v(u_i) = DPhi(u_i)^T rho + grad V(u_i) (smooth part of V).
     Called right after predict() on the same particles, so it may reuse
     what predict() computed. */
  PetscErrorCode (*velocity)(PgfModel, const PetscScalar *, const PetscReal *, PetscScalar *);
  /* Optional (birth-death, doc/math.md section 2.6): the first variation of
     F at each particle, Phi(u_i) . rho + V(u_i), called after velocity() at
     the same particles, whose work it reuses. With sample groups, like
     velocity(): the group's particles, their sample group's part of
     Phi(u_i) . rho, and V(u_i) in sample group 0 only. */
  PetscErrorCode (*firstvariation)(PgfModel, const PetscScalar *, const PetscReal *, PetscReal *);
  /* Optional, with firstvariation: the particles were replaced between two
     steps (copies of others); forget what a step kept of the previous ones. */
  PetscErrorCode (*replaced)(PgfModel);
  /* Sum over local particles of V(u_i), non-smooth part included. */
  PetscErrorCode (*regularizer)(PgfModel, const PetscScalar *, PetscReal *);
  /* Optional: after a step of size dt (soft-threshold, wrapping); sets
   *changed when the particles were modified. */
  PetscErrorCode (*prox)(PgfModel, PetscReal, PetscScalar *, PetscBool *);
  /* Optional, with prox: whether a proximal step so far changed the
   objective (a weight stopped at zero, a soft-threshold), which makes the
   energy balance inapplicable (local; default: never). */
  PetscErrorCode (*nonsmooth)(PgfModel, PetscBool *);
  /* Optional: whether a state the integrator reached (a stage or a step's
   solution) is acceptable (local); when not, the integrator retries a
   smaller step. */
  PetscErrorCode (*acceptable)(PgfModel, const PetscScalar *, PetscBool *);
  /* Optional: the measure's weight of each particle (default: u_i[0]). */
  PetscErrorCode (*weights)(PgfModel, const PetscScalar *, PetscReal *);
  /* Optional: a certificate of optimality, the duality gap at the particles
   (doc/math.md section 5), from h and rho of the last evaluation at them and
   the objective F there. */
  PetscErrorCode (*gap)(PgfModel, const PetscScalar *, PetscReal, PetscReal *);
  /* Optional: the Jacobian dv/du of the velocity field at the particles,
   from rho of the last evaluation at them, into the rows of the local
   particles of an assembled parallel MATDENSE (m dof square). */
  PetscErrorCode (*jacobian)(PgfModel, const PetscScalar *, const PetscReal *, Mat);
  /* Optional, with jacobian: the same Jacobian applied matrix-free, for
   sizes where it would not fit assembled. prepare keeps what apply needs at
   the particles (rho of the last evaluation); apply computes y = (dv/du) x
   on the local particles' rows; it is collective. */
  PetscErrorCode (*jacobianprepare)(PgfModel, const PetscScalar *, const PetscReal *);
  PetscErrorCode (*jacobianapply)(PgfModel, const PetscScalar *, PetscScalar *);
  /* Optional, with jacobianapply: a direct solve of the Newton systems
   (shift I + scale (S dv/du + E)) x = b at the state of the last
   jacobianprepare, which GMRES uses as its preconditioner; S and E are
   per-particle dof x dof blocks (column-major) of a particle dynamics
   (dynamicsimpl.h), NULL for the Wasserstein flow (S = I, E = 0).
   solvesetup factors (collective), solve applies the inverse on the local
   particles' rows (collective). */
  PetscErrorCode (*jacobiansolvesetup)(PgfModel, PetscReal, PetscReal, const PetscReal *, const PetscReal *);
  PetscErrorCode (*jacobiansolve)(PgfModel, const PetscScalar *, PetscScalar *);
  /* Optional (convex baselines and spectra, doc/math.md section 6): rows
   j0 .. j0 + nj - 1 of the Jacobian of h with respect to the local
   particles, column-major nj x (mloc c), leading dimension nj: c = 1 for the
   weights only (the features over m), c = dof for every coordinate. */
  PetscErrorCode (*hjacobian)(PgfModel, const PetscScalar *, PetscInt, PetscInt, PetscInt, PetscReal *);
  /* Optional: the labels y of the square loss (NULL for another loss) and
   the l2 strength on the weights (0 without one). */
  PetscErrorCode (*ridge)(PgfModel, const PetscReal **, PetscReal *);
  /* Optional, for objectives not of the form R(h) + V (the population loss,
   problems/twolayer/population.c): F and, unless v is NULL, the local
   particles' velocities in one collective call doing its own communication
   (it sets comm_last); predict, loss, velocity and regularizer are then
   unused. */
  PetscErrorCode (*evaluate)(PgfModel, const PetscScalar *, PetscReal *, PetscScalar *);
  /* Optional, for velocities that depend on the step of the integrator
   (mini-batch SGD): called before the evaluations of step k. */
  PetscErrorCode (*setstep)(PgfModel, PetscInt);
  /* Optional: the problem's integrator settings (for its tstype, and for
   types the command line may choose), set before TSSetFromOptions so that
   the command line still wins. */
  PetscErrorCode (*tsdefaults)(PgfModel, TS);
  /* Write /data and /truth. */
  PetscErrorCode (*writeproblem)(PgfModel, PgfOutput);
  PetscErrorCode (*destroy)(PgfModel);
} PgfModelOps;

struct _p_PgfModel {
  MPI_Comm    comm;
  char        name[32];
  PgfModelOps ops;
  void       *data;

  PetscBool   samplegroups; /* the problem splits its samples (-sample_groups): set by its create() */
  const char *tstype; /* the problem's default TS type (NULL: pgflow's, rk), set by its setfromoptions */
  PgfRadial   radial; /* how a particle splits into radius and direction (pgfimpl.h), set by setfromoptions */
  const char *radialwhy; /* with PGF_RADIAL_NONE: why, for the refusal of a dynamics that needs it */
  PetscInt    m; /* particles, global */
  PetscInt    npos; /* position coordinates per particle */
  PetscInt    dof; /* 1 + npos */
  PetscInt    N; /* length of the predictor h */
  PetscInt    rstart; /* first local particle (of the state vector) */
  PetscInt    mloc; /* local particles (of the state vector) */
  PetscInt64  seed;
  PetscReal   memory_limit; /* bytes of working memory per rank (-memory_limit) */
  PetscReal   reserved; /* bytes of it reserved so far (PgfModelReserve), largest over the ranks */

  /* -sample_groups (model.c): with G > 1 the operations predict, velocity
   and regularizer act on the nact particles of this rank's particle group
   (gathered into ugroup), and on the samples of its sample group sgroup; N
   is then the group's part of h. */
  PetscInt     groups, sgroup, nact;
  MPI_Comm     rowcomm, colcomm;
  PetscMPIInt *counts, *displs; /* values (particles x dof) of each rank of colcomm */
  PetscScalar *ugroup, *vgroup;

  PetscReal     *hbuf; /* local contribution to h, then h itself: N + 1 values */
  PetscReal     *rho; /* gradient of R at h: N values */
  PetscInt       step; /* of the integrator, as last set by PgfModelSetStep (-1: none) */
  PetscLogDouble comm_time, comm_last; /* in MPI within evaluations; of the last Predict */
};

/* The problems, registered by PgfModelRegisterAll. */
PETSC_INTERN PetscErrorCode PgfModelCreate_TwoLayer(PgfModel);
PETSC_INTERN PetscErrorCode PgfModelCreate_Deconv(PgfModel);
/* The samples of this rank's sample group out of n: first and count
   (exported for problems built as shared libraries). */
PETSC_EXTERN PetscErrorCode PgfModelSampleRange(PgfModel, PetscInt, PetscInt *, PetscInt *);
