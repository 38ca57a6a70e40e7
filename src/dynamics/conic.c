/* Conic particle gradient descent (Chizat 2022, "Sparse optimization on
   measures with over-parameterized gradient descent"; doc/math.md section
   2.5): the Wasserstein-Fisher-Rao gradient flow of F on the lifted
   particles. With u = r (radius) and a direction, and v_r, v_theta the
   radial and angular parts of the Euclidean velocity,

       r' = -A v_r,     theta' = -(B / r^2) v_theta,

   so that weights move multiplicatively and positions at a speed that does
   not depend on the weight. A = -conic_alpha, B = -conic_beta. With fixed
   forward Euler steps, -conic_retraction mirror (the default) updates the
   radius multiplicatively, canonical linearly (plain Euler). */
#include "../dynamicsimpl.h"
#include "../options.h"

typedef struct {
  PetscReal A, B;
} Conic;

static const char *const retractions[] = {"mirror", "canonical"};

/* Particles u = (r, theta): G^-1 = diag(A, B / r^2 I). At r = 0 the angular
   velocity r |r| grad g / r^2 is 0 (its limit up to sign). */
static void FirstVelocity(const Conic *c, PetscInt dof, const PetscScalar *u, PetscScalar *v, PetscReal *D)
{
  PetscReal r = u[0], s = r != 0 ? c->B / (r * r) : 0;

  *D += c->A * v[0] * v[0];
  v[0] *= c->A;
  for (PetscInt k = 1; k < dof; k++) {
    *D += s * v[k] * v[k];
    v[k] *= s;
  }
}

/* Particles u in R^dof, r = |u|, omega = u / r: G^-1 = A omega omega^T +
   B (I - omega omega^T). At u = 0 (where a 2-homogeneous model has v = 0)
   G^-1 = A I. */
static void NormVelocity(const Conic *c, PetscInt dof, const PetscScalar *u, PetscScalar *v, PetscReal *D)
{
  PetscReal r2 = 0, vr = 0, vt2 = 0, r;

  for (PetscInt k = 0; k < dof; k++) r2 += u[k] * u[k];
  if (r2 == 0) {
    for (PetscInt k = 0; k < dof; k++) {
      *D += c->A * v[k] * v[k];
      v[k] *= c->A;
    }
    return;
  }
  r = PetscSqrtReal(r2);
  for (PetscInt k = 0; k < dof; k++) vr += v[k] * u[k] / r;
  for (PetscInt k = 0; k < dof; k++) {
    PetscReal vt = v[k] - vr * u[k] / r;

    vt2 += vt * vt;
    v[k] = c->A * vr * u[k] / r + c->B * vt;
  }
  *D += c->A * vr * vr + c->B * vt2;
}

static PetscErrorCode ConicVelocity(PgfDynamics dyn, const PetscScalar *u, PetscScalar *v, PetscReal *D)
{
  const Conic *c   = (Conic *)dyn->data;
  PetscInt     dof = dyn->dof;

  PetscFunctionBegin;
  *D = 0;
  for (PetscInt i = 0; i < dyn->mloc; i++) {
    if (dyn->radial == PGF_RADIAL_FIRST) FirstVelocity(c, dof, &u[i * dof], &v[i * dof], D);
    else NormVelocity(c, dof, &u[i * dof], &v[i * dof], D);
  }
  PetscFunctionReturn(0);
}

/* S = G^-1 and E = d(G^-1)/du [v] of one particle, column-major dof x dof
   (for u in R^dof: d(omega)/du = (I - omega omega^T) / r). */
static void ParticleBlocks(const PgfDynamics dyn, const PetscScalar *u, const PetscScalar *v, PetscReal *S, PetscReal *E)
{
  const Conic *c   = (Conic *)dyn->data;
  PetscInt     dof = dyn->dof;
  PetscReal    r2 = 0, r, vr = 0;

  for (PetscInt k = 0; k < dof * dof; k++) S[k] = E[k] = 0;
  if (dyn->radial == PGF_RADIAL_FIRST) {
    r    = u[0];
    S[0] = c->A;
    for (PetscInt a = 1; a < dof; a++) {
      S[a * (dof + 1)] = r != 0 ? c->B / (r * r) : 0;
      E[a]             = r != 0 ? -2 * c->B * v[a] / (r * r * r) : 0; /* row a, column 0 (the radius) */
    }
    return;
  }
  for (PetscInt k = 0; k < dof; k++) r2 += u[k] * u[k];
  if (r2 == 0) {
    for (PetscInt a = 0; a < dof; a++) S[a * (dof + 1)] = c->A;
    return;
  }
  r = PetscSqrtReal(r2);
  for (PetscInt k = 0; k < dof; k++) vr += v[k] * u[k] / r;
  for (PetscInt b = 0; b < dof; b++)
    for (PetscInt a = 0; a < dof; a++) {
      PetscReal wa = u[a] / r, wb = u[b] / r;

      S[a + b * dof] = c->B * (a == b) + (c->A - c->B) * wa * wb;
      E[a + b * dof] = (c->A - c->B) / r * (vr * ((a == b) - wa * wb) + wa * (v[b] - vr * wb));
    }
}

static PetscErrorCode ConicBlocks(PgfDynamics dyn, const PetscScalar *u, const PetscScalar *v, PetscReal *S, PetscReal *E)
{
  PetscInt dof = dyn->dof;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < dyn->mloc; i++) ParticleBlocks(dyn, &u[i * dof], &v[i * dof], &S[i * dof * dof], &E[i * dof * dof]);
  PetscFunctionReturn(0);
}

