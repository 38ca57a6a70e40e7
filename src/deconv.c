/* Sparse spikes deconvolution on the torus T^q, q = 1 or 2
   (doc/math.md section 4, certificate section 5).
   A particle is u = (w, theta) (fb lift) or u = (r, theta) with weight r|r|
   (signed_square lift), theta in [0, 1)^q. The predictor h holds the real
   parts, then the imaginary parts, of the K = (2 fc + 1)^q Fourier
   coefficients of the particle measure, N = 2K. Frequencies are numbered
   k = k1 n2 + k2 with omega = (k1 - fc, k2 - fc) (q = 2) or omega = k - fc
   (q = 1), so that -omega is number K - 1 - k. */
#include "modelimpl.h"
#include "options.h"

typedef enum { LIFT_FB,
  LIFT_SIGNED_SQUARE } Lift;
static const char *const lifts[] = {"fb", "signed_square"};

/* Grid points per axis of the certificate's search for max |g| per unit of
   2 fc + 1 (doc/math.md section 5), attempts per spike and placements of the rejection sampling,
   grid maxima refined by Newton and Newton steps from each. */
#define GAP_GRID_FACTOR 16
#define SPIKE_ATTEMPTS 100
#define SPIKE_CONFIGS 1000
#define GAP_STARTS 4
#define GAP_NEWTON 6

typedef struct {
  PetscInt  q, fc, nf, K, m0;
  Lift      lift;
  PetscReal sep, noise, lambda, init_scale;

  PetscReal *y; /* observations: K real parts, then K imaginary parts */
  PetscReal *ta, *tx; /* truth: m0 amplitudes, m0 x q positions */
  PetscReal *ere, *eim; /* mloc x q x nf: exp(-2 pi i omega theta_a) per axis, from predict() */
  PetscReal *w; /* mloc weights of the last predict() */
  PetscInt   G; /* certificate grid points per axis */
  PetscReal *tre, *tim; /* G x nf: exp(-2 pi i omega j / G) */
  PetscReal *pre, *pim; /* G x nf work for the separable grid evaluation */
  PetscReal *xre, *xim; /* q x nf: exponentials of one point */
  PetscReal *P, *B, *Px; /* matrix-free Jacobian: its parts (JacobianParts) and P x */
} Deconv;

/* Fill e[k] = exp(-2 pi i (k - fc) t), k = 0 .. 2 fc, by complex
   multiplication from exp(-2 pi i t): one sine and cosine per axis. */
static void AxisExponentials(PetscInt fc, PetscReal t, PetscReal *ere, PetscReal *eim)
{
  PetscReal c = PetscCosReal(2 * PETSC_PI * t), s = -PetscSinReal(2 * PETSC_PI * t);

  ere[fc] = 1;
  eim[fc] = 0;
  for (PetscInt j = 1; j <= fc; j++) {
    PetscReal pr = ere[fc + j - 1], pi = eim[fc + j - 1];

    ere[fc + j] = pr * c - pi * s;
    eim[fc + j] = pr * s + pi * c;
    ere[fc - j] = ere[fc + j];
    eim[fc - j] = -eim[fc + j];
  }
}

static void PointExponentials(Deconv *dc, const PetscReal *theta, PetscReal *ere, PetscReal *eim)
{
  for (PetscInt a = 0; a < dc->q; a++) AxisExponentials(dc->fc, theta[a], &ere[a * dc->nf], &eim[a * dc->nf]);
}

/* g, grad g and (when hess is not NULL) the Hessian of g at one point from
   its axis exponentials (doc/math.md section 4): with z = conj(rho) e,
   g = sum Re z, grad_a g = 2 pi sum omega_a Im z,
   hess_ab g = -4 pi^2 sum omega_a omega_b Re z. O(K). */
static void EvalG(Deconv *dc, const PetscReal *rho, const PetscReal *ere, const PetscReal *eim, PetscReal *g, PetscReal grad[2], PetscReal hess[4])
{
  PetscInt  n2 = dc->q == 2 ? dc->nf : 1, K = dc->K;
  PetscReal s = 0, g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0;

  for (PetscInt k1 = 0; k1 < dc->nf; k1++) {
    PetscReal o1 = (PetscReal)(k1 - dc->fc);

    for (PetscInt k2 = 0; k2 < n2; k2++) {
      PetscInt  k   = k1 * n2 + k2;
      PetscReal o2  = dc->q == 2 ? (PetscReal)(k2 - dc->fc) : 0;
      PetscReal e2r = dc->q == 2 ? ere[dc->nf + k2] : 1, e2i = dc->q == 2 ? eim[dc->nf + k2] : 0;
      PetscReal er = ere[k1] * e2r - eim[k1] * e2i, ei = ere[k1] * e2i + eim[k1] * e2r;
      PetscReal zr = rho[k] * er + rho[K + k] * ei, zi = rho[k] * ei - rho[K + k] * er;

      s += zr;
      g0 += o1 * zi;
      g1 += o2 * zi;
      h00 += o1 * o1 * zr;
      h01 += o1 * o2 * zr;
      h11 += o2 * o2 * zr;
    }
  }
  *g      = s;
  grad[0] = 2 * PETSC_PI * g0;
  grad[1] = 2 * PETSC_PI * g1;
  if (hess) {
    hess[0] = -4 * PETSC_PI * PETSC_PI * h00;
    hess[1] = hess[2] = -4 * PETSC_PI * PETSC_PI * h01;
    hess[3]           = -4 * PETSC_PI * PETSC_PI * h11;
  }
}

