/* The private header of -problem deconv (doc/math.md section 4): the
   problem's data and the helpers its files share. deconv.c holds the
   problem (data, predictor, velocities, proximal step), jacobian.c the
   Jacobian and the Woodbury solve of the Newton systems, certificate.c the
   duality gap and the accessors of Sliding Frank-Wolfe (sfw.c).
   A particle is u = (w, theta) (fb lift) or u = (r, theta) with weight r|r|
   (signed_square lift), theta in [0, 1)^q. The predictor h holds the real
   parts, then the imaginary parts, of the K = (2 fc + 1)^q Fourier
   coefficients of the particle measure, N = 2K. Frequencies are numbered
   k = k1 n2 + k2 with omega = (k1 - fc, k2 - fc) (q = 2) or omega = k - fc
   (q = 1), so that -omega is number K - 1 - k. */
#pragma once

#include "modelimpl.h"

typedef enum { LIFT_FB,
  LIFT_SIGNED_SQUARE } Lift;

/* Grid points per axis of the certificate's search for max |g| per unit of
   2 fc + 1 (doc/math.md section 5), attempts per spike and placements of the
   rejection sampling, Newton steps from each start of the certificate. */
#define GAP_GRID_FACTOR 16
#define SPIKE_ATTEMPTS 100
#define SPIKE_CONFIGS 1000
#define GAP_NEWTON 6

typedef struct {
  PetscInt  q, fc, nf, K, m0;
  Lift      lift;
  PetscReal sep, noise, lambda, init_scale;

  PetscReal    *y; /* observations: K real parts, then K imaginary parts */
  PetscReal    *ta, *tx; /* truth: m0 amplitudes, m0 x q positions */
  PetscReal    *ere, *eim; /* mloc x q x nf: exp(-2 pi i omega theta_a) per axis, from predict() */
  PetscReal    *w; /* mloc weights of the last predict() */
  PetscInt      G; /* certificate grid points per axis */
  PetscReal    *tre, *tim; /* G x nf: exp(-2 pi i omega j / G) */
  PetscReal    *pre, *pim; /* G x nf work for the separable grid evaluation */
  PetscReal    *xre, *xim; /* q x nf: exponentials of one point */
  PetscReal    *gabs; /* G^q: |g| on the certificate grid */
  PetscReal    *cmat, *cwr, *cwi, *cwork; /* 1-torus: companion matrix of g', its eigenvalues, LAPACK work */
  PetscReal    *P, *B, *Px; /* matrix-free Jacobian: its parts (JacobianParts) and P x */
  PetscReal    *Dinv, *Zr, *S, *Sx; /* Woodbury solve: D^-1 blocks, P M D^-T, capacitance LU, work */
  PetscBLASInt *piv;
  PetscInt     *sgn; /* fb: sign of each local weight at the start of the step, 0 at zero */
  PetscBool     sgnset; /* sgn holds the signs of a state */
  PetscInt64    nstops; /* fb: weights stopped at zero by the prox step */
  PetscReal     overshoot; /* fb: largest crossing of zero within a step */
  PetscReal    *mask; /* 0 for the w row of a weight held at zero, else 1 (JacobianParts) */
  PetscReal     wscale; /* scale of the Newton matrix of the last setup */
  PetscBool     capok; /* the capacitance matrix was factored */
} Deconv;

/* exp(-2 pi i (k - fc) t) per axis, and per point (deconv.c). */
PETSC_INTERN void DeconvAxisExponentials(PetscInt, PetscReal, PetscReal *, PetscReal *);
PETSC_INTERN void DeconvPointExponentials(Deconv *, const PetscReal *, PetscReal *, PetscReal *);
/* g, grad g and hess g at a point from its exponentials (deconv.c). */
PETSC_INTERN void DeconvEvalG(Deconv *, const PetscReal *, const PetscReal *, const PetscReal *, PetscReal *, PetscReal[2], PetscReal[4]);
/* fb: the signs of the weights at the start of a step (deconv.c). */
PETSC_INTERN void DeconvEnsureSigns(PgfModel, const PetscScalar *);

/* The weight of a particle: w (fb) or r|r| (signed_square). */
static inline PetscReal Weight(Lift lift, PetscReal u0)
{
  return lift == LIFT_FB ? u0 : u0 * PetscAbsReal(u0);
}

/* The Jacobian and the direct solve of the Newton systems (jacobian.c). */
PETSC_INTERN PetscErrorCode DeconvJacobian(PgfModel, const PetscScalar *, const PetscReal *, Mat);
PETSC_INTERN PetscErrorCode DeconvJacobianPrepare(PgfModel, const PetscScalar *, const PetscReal *);
PETSC_INTERN PetscErrorCode DeconvJacobianApply(PgfModel, const PetscScalar *, PetscScalar *);
PETSC_INTERN PetscErrorCode DeconvJacobianSolveSetUp(PgfModel, PetscReal, PetscReal, const PetscReal *, const PetscReal *);
PETSC_INTERN PetscErrorCode DeconvJacobianSolve(PgfModel, const PetscScalar *, PetscScalar *);
/* The duality gap (certificate.c). */
PETSC_INTERN PetscErrorCode DeconvGap(PgfModel, const PetscScalar *, PetscReal, PetscReal *);