/* y <- S y + E x, particle by particle, in O(dof) each. */
static PetscErrorCode ConicJacobian(PgfDynamics dyn, const PetscScalar *u, const PetscScalar *v, const PetscScalar *x, PetscScalar *y)
{
  const Conic *c   = (Conic *)dyn->data;
  PetscInt     dof = dyn->dof;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < dyn->mloc; i++) {
    const PetscScalar *ui = &u[i * dof], *vi = &v[i * dof], *xi = &x[i * dof];
    PetscScalar       *yi = &y[i * dof];
    PetscReal          r2 = 0, r, vr = 0, yr = 0, xr = 0, vxt = 0;

    if (dyn->radial == PGF_RADIAL_FIRST) {
      PetscReal rr = ui[0];

      yi[0] *= c->A;
      for (PetscInt a = 1; a < dof; a++) yi[a] = rr != 0 ? c->B / (rr * rr) * yi[a] - 2 * c->B * vi[a] * xi[0] / (rr * rr * rr) : 0;
      continue;
    }
    for (PetscInt k = 0; k < dof; k++) r2 += ui[k] * ui[k];
    if (r2 == 0) {
      for (PetscInt k = 0; k < dof; k++) yi[k] *= c->A;
      continue;
    }
    r = PetscSqrtReal(r2);
    for (PetscInt k = 0; k < dof; k++) {
      vr += vi[k] * ui[k] / r;
      yr += yi[k] * ui[k] / r;
      xr += xi[k] * ui[k] / r;
    }
    for (PetscInt k = 0; k < dof; k++) vxt += vi[k] * (xi[k] - xr * ui[k] / r);
    for (PetscInt k = 0; k < dof; k++) {
      PetscReal w = ui[k] / r, xt = xi[k] - xr * w;

      yi[k] = c->A * yr * w + c->B * (yi[k] - yr * w) + (c->A - c->B) / r * (xt * vr + w * vxt);
    }
  }
  PetscFunctionReturn(0);
}

/* The mirror step from the forward Euler step uold -> unew: the radius
   multiplied by exp(du_r / r) instead of moved by du_r (a weight never
   changes sign); for u = (r, theta) the positions keep their Euler step, for
   u in R^dof the direction moves by du_t / r and is renormalized. */
static PetscErrorCode ConicRetract(PgfDynamics dyn, const PetscScalar *uold, PetscScalar *unew)
{
  PetscInt dof = dyn->dof;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < dyn->mloc; i++) {
    const PetscScalar *a = &uold[i * dof];
    PetscScalar       *b = &unew[i * dof];

    if (dyn->radial == PGF_RADIAL_FIRST) {
      if (a[0] != 0) b[0] = a[0] * PetscExpReal((b[0] - a[0]) / a[0]);
    } else {
      PetscReal r2 = 0, r, dr = 0, n2 = 0, rn;

      for (PetscInt k = 0; k < dof; k++) r2 += a[k] * a[k];
      if (r2 == 0) continue;
      r = PetscSqrtReal(r2);
      for (PetscInt k = 0; k < dof; k++) dr += (b[k] - a[k]) * a[k] / r;
      for (PetscInt k = 0; k < dof; k++) {
        /* omega + (du - du_r omega) / r, into b */
        b[k] = a[k] / r + (b[k] - a[k] - dr * a[k] / r) / r;
        n2 += b[k] * b[k];
      }
      rn = r * PetscExpReal(dr / r) / PetscSqrtReal(n2);
      for (PetscInt k = 0; k < dof; k++) b[k] *= rn;
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode ConicSetFromOptions(PgfDynamics dyn, PetscOptionItems *PetscOptionsObject)
{
  Conic   *c = (Conic *)dyn->data;
  MPI_Comm comm;
  PetscInt retraction = 0;

  PetscFunctionBegin;
  PetscCall(PgfModelGetComm(dyn->model, &comm));
  PetscCall(PgfOptionsReal(comm, "-conic_alpha", "Conic dynamics: rate A of the radii (r' = -A v_r)", 1, 0, PETSC_MAX_REAL, &c->A));
  PetscCall(PgfOptionsReal(comm, "-conic_beta", "Conic dynamics: rate B of the positions (theta' = -(B / r^2) v_theta)", 1, 0, PETSC_MAX_REAL, &c->B));
  PetscCall(PgfOptionsEList(comm, "-conic_retraction", "Conic dynamics with fixed Euler steps: mirror (multiplicative radii) or canonical (linear)", retractions, 2, 0, &retraction));
  PgfCheckInput(comm, c->A > 0 && c->B > 0, "-conic_alpha and -conic_beta must be positive (got %g and %g)", (double)c->A, (double)c->B);
  PgfCheckInput(comm, dyn->radial != PGF_RADIAL_NONE, "-dynamics conic needs particles with a radius and a direction: %s", dyn->radialwhy);
  if (dyn->euler && retraction == 0) dyn->ops.retract = ConicRetract;
  PetscFunctionReturn(0);
}

static PetscErrorCode ConicDestroy(PgfDynamics dyn)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(dyn->data));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDynamicsCreate_Conic(PgfDynamics dyn)
{
  Conic *c;

  PetscFunctionBegin;
  PetscCall(PetscNew(&c));
  dyn->data               = c;
  dyn->ops.setfromoptions = ConicSetFromOptions;
  dyn->ops.velocity       = ConicVelocity;
  dyn->ops.jacobian       = ConicJacobian;
  dyn->ops.blocks         = ConicBlocks;
  dyn->ops.destroy        = ConicDestroy;
  PetscFunctionReturn(0);
}