static inline PetscReal Weight(Lift lift, PetscReal u0)
{
  return lift == LIFT_FB ? u0 : u0 * PetscAbsReal(u0);
}

/* h += sum_i w_i exp(-2 pi i omega theta_i); keeps the exponentials and
   weights for velocity(). O(mloc K). */
static PetscErrorCode DeconvPredict(PgfModel model, const PetscScalar *u, PetscReal *h)
{
  Deconv  *dc = (Deconv *)model->data;
  PetscInt n2 = dc->q == 2 ? dc->nf : 1, K = dc->K, stride = dc->q * dc->nf;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) {
    const PetscScalar *ui  = &u[i * model->dof];
    PetscReal         *ere = &dc->ere[i * stride], *eim = &dc->eim[i * stride], w;

    PointExponentials(dc, &ui[1], ere, eim);
    w = dc->w[i] = Weight(dc->lift, ui[0]);
    for (PetscInt k1 = 0; k1 < dc->nf; k1++) {
      if (dc->q == 1) {
        h[k1] += w * ere[k1];
        h[K + k1] += w * eim[k1];
        continue;
      }
      for (PetscInt k2 = 0; k2 < n2; k2++) {
        PetscReal e2r = ere[dc->nf + k2], e2i = eim[dc->nf + k2];

        h[k1 * n2 + k2] += w * (ere[k1] * e2r - eim[k1] * e2i);
        h[K + k1 * n2 + k2] += w * (ere[k1] * e2i + eim[k1] * e2r);
      }
    }
  }
  PetscFunctionReturn(0);
}

/* fb: v_w = g, v_theta = w grad g (lambda sign(w) is the prox step's);
   signed_square: v_r = 2|r| g + 2 lambda r, v_theta = r|r| grad g. */
static PetscErrorCode DeconvVelocity(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscScalar *v)
{
  Deconv  *dc     = (Deconv *)model->data;
  PetscInt stride = dc->q * dc->nf;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) {
    const PetscScalar *ui = &u[i * model->dof];
    PetscScalar       *vi = &v[i * model->dof];
    PetscReal          g, grad[2];

    EvalG(dc, rho, &dc->ere[i * stride], &dc->eim[i * stride], &g, grad, NULL);
    vi[0] = dc->lift == LIFT_FB ? g : 2 * PetscAbsReal(ui[0]) * g + 2 * dc->lambda * ui[0];
    for (PetscInt a = 0; a < dc->q; a++) vi[1 + a] = dc->w[i] * grad[a];
  }
  PetscFunctionReturn(0);
}

/* The Jacobian of v (doc/math.md section 4) for u = (u0, theta), Phi = W(u0) e(theta),
   W = u0 (fb) or u0|u0| (signed_square): with rho = (h - y)/K,
     dv_i/du_j = (1/(m K)) DPhi(u_i)^T DPhi(u_j)
               + delta_ij [W'' g, W' grad g; W' grad g, W hess g] + V''(u0) e_0 e_0^T,
   a low-rank product through BLAS (the columns DPhi of every particle are
   gathered on every rank) plus a block diagonal. */
/* The two parts of dv/du at the local particles: P (2K x mloc dof,
   column-major), the derivatives of the predictor h, and B (dof x dof per
   local particle), the particle's own terms g'' and the lift's curvature.
   dv_i/du_j = P_i^T P_j / (m K) + [i = j] B_i. */
static void JacobianParts(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscReal *P, PetscReal *B)
{
  Deconv  *dc  = (Deconv *)model->data;
  PetscInt dof = model->dof, K2 = 2 * dc->K, stride = dc->q * dc->nf, n2 = dc->q == 2 ? dc->nf : 1;

  for (PetscInt i = 0; i < model->mloc; i++) {
    const PetscReal *ere = &dc->ere[i * stride], *eim = &dc->eim[i * stride];
    PetscReal        u0 = u[i * dof], W = dc->w[i], W1 = dc->lift == LIFT_FB ? 1 : 2 * PetscAbsReal(u0);
    PetscReal        W2 = dc->lift == LIFT_FB ? 0 : 2 * PetscSign(u0), g, grad[2], H[4], *col = &P[i * dof * K2], *b = &B[i * dof * dof];

    for (PetscInt k1 = 0; k1 < dc->nf; k1++) {
      for (PetscInt k2 = 0; k2 < n2; k2++) {
        PetscInt  k   = k1 * n2 + k2;
        PetscReal e2r = dc->q == 2 ? ere[dc->nf + k2] : 1, e2i = dc->q == 2 ? eim[dc->nf + k2] : 0;
        PetscReal er = ere[k1] * e2r - eim[k1] * e2i, ei = ere[k1] * e2i + eim[k1] * e2r;
        PetscReal omega[2] = {(PetscReal)(k1 - dc->fc), (PetscReal)(k2 - dc->fc)};

        /* d/du0 = W' e; d/dtheta_a = W (-2 pi i omega_a) e */
        col[k]         = W1 * er;
        col[dc->K + k] = W1 * ei;
        for (PetscInt c = 0; c < dc->q; c++) {
          col[(1 + c) * K2 + k]         = 2 * PETSC_PI * omega[c] * W * ei;
          col[(1 + c) * K2 + dc->K + k] = -2 * PETSC_PI * omega[c] * W * er;
        }
      }
    }
    EvalG(dc, rho, ere, eim, &g, grad, H);
    for (PetscInt k = 0; k < dof * dof; k++) b[k] = 0;
    b[0] = W2 * g + (dc->lift == LIFT_FB ? 0 : 2 * dc->lambda);
    for (PetscInt c = 0; c < dc->q; c++) {
      b[(1 + c) * dof] += W1 * grad[c];
      b[1 + c] += W1 * grad[c];
      for (PetscInt e = 0; e < dc->q; e++) b[1 + c + (1 + e) * dof] += W * H[2 * c + e];
    }
  }
}

/* Assembled: every rank gathers all columns of P (2K x m dof reals). */
static PetscErrorCode DeconvJacobian(PgfModel model, const PetscScalar *u, const PetscReal *rho, Mat J)
{
  Deconv      *dc  = (Deconv *)model->data;
  PetscInt     dof = model->dof, K2 = 2 * dc->K, nloc = model->mloc * dof, lda;
  PetscReal   *P, *Pall, *B;
  PetscScalar *a;
  PetscMPIInt  size, count, *counts, *displs;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(model->comm, &size));
  PetscCall(PetscMalloc3(K2 * PetscMax(nloc, 1), &P, K2 * model->m * dof, &Pall, PetscMax(nloc, 1) * dof, &B));
  PetscCall(PetscMalloc2(size, &counts, size, &displs));
  JacobianParts(model, u, rho, P, B);
  PetscCall(PetscMPIIntCast(K2 * nloc, &count));
  PetscCallMPI(MPI_Allgather(&count, 1, MPI_INT, counts, 1, MPI_INT, model->comm));
  displs[0] = 0;
  for (PetscMPIInt r = 1; r < size; r++) displs[r] = displs[r - 1] + counts[r - 1];
  PetscCallMPI(MPI_Allgatherv(P, count, MPIU_REAL, Pall, counts, displs, MPIU_REAL, model->comm));
  PetscCall(MatDenseGetLDA(J, &lda));
  PetscCall(MatDenseGetArrayWrite(J, &a));
  if (nloc) PetscCall(PgfGemm("T", "N", nloc, model->m * dof, K2, 1.0 / (model->m * dc->K), P, K2, Pall, K2, 0.0, a, lda));
  for (PetscInt i = 0; i < model->mloc; i++) {
    PetscInt r0 = i * dof, c0 = (model->rstart + i) * dof;

    for (PetscInt r = 0; r < dof; r++)
      for (PetscInt c = 0; c < dof; c++) a[r0 + r + (c0 + c) * lda] += B[i * dof * dof + r + c * dof];
  }
  PetscCall(MatDenseRestoreArrayWrite(J, &a));
  PetscCall(PetscFree2(counts, displs));
  PetscCall(PetscFree3(P, Pall, B));
  PetscFunctionReturn(0);
}

/* Matrix-free: keep the local parts (2K + dof) mloc dof reals; a product
   then costs two passes over P and one Allreduce of 2K values. */
static PetscErrorCode DeconvJacobianPrepare(PgfModel model, const PetscScalar *u, const PetscReal *rho)
{
  Deconv  *dc   = (Deconv *)model->data;
  PetscInt nloc = model->mloc * model->dof;

  PetscFunctionBegin;
  if (!dc->P) PetscCall(PetscMalloc3(2 * dc->K * PetscMax(nloc, 1), &dc->P, PetscMax(nloc, 1) * model->dof, &dc->B, 2 * dc->K, &dc->Px));
  JacobianParts(model, u, rho, dc->P, dc->B);
  PetscFunctionReturn(0);
}

static PetscErrorCode DeconvJacobianApply(PgfModel model, const PetscScalar *x, PetscScalar *y)
{
  Deconv  *dc  = (Deconv *)model->data;
  PetscInt dof = model->dof, K2 = 2 * dc->K, nloc = model->mloc * dof;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < K2; k++) dc->Px[k] = 0;
  if (nloc) PetscCall(PgfGemm("N", "N", K2, 1, nloc, 1.0, dc->P, K2, x, nloc, 0.0, dc->Px, K2));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, dc->Px, (PetscMPIInt)K2, MPIU_REAL, MPI_SUM, model->comm));
  if (nloc) PetscCall(PgfGemm("T", "N", nloc, 1, K2, 1.0 / (model->m * dc->K), dc->P, K2, dc->Px, K2, 0.0, y, nloc));
  for (PetscInt i = 0; i < model->mloc; i++)
    for (PetscInt r = 0; r < dof; r++)
      for (PetscInt c = 0; c < dof; c++) y[i * dof + r] += dc->B[i * dof * dof + r + c * dof] * x[i * dof + c];
  PetscFunctionReturn(0);
}

/* R(h) = (1/2K) sum |h - y|^2, rho = (h - y)/K over the 2K real values. */
static PetscErrorCode DeconvLoss(PgfModel model, const PetscReal *h, PetscReal *R, PetscReal *rho)
{
  Deconv   *dc  = (Deconv *)model->data;
  PetscReal sum = 0;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < 2 * dc->K; k++) {
    PetscReal r = h[k] - dc->y[k];

    sum += r * r;
    rho[k] = r / dc->K;
  }
  *R = sum / (2 * dc->K);
  PetscFunctionReturn(0);
}

/* lambda |w| for both lifts (signed_square: lambda r^2 = lambda |r|r||). */
static PetscErrorCode DeconvRegularizer(PgfModel model, const PetscScalar *u, PetscReal *V)
{
  Deconv   *dc  = (Deconv *)model->data;
  PetscReal sum = 0;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) sum += dc->lambda * PetscAbsReal(Weight(dc->lift, u[i * model->dof]));
  *V = sum;
  PetscFunctionReturn(0);
}

/* After a step of size dt: positions wrapped into [0, 1); fb also takes the
   proximal step of lambda |w| (doc/math.md section 4). */
static PetscErrorCode DeconvProx(PgfModel model, PetscReal dt, PetscScalar *u, PetscBool *changed)
{
  Deconv *dc = (Deconv *)model->data;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) {
    PetscScalar *ui = &u[i * model->dof];

    for (PetscInt a = 1; a <= dc->q; a++) {
      PetscReal t = ui[a] - PetscFloorReal(ui[a]);

      if (t >= 1) t = 0; /* -tiny - floor(-tiny) rounds to 1 */
      if (t != ui[a]) *changed = PETSC_TRUE;
      ui[a] = t;
    }
    if (dc->lift == LIFT_FB && dc->lambda > 0) {
      ui[0]    = PetscSign(ui[0]) * PetscMax(PetscAbsReal(ui[0]) - dt * dc->lambda, 0);
      *changed = PETSC_TRUE;
    }
  }
  PetscFunctionReturn(0);
}

/* The flow is stiff (doc/experiments.md E1, E6). Measured on E1 at m = 100,
   seeds 0-4, to a gap of 1e-10 (README): fully implicit ARK IMEX 3 with the
   analytic Jacobian needs 0.9e3-1.0e3 evaluations, BDF 7.9e3-8.6e3, backward
   Euler 5e5; the default explicit RK needed 1e6 evaluations to reach t = 13. */
static PetscErrorCode DeconvTSDefaults(PgfModel model, TS ts)
{
  SNES snes;
  KSP  ksp;

  PetscFunctionBegin;
  PetscCall(TSSetType(ts, TSARKIMEX));
  PetscCall(TSARKIMEXSetFullyImplicit(ts, PETSC_TRUE));
  /* On several ranks the Newton systems are solved by GMRES: to 1e-12, so
     that the trajectory matches the one-rank LU solves to 1e-10. */
  PetscCall(TSGetSNES(ts, &snes));
  PetscCall(SNESGetKSP(snes, &ksp));
  PetscCall(KSPSetTolerances(ksp, 1e-12, PETSC_DEFAULT, PETSC_DEFAULT, PETSC_DEFAULT));
  PetscFunctionReturn(0);
}

static PetscErrorCode DeconvWeights(PgfModel model, const PetscScalar *u, PetscReal *w)
{
  Deconv *dc = (Deconv *)model->data;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) w[i] = Weight(dc->lift, u[i * model->dof]);
  PetscFunctionReturn(0);
}

/* g on the G^q certificate grid, evaluated directly but separably (no FFT):
   P(j1, k2) = sum_k1 conj(rho(k1, k2)) e(k1, j1) costs G nf^2, then
   g(j1, j2) = Re sum_k2 P(j1, k2) e(k2, j2) costs G^2 nf, against
   G^2 nf^2 for the plain sum. Returns max |g| on the grid and the
   GAP_STARTS grid points of largest |g| in jbest. */
static void GridMaxima(Deconv *dc, const PetscReal *rho, PetscReal *gmax, PetscInt jbest[GAP_STARTS])
{
  PetscInt  G = dc->G, nf = dc->nf, n2 = dc->q == 2 ? nf : 1, G2 = dc->q == 2 ? G : 1, K = dc->K;
  PetscReal best[GAP_STARTS];

  for (PetscInt j1 = 0; j1 < G; j1++) {
    for (PetscInt k2 = 0; k2 < n2; k2++) {
      PetscReal sr = 0, si = 0;

      for (PetscInt k1 = 0; k1 < nf; k1++) {
        PetscInt  k  = k1 * n2 + k2;
        PetscReal er = dc->tre[j1 * nf + k1], ei = dc->tim[j1 * nf + k1];

        sr += rho[k] * er + rho[K + k] * ei;
        si += rho[k] * ei - rho[K + k] * er;
      }
      dc->pre[j1 * n2 + k2] = sr;
      dc->pim[j1 * n2 + k2] = si;
    }
  }
  for (PetscInt c = 0; c < GAP_STARTS; c++) {
    best[c]  = -1;
    jbest[c] = -1;
  }
  *gmax = 0;
  for (PetscInt j1 = 0; j1 < G; j1++) {
    for (PetscInt j2 = 0; j2 < G2; j2++) {
      PetscReal gabs;

      if (dc->q == 1) gabs = PetscAbsReal(dc->pre[j1]);
      else {
        PetscReal s = 0;

        for (PetscInt k2 = 0; k2 < nf; k2++) s += dc->pre[j1 * nf + k2] * dc->tre[j2 * nf + k2] - dc->pim[j1 * nf + k2] * dc->tim[j2 * nf + k2];
        gabs = PetscAbsReal(s);
      }
      *gmax = PetscMax(*gmax, gabs);
      /* keep the GAP_STARTS largest values, sorted */
      for (PetscInt c = 0; c < GAP_STARTS; c++) {
        if (gabs <= best[c]) continue;
        for (PetscInt d = GAP_STARTS - 1; d > c; d--) {
          best[d]  = best[d - 1];
          jbest[d] = jbest[d - 1];
        }
        best[c]  = gabs;
        jbest[c] = j1 * G2 + j2;
        break;
      }
    }
  }
}

/* Newton ascent of |g| from a grid point, steps capped at the grid spacing;
   returns the largest |g| met. Every value is |g| at some point of T^q, so
   the result never exceeds max |g|. */
static PetscReal NewtonMax(Deconv *dc, const PetscReal *rho, PetscInt j)
{
  PetscReal theta[2] = {0, 0}, best = 0, hmax = 1.0 / dc->G;

  if (dc->q == 1) theta[0] = (PetscReal)j / dc->G;
  else {
    theta[0] = (PetscReal)(j / dc->G) / dc->G;
    theta[1] = (PetscReal)(j % dc->G) / dc->G;
  }
  for (PetscInt it = 0; it <= GAP_NEWTON; it++) {
    PetscReal g, grad[2], H[4], d[2], det, sg, scale;

    PointExponentials(dc, theta, dc->xre, dc->xim);
    EvalG(dc, rho, dc->xre, dc->xim, &g, grad, H);
    best = PetscMax(best, PetscAbsReal(g));
    sg   = g >= 0 ? 1 : -1;
    /* a Newton step toward a maximum of sg g needs sg H negative definite */
    if (dc->q == 1) {
      if (sg * H[0] >= 0) break;
      d[0] = -grad[0] / H[0];
      d[1] = 0;
    } else {
      det = H[0] * H[3] - H[1] * H[2];
      if (sg * H[0] >= 0 || det <= 0) break;
      d[0] = -(H[3] * grad[0] - H[1] * grad[1]) / det;
      d[1] = -(H[0] * grad[1] - H[2] * grad[0]) / det;
    }
    scale = PetscMax(PetscAbsReal(d[0]), PetscAbsReal(d[1])) / hmax;
    if (scale > 1) {
      d[0] /= scale;
      d[1] /= scale;
    }
    theta[0] += d[0];
    theta[1] += d[1];
  }
  return best;
}

/* The duality gap of doc/math.md section 5, from rho (and h) of the last
   evaluation and F = F(mu): p = -(h - y)/sqrt(K) = -sqrt(K) rho,
   z = y/sqrt(K), c = min(1, lambda / max |g|), D = c <z,p> - c^2 |p|^2/2.
   Every rank computes it whole (it needs rho only). */
static PetscErrorCode DeconvGap(PgfModel model, const PetscScalar *u, PetscReal F, PetscReal *gap)
{
  Deconv    *dc  = (Deconv *)model->data;
  PetscReal *rho = model->rho, gmax, c, zp = 0, pp = 0;
  PetscInt   jbest[GAP_STARTS];

  PetscFunctionBegin;
  GridMaxima(dc, rho, &gmax, jbest);
  for (PetscInt s = 0; s < GAP_STARTS && jbest[s] >= 0; s++) gmax = PetscMax(gmax, NewtonMax(dc, rho, jbest[s]));
  for (PetscInt k = 0; k < 2 * dc->K; k++) {
    zp -= dc->y[k] * rho[k];
    pp += dc->K * rho[k] * rho[k];
  }
  c    = gmax > dc->lambda ? dc->lambda / gmax : 1;
  *gap = F - (c * zp - 0.5 * c * c * pp);
  PetscFunctionReturn(0);
}

static PetscReal TorusDistance(PetscInt q, const PetscReal *x, const PetscReal *z)
{
  PetscReal d2 = 0;

  for (PetscInt a = 0; a < q; a++) {
    PetscReal d = PetscAbsReal(x[a] - z[a]);

    d = PetscMin(d, 1 - d);
    d2 += d * d;
  }
  return PetscSqrtReal(d2);
}

/* Ground truth and observations (doc/math.md section 4), from the counter-based
   generator: spike k draws its amplitude from components 0, 1 of index k of
   the teacher stream and candidate positions from components 2, 3, ...,
   keeping the first one at torus distance >= min_separation from spikes
   0 .. k-1; when a spike finds no place in SPIKE_ATTEMPTS draws, the whole
   placement starts again with fresh draws (SPIKE_CONFIGS times at most). Noise xi(omega) for omega = 0 and the half of the frequencies
   with k > (K-1)/2 from index k of the noise stream (real and imaginary
   parts N(0, 1/2), E|xi|^2 = 1; xi(0) ~ N(0, 1) real), the other half by
   xi(-omega) = conj(xi(omega)). */
static PetscErrorCode MakeData(PgfModel model)
{
  Deconv    *dc = (Deconv *)model->data;
  PetscInt   q = dc->q, K = dc->K, n2 = q == 2 ? dc->nf : 1, mid = (K - 1) / 2;
  PetscInt64 seed = model->seed;
  PetscReal *ere = dc->xre, *eim = dc->xim;
  PetscBool  placed = PETSC_FALSE;

  PetscFunctionBegin;
  for (PetscInt config = 0; config < SPIKE_CONFIGS && !placed; config++) {
    placed = PETSC_TRUE;
    for (PetscInt k = 0; k < dc->m0 && placed; k++) {
      PetscReal *x = &dc->tx[k * q];

      placed = PETSC_FALSE;
      for (PetscInt att = 0; att < SPIKE_ATTEMPTS && !placed; att++) {
        for (PetscInt a = 0; a < q; a++) x[a] = PgfRandUniform(seed, PGF_STREAM_TEACHER, k, 2 + (config * SPIKE_ATTEMPTS + att) * q + a);
        placed = PETSC_TRUE;
        for (PetscInt l = 0; l < k && placed; l++) placed = (PetscBool)(TorusDistance(q, x, &dc->tx[l * q]) >= dc->sep);
      }
    }
  }
  PgfCheckInput(model->comm, placed, "-spikes %" PetscInt_FMT " spikes at pairwise distance -min_separation %g do not fit on the %" PetscInt_FMT "-torus (no placement found in %d tries); lower -spikes or -min_separation", dc->m0, (double)dc->sep, q, SPIKE_CONFIGS);
  for (PetscInt k = 0; k < dc->m0; k++) dc->ta[k] = (0.5 + PgfRandUniform(seed, PGF_STREAM_TEACHER, k, 0)) * (PgfRandUniform(seed, PGF_STREAM_TEACHER, k, 1) < 0.5 ? -1 : 1);
  PetscCall(PetscArrayzero(dc->y, 2 * K));
  for (PetscInt k = 0; k < dc->m0; k++) {
    PointExponentials(dc, &dc->tx[k * q], ere, eim);
    for (PetscInt k1 = 0; k1 < dc->nf; k1++) {
      for (PetscInt k2 = 0; k2 < n2; k2++) {
        PetscReal e2r = q == 2 ? ere[dc->nf + k2] : 1, e2i = q == 2 ? eim[dc->nf + k2] : 0;

        dc->y[k1 * n2 + k2] += dc->ta[k] * (ere[k1] * e2r - eim[k1] * e2i);
        dc->y[K + k1 * n2 + k2] += dc->ta[k] * (ere[k1] * e2i + eim[k1] * e2r);
      }
    }
  }
  dc->y[mid] += dc->noise * PgfRandNormal(seed, PGF_STREAM_NOISE, mid, 0);
  for (PetscInt k = mid + 1; k < K; k++) {
    PetscReal xr = PgfRandNormal(seed, PGF_STREAM_NOISE, k, 0) / PETSC_SQRT2, xi = PgfRandNormal(seed, PGF_STREAM_NOISE, k, 1) / PETSC_SQRT2;

    dc->y[k] += dc->noise * xr;
    dc->y[K + k] += dc->noise * xi;
    dc->y[K - 1 - k] += dc->noise * xr;
    dc->y[2 * K - 1 - k] -= dc->noise * xi;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DeconvSetFromOptions(PgfModel model)
{
  Deconv  *dc   = (Deconv *)model->data;
  PetscInt lift = LIFT_SIGNED_SQUARE;

  PetscFunctionBegin;
  dc->q          = 1;
  dc->fc         = 10;
  dc->m0         = 5;
  dc->sep        = 0.15;
  dc->noise      = 0.05;
  dc->lambda     = 0.05;
  dc->init_scale = 0.1;
  PetscOptionsBegin(model->comm, NULL, "Sparse deconvolution on the torus (-problem deconv)", NULL);
  PetscCall(PgfOptionsInt(model->comm, "-torus_dim", "Dimension q of the torus", dc->q, 1, 2, &dc->q));
  PetscCall(PgfOptionsInt(model->comm, "-cutoff", "Cutoff frequency fc", dc->fc, 1, 1000, &dc->fc));
  PetscCall(PgfOptionsInt(model->comm, "-spikes", "Spikes m0 of the ground truth", dc->m0, 1, PETSC_MAX_INT, &dc->m0));
  PetscCall(PgfOptionsReal(model->comm, "-min_separation", "Least torus distance between spikes", dc->sep, 0, 1, &dc->sep));
  PetscCall(PgfOptionsReal(model->comm, "-noise", "Standard deviation of the noise", dc->noise, 0, PETSC_MAX_REAL, &dc->noise));
  PetscCall(PgfOptionsReal(model->comm, "-lambda", "Total variation penalty", dc->lambda, 0, PETSC_MAX_REAL, &dc->lambda));
  PetscCall(PgfOptionsEList(model->comm, "-lift", "Lift of the total variation", lifts, 2, lift, &lift));
  PetscCall(PgfOptionsReal(model->comm, "-init_scale", "Initial |r| of the signed_square lift", dc->init_scale, PETSC_SMALL, PETSC_MAX_REAL, &dc->init_scale));
  PetscOptionsEnd();
  PgfCheckInput(model->comm, model->groups == 1, "-sample_groups needs -problem twolayer (deconv has no samples to split)");
  dc->lift = (Lift)lift;
  dc->nf   = 2 * dc->fc + 1;
  dc->K    = dc->q == 2 ? dc->nf * dc->nf : dc->nf;
  dc->G    = GAP_GRID_FACTOR * dc->nf;
  PetscCall(PetscMalloc3(2 * dc->K, &dc->y, dc->m0, &dc->ta, dc->m0 * dc->q, &dc->tx));
  PetscCall(PetscMalloc2(dc->q * dc->nf, &dc->xre, dc->q * dc->nf, &dc->xim));
  PetscCall(MakeData(model));
  PetscCall(PgfModelReserve(model, sizeof(PetscReal) * ((2.0 * dc->q * dc->nf + 1) * model->mloc + 4.0 * dc->G * dc->nf + 2.0 * dc->K), "the particles' Fourier coefficients"));
  PetscCall(PetscMalloc3(model->mloc * dc->q * dc->nf, &dc->ere, model->mloc * dc->q * dc->nf, &dc->eim, model->mloc, &dc->w));
  PetscCall(PetscMalloc4(dc->G * dc->nf, &dc->tre, dc->G * dc->nf, &dc->tim, dc->G * dc->nf, &dc->pre, dc->G * dc->nf, &dc->pim));
  for (PetscInt j = 0; j < dc->G; j++) AxisExponentials(dc->fc, (PetscReal)j / dc->G, &dc->tre[j * dc->nf], &dc->tim[j * dc->nf]);
  model->npos = dc->q;
  model->N    = 2 * dc->K;
  PetscFunctionReturn(0);
}

/* theta_i on a uniform grid of T^q: i/m for q = 1; for q = 2 the first m
   points, row by row, of an n1 x n2 grid with n1 = ceil(sqrt(m)) rows of
   n2 = ceil(m / n1) points (the sqrt(m) x sqrt(m) grid when m is a square).
   fb: w_i = 0; signed_square: r_i = +r0, -r0, +r0, ... (doc/math.md section 4). */
static PetscErrorCode DeconvInitialize(PgfModel model, PetscScalar *u)
{
  Deconv  *dc = (Deconv *)model->data;
  PetscInt n1 = (PetscInt)PetscCeilReal(PetscSqrtReal((PetscReal)model->m) - 1e-9), n2 = (model->m + n1 - 1) / n1;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) {
    PetscInt     gi = model->rstart + i;
    PetscScalar *ui = &u[i * model->dof];

    ui[0] = dc->lift == LIFT_FB ? 0 : (gi % 2 ? -dc->init_scale : dc->init_scale);
    if (dc->q == 1) ui[1] = (PetscReal)gi / model->m;
    else {
      ui[1] = (PetscReal)(gi / n2) / n1;
      ui[2] = (PetscReal)(gi % n2) / n2;
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DeconvWriteProblem(PgfModel model, PgfOutput out)
{
  Deconv    *dc       = (Deconv *)model->data;
  PetscInt   fdims[2] = {dc->K, dc->q}, kdims[1] = {dc->K}, adims[1] = {dc->m0}, xdims[2] = {dc->m0, dc->q}, n2 = dc->q == 2 ? dc->nf : 1;
  PetscReal *freq;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(dc->K * dc->q, &freq));
  for (PetscInt k = 0; k < dc->K; k++) {
    freq[k * dc->q] = (PetscReal)(k / n2 - dc->fc);
    if (dc->q == 2) freq[k * dc->q + 1] = (PetscReal)(k % n2 - dc->fc);
  }
  PetscCall(PgfOutputWriteRootArray(out, "/data/frequencies", 2, fdims, freq));
  PetscCall(PgfOutputWriteRootArray(out, "/data/y_re", 1, kdims, dc->y));
  PetscCall(PgfOutputWriteRootArray(out, "/data/y_im", 1, kdims, &dc->y[dc->K]));
  PetscCall(PgfOutputWriteRootArray(out, "/truth/a", 1, adims, dc->ta));
  PetscCall(PgfOutputWriteRootArray(out, "/truth/x", 2, xdims, dc->tx));
  PetscCall(PetscFree(freq));
  PetscFunctionReturn(0);
}

static PetscErrorCode DeconvDestroy(PgfModel model)
{
  Deconv *dc = (Deconv *)model->data;

  PetscFunctionBegin;
  PetscCall(PetscFree3(dc->y, dc->ta, dc->tx));
  PetscCall(PetscFree2(dc->xre, dc->xim));
  PetscCall(PetscFree3(dc->ere, dc->eim, dc->w));
  PetscCall(PetscFree4(dc->tre, dc->tim, dc->pre, dc->pim));
  PetscCall(PetscFree3(dc->P, dc->B, dc->Px));
  PetscCall(PetscFree(model->data));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelCreate_Deconv(PgfModel model)
{
  Deconv *dc;

  PetscFunctionBegin;
  PetscCall(PetscNew(&dc));
  model->data                = dc;
  model->ops.setfromoptions  = DeconvSetFromOptions;
  model->ops.initialize      = DeconvInitialize;
  model->ops.predict         = DeconvPredict;
  model->ops.loss            = DeconvLoss;
  model->ops.velocity        = DeconvVelocity;
  model->ops.regularizer     = DeconvRegularizer;
  model->ops.prox            = DeconvProx;
  model->ops.weights         = DeconvWeights;
  model->ops.gap             = DeconvGap;
  model->ops.jacobian        = DeconvJacobian;
  model->ops.jacobianprepare = DeconvJacobianPrepare;
  model->ops.jacobianapply   = DeconvJacobianApply;
  model->ops.tsdefaults      = DeconvTSDefaults;
  model->ops.writeproblem    = DeconvWriteProblem;
  model->ops.destroy         = DeconvDestroy;
  PetscFunctionReturn(0);
}
