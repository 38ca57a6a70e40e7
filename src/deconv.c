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

/* fb: the signs s_i of the weights are fixed for a whole step (taken from
   the first state seen, then by the prox step after each accepted step),
   which makes lambda |w| smooth within the step: v_w = g + lambda s_i, and
   for a weight at zero at the start of the step, s_i = 0, the least-norm
   subgradient v_w = sign(g) max(|g| - lambda, 0), zero while |g| <= lambda
   (the weight is held at zero). The stationary points of this flow are
   exactly those of F (doc/math.md section 4). */
static void EnsureSigns(PgfModel model, const PetscScalar *u)
{
  Deconv *dc = (Deconv *)model->data;

  if (dc->lift != LIFT_FB || dc->sgnset) return;
  for (PetscInt i = 0; i < model->mloc; i++) dc->sgn[i] = (PetscInt)PetscSign(u[i * model->dof]);
  dc->sgnset = PETSC_TRUE;
}

static PetscReal FbWeightVelocity(Deconv *dc, PetscInt s, PetscReal g)
{
  if (s) return g + dc->lambda * s;
  return PetscSign(g) * PetscMax(PetscAbsReal(g) - dc->lambda, 0);
}

/* fb: v_w = g + lambda s_i (above), v_theta = w grad g;
   signed_square: v_r = 2|r| g + 2 lambda r, v_theta = r|r| grad g. */
static PetscErrorCode DeconvVelocity(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscScalar *v)
{
  Deconv  *dc     = (Deconv *)model->data;
  PetscInt stride = dc->q * dc->nf;

  PetscFunctionBegin;
  EnsureSigns(model, u);
  for (PetscInt i = 0; i < model->mloc; i++) {
    const PetscScalar *ui = &u[i * model->dof];
    PetscScalar       *vi = &v[i * model->dof];
    PetscReal          g, grad[2];

    EvalG(dc, rho, &dc->ere[i * stride], &dc->eim[i * stride], &g, grad, NULL);
    vi[0] = dc->lift == LIFT_FB ? FbWeightVelocity(dc, dc->sgn[i], g) : 2 * PetscAbsReal(ui[0]) * g + 2 * dc->lambda * ui[0];
    for (PetscInt a = 0; a < dc->q; a++) vi[1 + a] = dc->w[i] * grad[a];
  }
  PetscFunctionReturn(0);
}

/* Phi(u_i) . rho = W_i g(theta_i), from the exponentials and weights of
   predict(); V = lambda |W_i|. */
static PetscErrorCode DeconvFirstVariation(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscReal *V)
{
  Deconv  *dc     = (Deconv *)model->data;
  PetscInt stride = dc->q * dc->nf;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) {
    PetscReal g, grad[2];

    EvalG(dc, rho, &dc->ere[i * stride], &dc->eim[i * stride], &g, grad, NULL);
    V[i] = dc->w[i] * g + dc->lambda * PetscAbsReal(dc->w[i]);
  }
  PetscFunctionReturn(0);
}

/* fb: the copied weights' signs are those of the next step. */
static PetscErrorCode DeconvReplaced(PgfModel model)
{
  PetscFunctionBegin;
  ((Deconv *)model->data)->sgnset = PETSC_FALSE;
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
   dv_i/du_j = M_i (P_i^T P_j / (m K) + [i = j] B_i), where M_i (mask) zeroes
   the w row of an fb weight held at zero (s_i = 0, |g| <= lambda). */
static void JacobianParts(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscReal *P, PetscReal *B)
{
  Deconv  *dc  = (Deconv *)model->data;
  PetscInt dof = model->dof, K2 = 2 * dc->K, stride = dc->q * dc->nf, n2 = dc->q == 2 ? dc->nf : 1;

  EnsureSigns(model, u);
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
    dc->mask[i] = dc->lift == LIFT_FB && !dc->sgn[i] && PetscAbsReal(g) <= dc->lambda ? 0 : 1;
    for (PetscInt c = 0; c < dof; c++) b[c * dof] *= dc->mask[i];
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
    for (PetscInt c = 0; c < model->m * dof; c++) a[r0 + c * lda] *= dc->mask[i];
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
  for (PetscInt i = 0; i < model->mloc; i++) {
    y[i * dof] *= dc->mask[i];
    for (PetscInt r = 0; r < dof; r++)
      for (PetscInt c = 0; c < dof; c++) y[i * dof + r] += dc->B[i * dof * dof + r + c * dof] * x[i * dof + c];
  }
  PetscFunctionReturn(0);
}

/* dinv = (M + delta I)^-1 for one dof x dof block M by Gauss-Jordan
   with partial pivoting, delta = 0 unless a pivot falls below 1e-10 of
   the block's size; then delta = sqrt(eps) times that size, and if that
   fails too, dinv = I / size (the solve is no longer exact, and GMRES makes
   up the difference). */
static void BlockInverse(PetscInt dof, const PetscReal *M, PetscReal *dinv)
{
  PetscReal size = 0, a[9] = {0}, delta = 0;

  for (PetscInt k = 0; k < dof * dof; k++) size = PetscMax(size, PetscAbsReal(M[k]));
  if (size == 0) size = 1;
  for (PetscInt attempt = 0; attempt < 2; attempt++) {
    PetscBool ok = PETSC_TRUE;

    for (PetscInt k = 0; k < dof * dof; k++) {
      a[k]    = M[k] + (k % (dof + 1) == 0 ? delta : 0);
      dinv[k] = k % (dof + 1) == 0 ? 1 : 0;
    }
    for (PetscInt c = 0; c < dof && ok; c++) {
      PetscInt  p = c;
      PetscReal piv;

      for (PetscInt r = c + 1; r < dof; r++)
        if (PetscAbsReal(a[r + c * dof]) > PetscAbsReal(a[p + c * dof])) p = r;
      if (PetscAbsReal(a[p + c * dof]) <= 1e-10 * size) {
        ok = PETSC_FALSE;
        break;
      }
      for (PetscInt k = 0; k < dof; k++) {
        PetscReal t = a[c + k * dof], u = dinv[c + k * dof];

        a[c + k * dof]    = a[p + k * dof];
        a[p + k * dof]    = t;
        dinv[c + k * dof] = dinv[p + k * dof];
        dinv[p + k * dof] = u;
      }
      piv = a[c + c * dof];
      for (PetscInt k = 0; k < dof; k++) {
        a[c + k * dof] /= piv;
        dinv[c + k * dof] /= piv;
      }
      for (PetscInt r = 0; r < dof; r++) {
        PetscReal f = a[r + c * dof];

        if (r == c || f == 0) continue;
        for (PetscInt k = 0; k < dof; k++) {
          a[r + k * dof] -= f * a[c + k * dof];
          dinv[r + k * dof] -= f * dinv[c + k * dof];
        }
      }
    }
    if (ok) return;
    delta = PetscSqrtReal(PETSC_MACHINE_EPSILON) * size;
  }
  for (PetscInt k = 0; k < dof * dof; k++) dinv[k] = k % (dof + 1) == 0 ? 1 / size : 0;
}

/* The Newton matrix A = shift I + scale dv/du = D + (scale/(m K)) M P^T P,
   with D = shift I + scale M B block diagonal, solved by the Woodbury identity
     A^-1 = D^-1 - scale Zr^T S^-1 P D^-1,  Zr = P M D^-T (2K x m dof),
     S = m K I + scale P D^-1 M P^T = m K I + scale P Zr^T (2K x 2K),
   S summed over the ranks (one Allreduce) and factored by LU on every rank,
   so the solve does not depend on the rank count. S is m K I plus a term
   that vanishes as the shift grows, and for small shifts it is the
   capacitance of an invertible A (det A = det D det S / (m K)^2K).
   Setup O(m dof K^2 + K^3), solve O(m dof K); the solve uses P as the last
   jacobianprepare left it. */
static PetscErrorCode DeconvJacobianSolveSetUp(PgfModel model, PetscReal shift, PetscReal scale, const PetscReal *S, const PetscReal *E)
{
  Deconv      *dc  = (Deconv *)model->data;
  PetscInt     dof = model->dof, K2 = 2 * dc->K, nloc = model->mloc * dof;
  PetscBLASInt n, info;

  PetscFunctionBegin;
  if (!dc->Dinv) PetscCall(PetscMalloc5(PetscMax(nloc, 1) * dof, &dc->Dinv, K2 * PetscMax(nloc, 1), &dc->Zr, K2 * K2, &dc->S, K2, &dc->Sx, K2, &dc->piv));
  for (PetscInt i = 0; i < model->mloc; i++) {
    PetscReal        M[9], T[9], *dinv = &dc->Dinv[i * dof * dof];
    const PetscReal *b = &dc->B[i * dof * dof], *Si = S ? &S[i * dof * dof] : NULL, *Ei = E ? &E[i * dof * dof] : NULL;

    /* the block shift I + scale (S_i B_i + E_i), and T = its inverse times
       S_i, the left factor of the particle's low-rank part (S = I, E = 0:
       the Euclidean flow) */
    for (PetscInt c = 0; c < dof; c++)
      for (PetscInt r = 0; r < dof; r++) {
        PetscReal sb = Si ? 0 : b[r + c * dof];

        for (PetscInt e = 0; Si && e < dof; e++) sb += Si[r + e * dof] * b[e + c * dof];
        M[r + c * dof] = scale * (sb + (Ei ? Ei[r + c * dof] : 0)) + (r == c ? shift : 0);
      }
    BlockInverse(dof, M, dinv);
    for (PetscInt c = 0; c < dof; c++)
      for (PetscInt r = 0; r < dof; r++) {
        T[r + c * dof] = Si ? 0 : dinv[r + c * dof];
        for (PetscInt e = 0; Si && e < dof; e++) T[r + c * dof] += dinv[r + e * dof] * Si[e + c * dof];
      }
    for (PetscInt c = 0; c < dof; c++) {
      PetscReal *zr = &dc->Zr[(i * dof + c) * K2];

      for (PetscInt k = 0; k < K2; k++) zr[k] = 0;
      for (PetscInt e = 0; e < dof; e++) {
        const PetscReal *p  = &dc->P[(i * dof + e) * K2];
        PetscReal        me = e ? 1 : dc->mask[i];

        for (PetscInt k = 0; k < K2; k++) zr[k] += p[k] * me * T[c + e * dof];
      }
    }
  }
  PetscCall(PetscArrayzero(dc->S, K2 * K2));
  if (nloc) PetscCall(PgfGemm("N", "T", K2, K2, nloc, scale, dc->P, K2, dc->Zr, K2, 0.0, dc->S, K2));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, dc->S, (PetscMPIInt)(K2 * K2), MPIU_REAL, MPI_SUM, model->comm));
  for (PetscInt k = 0; k < K2; k++) dc->S[k * (K2 + 1)] += (PetscReal)model->m * dc->K;
  PetscCall(PetscBLASIntCast(K2, &n));
  PetscCallBLAS("LAPACKgetrf", LAPACKgetrf_(&n, &n, dc->S, &n, dc->piv, &info));
  /* a singular S (A singular to rounding) leaves the block solve alone */
  dc->capok  = (PetscBool)(info == 0);
  dc->wscale = scale;
  PetscFunctionReturn(0);
}

static PetscErrorCode DeconvJacobianSolve(PgfModel model, const PetscScalar *b, PetscScalar *x)
{
  Deconv      *dc  = (Deconv *)model->data;
  PetscInt     dof = model->dof, K2 = 2 * dc->K, nloc = model->mloc * dof;
  PetscBLASInt n, one = 1, info;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++)
    for (PetscInt r = 0; r < dof; r++) {
      x[i * dof + r] = 0;
      for (PetscInt c = 0; c < dof; c++) x[i * dof + r] += dc->Dinv[i * dof * dof + r + c * dof] * b[i * dof + c];
    }
  if (!dc->capok) PetscFunctionReturn(0);
  PetscCall(PetscArrayzero(dc->Sx, K2));
  if (nloc) PetscCall(PgfGemm("N", "N", K2, 1, nloc, 1.0, dc->P, K2, x, nloc, 0.0, dc->Sx, K2));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, dc->Sx, (PetscMPIInt)K2, MPIU_REAL, MPI_SUM, model->comm));
  PetscCall(PetscBLASIntCast(K2, &n));
  PetscCallBLAS("LAPACKgetrs", LAPACKgetrs_("N", &n, &one, dc->S, &n, dc->piv, dc->Sx, &n, &info));
  if (nloc) PetscCall(PgfGemm("T", "N", nloc, 1, K2, -dc->wscale, dc->Zr, K2, dc->Sx, K2, 1.0, x, nloc));
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

/* After a step: positions wrapped into [0, 1); fb: a weight that reached or
   crossed zero during the step stops at zero, and the signs of the weights
   become those of the next step (see EnsureSigns). */
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
    if (dc->lift == LIFT_FB) {
      if (dc->sgnset && dc->sgn[i] && PetscSign(ui[0]) != dc->sgn[i]) {
        if (ui[0] != 0) dc->nstops++;
        ui[0]    = 0;
        *changed = PETSC_TRUE;
      }
      dc->sgn[i] = (PetscInt)PetscSign(ui[0]);
    }
  }
  dc->sgnset = (PetscBool)(dc->lift == LIFT_FB);
  PetscFunctionReturn(0);
}

/* The flow is stiff (doc/experiments.md E1, E6). Measured on E1 at m = 100,
   seeds 0-4, to a gap of 1e-10 (README): Rosenbrock-W (rosw, the default
   type, see the setup) needs 0.8e3-1.0e3 evaluations, fully implicit ARK
   IMEX 3 with the analytic Jacobian 0.9e3-1.0e3, BDF 7.9e3-8.6e3, backward
   Euler 5e5; the default explicit RK needed 1e6 evaluations to reach t = 13.
   At m = 10^4 rosw costs a third of ARK IMEX (one Newton system per step
   against about nine). ARK IMEX, when chosen, is fully implicit (the flow
   then sets the default type unless -ts_type is given). */
static PetscErrorCode DeconvTSDefaults(PgfModel model, TS ts)
{
  SNES snes;
  KSP  ksp;

  PetscFunctionBegin;
  PetscCall(TSSetType(ts, TSARKIMEX));
  PetscCall(TSARKIMEXSetFullyImplicit(ts, PETSC_TRUE));
  /* Newton systems solved by GMRES (-ksp_type gmres, or the assembled
     Jacobian on several ranks) go to 1e-12, so that trajectories agree to
     1e-10 whatever the rank count, as with the direct solves. */
  PetscCall(TSGetSNES(ts, &snes));
  PetscCall(SNESGetKSP(snes, &ksp));
  PetscCall(KSPSetTolerances(ksp, 1e-12, PETSC_DEFAULT, PETSC_DEFAULT, PETSC_DEFAULT));
  PetscFunctionReturn(0);
}

/* fb: a weight may cross zero by at most -fb_overshoot within a step (the
   prox step stops it at zero, and the rest of the flow moved as if it had
   gone on with its old sign). */
static PetscErrorCode DeconvAcceptable(PgfModel model, const PetscScalar *u, PetscBool *ok)
{
  Deconv *dc = (Deconv *)model->data;

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  if (dc->lift != LIFT_FB || !dc->sgnset) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < model->mloc && *ok; i++) *ok = (PetscBool)(u[i * model->dof] * dc->sgn[i] >= -dc->overshoot);
  PetscFunctionReturn(0);
}

static PetscErrorCode DeconvNonsmooth(PgfModel model, PetscBool *nonsmooth)
{
  Deconv *dc = (Deconv *)model->data;

  PetscFunctionBegin;
  *nonsmooth = (PetscBool)(dc->nstops > 0);
  PetscFunctionReturn(0);
}

static PetscErrorCode DeconvWeights(PgfModel model, const PetscScalar *u, PetscReal *w)
{
  Deconv *dc = (Deconv *)model->data;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) w[i] = Weight(dc->lift, u[i * model->dof]);
  PetscFunctionReturn(0);
}

/* |g| on the G^q certificate grid into gabs, evaluated directly but
   separably (no FFT): P(j1, k2) = sum_k1 conj(rho(k1, k2)) e(k1, j1) costs
   G nf^2, then g(j1, j2) = Re sum_k2 P(j1, k2) e(k2, j2) costs G^2 nf,
   against G^2 nf^2 for the plain sum. Returns the largest value. */
static PetscReal GridValues(Deconv *dc, const PetscReal *rho)
{
  PetscInt  G = dc->G, nf = dc->nf, n2 = dc->q == 2 ? nf : 1, G2 = dc->q == 2 ? G : 1, K = dc->K;
  PetscReal gmax = 0;

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
  for (PetscInt j1 = 0; j1 < G; j1++) {
    for (PetscInt j2 = 0; j2 < G2; j2++) {
      PetscReal s = 0;

      if (dc->q == 1) s = dc->pre[j1];
      else
        for (PetscInt k2 = 0; k2 < nf; k2++) s += dc->pre[j1 * nf + k2] * dc->tre[j2 * nf + k2] - dc->pim[j1 * nf + k2] * dc->tim[j2 * nf + k2];
      dc->gabs[j1 * G2 + j2] = PetscAbsReal(s);
      gmax                   = PetscMax(gmax, dc->gabs[j1 * G2 + j2]);
    }
  }
  return gmax;
}

/* Whether grid point (j1, j2) of the 2-torus is a local maximum of |g|
   among its 8 periodic neighbours (plateaus count). */
static PetscBool GridLocalMax(Deconv *dc, PetscInt j1, PetscInt j2)
{
  PetscInt  G = dc->G;
  PetscReal v = dc->gabs[j1 * G + j2];

  for (PetscInt d1 = -1; d1 <= 1; d1++)
    for (PetscInt d2 = -1; d2 <= 1; d2++)
      if (dc->gabs[((j1 + d1 + G) % G) * G + (j2 + d2 + G) % G] > v) return PETSC_FALSE;
  return PETSC_TRUE;
}

/* Newton ascent of |g| on the 2-torus from a grid point, steps capped at the
   grid spacing; returns the largest |g| met and where (arg). Every value is
   |g| at some point of T^q, so the result never exceeds max |g|. */
static PetscReal NewtonMax(Deconv *dc, const PetscReal *rho, PetscInt j1, PetscInt j2, PetscReal arg[2])
{
  PetscReal theta[2] = {(PetscReal)j1 / dc->G, (PetscReal)j2 / dc->G}, best = 0, hmax = 1.0 / dc->G;

  for (PetscInt it = 0; it <= GAP_NEWTON; it++) {
    PetscReal g, grad[2], H[4], d[2], det, sg, scale;

    PointExponentials(dc, theta, dc->xre, dc->xim);
    EvalG(dc, rho, dc->xre, dc->xim, &g, grad, H);
    if (PetscAbsReal(g) > best) {
      best   = PetscAbsReal(g);
      arg[0] = theta[0];
      arg[1] = theta[1];
    }
    sg = g >= 0 ? 1 : -1;
    /* a Newton step toward a maximum of sg g needs sg H negative definite */
    det = H[0] * H[3] - H[1] * H[2];
    if (sg * H[0] >= 0 || det <= 0) break;
    d[0]  = -(H[3] * grad[0] - H[1] * grad[1]) / det;
    d[1]  = -(H[0] * grad[1] - H[2] * grad[0]) / det;
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

/* Newton on g' on the 1-torus from theta (the angle of a root of the
   companion polynomial), steps capped at the grid spacing; returns the
   largest |g| met and where (arg), a value of |g| on T^1 like NewtonMax's. */
static PetscReal NewtonCritical(Deconv *dc, const PetscReal *rho, PetscReal theta, PetscReal *arg)
{
  PetscReal best = 0, hmax = 1.0 / dc->G;

  for (PetscInt it = 0; it <= GAP_NEWTON; it++) {
    PetscReal g, grad[2], H[4], d;

    PointExponentials(dc, &theta, dc->xre, dc->xim);
    EvalG(dc, rho, dc->xre, dc->xim, &g, grad, H);
    if (PetscAbsReal(g) > best) {
      best = PetscAbsReal(g);
      *arg = theta;
    }
    if (H[0] == 0) break;
    d = -grad[0] / H[0];
    theta += PetscMax(-hmax, PetscMin(hmax, d));
  }
  return best;
}

/* max |g| on the 1-torus over every critical point of g (doc/math.md
   section 5). With x = exp(2 pi i theta), g = sum_{|n| <= fc} c_n x^n,
   c_n = (rho_n + conj(rho_-n)) / 2, so the critical points are the roots
   on the unit circle of p(x) = sum_n n c_n x^(n + fc), of degree 2 fc. The
   complex companion matrix C = A + iB of p (coefficients negligible at
   either end dropped: roots at 0 or infinity) goes to LAPACK as the real
   [A -B; B A], whose eigenvalues are those of C and their conjugates; the
   angle of each eigenvalue starts a Newton polish on g'. Angles of roots
   off the circle only add more values of |g|, which never exceed the max.
   arg is where the max is met (kept when no critical point beats *gmax). */
static PetscErrorCode CriticalMax(Deconv *dc, const PetscReal *rho, PetscReal *gmax, PetscReal *arg)
{
  PetscInt     fc = dc->fc, K = dc->K, lo = 0, hi = 2 * fc, n, n2;
  PetscReal   *dre = dc->cwork, *dim = &dc->cwork[2 * fc + 1], dmax = 0, den;
  PetscBLASInt bn, lwork, info;

  PetscFunctionBegin;
  for (PetscInt j = 0; j <= 2 * fc; j++) {
    PetscInt nn = j - fc;

    /* rho_n = rho[n + fc] + i rho[K + n + fc] */
    dre[j] = 0.5 * nn * (rho[fc + nn] + rho[fc - nn]);
    dim[j] = 0.5 * nn * (rho[K + fc + nn] - rho[K + fc - nn]);
    dmax   = PetscMax(dmax, PetscAbsReal(dre[j]) + PetscAbsReal(dim[j]));
  }
  while (hi > lo && PetscAbsReal(dre[hi]) + PetscAbsReal(dim[hi]) <= 1e-14 * dmax) hi--;
  while (lo < hi && PetscAbsReal(dre[lo]) + PetscAbsReal(dim[lo]) <= 1e-14 * dmax) lo++;
  n  = hi - lo;
  n2 = 2 * n;
  if (n == 0) PetscFunctionReturn(0); /* g constant: the grid has its value */
  PetscCall(PetscArrayzero(dc->cmat, n2 * n2));
  den = dre[hi] * dre[hi] + dim[hi] * dim[hi];
  for (PetscInt r = 0; r < n; r++) {
    /* last column -d_(lo + r) / d_hi, ones on the subdiagonal */
    PetscReal tre = -(dre[lo + r] * dre[hi] + dim[lo + r] * dim[hi]) / den, tim = -(dim[lo + r] * dre[hi] - dre[lo + r] * dim[hi]) / den;

    dc->cmat[r + (n - 1) * n2]      = tre;
    dc->cmat[n + r + (n2 - 1) * n2] = tre;
    dc->cmat[n + r + (n - 1) * n2]  = tim;
    dc->cmat[r + (n2 - 1) * n2]     = -tim;
    if (r > 0) {
      dc->cmat[r + (r - 1) * n2]         = 1;
      dc->cmat[n + r + (n + r - 1) * n2] = 1;
    }
  }
  PetscCall(PetscBLASIntCast(n2, &bn));
  PetscCall(PetscBLASIntCast(32 * fc - 4 * fc - 2, &lwork));
  PetscCallBLAS("LAPACKgeev", LAPACKgeev_("N", "N", &bn, dc->cmat, &bn, dc->cwr, dc->cwi, NULL, &bn, NULL, &bn, &dc->cwork[4 * fc + 2], &lwork, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK geev failed on the companion matrix of g' (info %d)", (int)info);
  for (PetscInt r = 0; r < n2; r++) {
    PetscReal theta = PetscAtan2Real(dc->cwi[r], dc->cwr[r]) / (2 * PETSC_PI), at = 0, v;

    v = NewtonCritical(dc, rho, theta - PetscFloorReal(theta), &at);
    if (v > *gmax) {
      *gmax = v;
      *arg  = at;
    }
  }
  PetscFunctionReturn(0);
}

/* max |g| over T^q (doc/math.md section 5) and a point where it is met:
   must not be underestimated (the gap would be too small). On the 1-torus
   it is taken over every critical point of g, on the 2-torus over Newton
   ascents from every local maximum on the grid, the grid values being a
   safety net. */
static PetscErrorCode MaxCorrelation(Deconv *dc, const PetscReal *rho, PetscReal *gmax, PetscReal arg[2])
{
  PetscInt  G = dc->G, G2 = dc->q == 2 ? G : 1, best = 0;
  PetscReal at[2] = {0, 0};

  PetscFunctionBegin;
  *gmax = GridValues(dc, rho);
  for (PetscInt j = 1; j < G * G2; j++)
    if (dc->gabs[j] > dc->gabs[best]) best = j;
  arg[0] = (PetscReal)(best / G2) / G;
  arg[1] = dc->q == 2 ? (PetscReal)(best % G2) / G : 0;
  if (dc->q == 1) PetscCall(CriticalMax(dc, rho, gmax, arg));
  else
    for (PetscInt j1 = 0; j1 < G; j1++)
      for (PetscInt j2 = 0; j2 < G; j2++) {
        PetscReal v;

        if (!GridLocalMax(dc, j1, j2)) continue;
        v = NewtonMax(dc, rho, j1, j2, at);
        if (v > *gmax) {
          *gmax  = v;
          arg[0] = at[0];
          arg[1] = at[1];
        }
      }
  for (PetscInt a = 0; a < dc->q; a++) arg[a] -= PetscFloorReal(arg[a]);
  PetscFunctionReturn(0);
}

/* The duality gap of doc/math.md section 5 from rho and F = F(mu):
   p = -(h - y)/sqrt(K) = -sqrt(K) rho, z = y/sqrt(K),
   c = min(1, lambda / max |g|), D = c <z,p> - c^2 |p|^2/2. */
static PetscReal GapFrom(Deconv *dc, const PetscReal *rho, PetscReal F, PetscReal gmax)
{
  PetscReal c, zp = 0, pp = 0;

  for (PetscInt k = 0; k < 2 * dc->K; k++) {
    zp -= dc->y[k] * rho[k];
    pp += dc->K * rho[k] * rho[k];
  }
  c = gmax > dc->lambda ? dc->lambda / gmax : 1;
  return F - (c * zp - 0.5 * c * c * pp);
}

/* The gap from rho of the last evaluation. Every rank computes it whole
   (it needs rho only). */
static PetscErrorCode DeconvGap(PgfModel model, const PetscScalar *u, PetscReal F, PetscReal *gap)
{
  Deconv   *dc = (Deconv *)model->data;
  PetscReal gmax, arg[2];

  PetscFunctionBegin;
  PetscCall(MaxCorrelation(dc, model->rho, &gmax, arg));
  *gap = GapFrom(dc, model->rho, F, gmax);
  PetscFunctionReturn(0);
}

/* Accessors for solvers that work on spikes rather than particles (sfw.c);
   not collective, the model must be deconv. */
PetscErrorCode PgfDeconvGetProblem(PgfModel model, PetscInt *q, PetscInt *K, PetscReal *lambda, const PetscReal **y)
{
  Deconv *dc = (Deconv *)model->data;

  PetscFunctionBegin;
  *q      = dc->q;
  *K      = dc->K;
  *lambda = dc->lambda;
  *y      = dc->y;
  PetscFunctionReturn(0);
}

/* phi (2K values: real parts, then imaginary parts) = exp(-2 pi i omega theta). */
PetscErrorCode PgfDeconvAtom(PgfModel model, const PetscReal theta[], PetscReal phi[])
{
  Deconv *dc = (Deconv *)model->data;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(phi, 2 * dc->K));
  PointExponentials(dc, theta, dc->xre, dc->xim);
  for (PetscInt k1 = 0; k1 < dc->nf; k1++) {
    PetscInt n2 = dc->q == 2 ? dc->nf : 1;

    for (PetscInt k2 = 0; k2 < n2; k2++) {
      PetscReal e2r = dc->q == 2 ? dc->xre[dc->nf + k2] : 1, e2i = dc->q == 2 ? dc->xim[dc->nf + k2] : 0;

      phi[k1 * n2 + k2]         = dc->xre[k1] * e2r - dc->xim[k1] * e2i;
      phi[dc->K + k1 * n2 + k2] = dc->xre[k1] * e2i + dc->xim[k1] * e2r;
    }
  }
  PetscFunctionReturn(0);
}

/* g(theta) and grad g(theta) for the residual rho (doc/math.md section 4.2). */
PetscErrorCode PgfDeconvCorrelation(PgfModel model, const PetscReal rho[], const PetscReal theta[], PetscReal *g, PetscReal grad[])
{
  Deconv   *dc = (Deconv *)model->data;
  PetscReal gr[2];

  PetscFunctionBegin;
  PointExponentials(dc, theta, dc->xre, dc->xim);
  EvalG(dc, rho, dc->xre, dc->xim, g, gr, NULL);
  for (PetscInt a = 0; a < dc->q; a++) grad[a] = gr[a];
  PetscFunctionReturn(0);
}

/* The certificate of doc/math.md section 5 for the residual rho of a
   measure with objective F: the gap, max |g| and a point where it is met. */
PetscErrorCode PgfDeconvCertificate(PgfModel model, const PetscReal rho[], PetscReal F, PetscReal *gap, PetscReal *gmax, PetscReal theta[])
{
  Deconv   *dc = (Deconv *)model->data;
  PetscReal arg[2];

  PetscFunctionBegin;
  PetscCall(MaxCorrelation(dc, rho, gmax, arg));
  for (PetscInt a = 0; a < dc->q; a++) theta[a] = arg[a];
  *gap = GapFrom(dc, rho, F, *gmax);
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
  dc->overshoot  = 1e-6;
  PetscOptionsBegin(model->comm, NULL, "Sparse deconvolution on the torus (-problem deconv)", NULL);
  PetscCall(PgfOptionsInt(model->comm, "-torus_dim", "Dimension q of the torus", dc->q, 1, 2, &dc->q));
  PetscCall(PgfOptionsInt(model->comm, "-cutoff", "Cutoff frequency fc", dc->fc, 1, 1000, &dc->fc));
  PetscCall(PgfOptionsInt(model->comm, "-spikes", "Spikes m0 of the ground truth", dc->m0, 1, PETSC_MAX_INT, &dc->m0));
  PetscCall(PgfOptionsReal(model->comm, "-min_separation", "Least torus distance between spikes", dc->sep, 0, 1, &dc->sep));
  PetscCall(PgfOptionsReal(model->comm, "-noise", "Standard deviation of the noise", dc->noise, 0, PETSC_MAX_REAL, &dc->noise));
  PetscCall(PgfOptionsReal(model->comm, "-lambda", "Total variation penalty", dc->lambda, 0, PETSC_MAX_REAL, &dc->lambda));
  PetscCall(PgfOptionsEList(model->comm, "-lift", "Lift of the total variation", lifts, 2, lift, &lift));
  PetscCall(PgfOptionsReal(model->comm, "-fb_overshoot", "fb: largest crossing of zero of a weight within a step", dc->overshoot, 0, PETSC_MAX_REAL, &dc->overshoot));
  PetscCall(PgfOptionsReal(model->comm, "-init_scale", "Initial |r| of the signed_square lift", dc->init_scale, PETSC_SMALL, PETSC_MAX_REAL, &dc->init_scale));
  PetscOptionsEnd();
  dc->lift = (Lift)lift;
  /* Rosenbrock-W with the exact Woodbury solve: one Newton system per step
     (README, Running); its steps cannot stop weights at zero, so the fb
     lift keeps fully implicit ARK IMEX */
  model->tstype = dc->lift == LIFT_FB ? TSARKIMEX : TSROSW;
  /* signed_square: u = (r, theta) with W = r|r| 2-homogeneous in r */
  model->radial    = dc->lift == LIFT_FB ? PGF_RADIAL_NONE : PGF_RADIAL_FIRST;
  model->radialwhy = "-lift fb is 1-homogeneous in the weight (use -lift signed_square)";
  dc->nf           = 2 * dc->fc + 1;
  dc->K            = dc->q == 2 ? dc->nf * dc->nf : dc->nf;
  dc->G            = GAP_GRID_FACTOR * dc->nf;
  PetscCall(PetscMalloc3(2 * dc->K, &dc->y, dc->m0, &dc->ta, dc->m0 * dc->q, &dc->tx));
  PetscCall(PetscMalloc2(dc->q * dc->nf, &dc->xre, dc->q * dc->nf, &dc->xim));
  PetscCall(MakeData(model));
  PetscCall(PgfModelReserve(model, sizeof(PetscReal) * ((2.0 * dc->q * dc->nf + 1) * model->mloc + 4.0 * dc->G * dc->nf + 2.0 * dc->K), "the particles' Fourier coefficients"));
  PetscCall(PetscMalloc3(model->mloc * dc->q * dc->nf, &dc->ere, model->mloc * dc->q * dc->nf, &dc->eim, model->mloc, &dc->w));
  PetscCall(PetscMalloc2(model->mloc, &dc->sgn, model->mloc, &dc->mask));
  PetscCall(PetscMalloc4(dc->G * dc->nf, &dc->tre, dc->G * dc->nf, &dc->tim, dc->G * dc->nf, &dc->pre, dc->G * dc->nf, &dc->pim));
  PetscCall(PetscMalloc1(dc->q == 2 ? dc->G * dc->G : dc->G, &dc->gabs));
  if (dc->q == 1) PetscCall(PetscMalloc4(16 * dc->fc * dc->fc, &dc->cmat, 4 * dc->fc, &dc->cwr, 4 * dc->fc, &dc->cwi, 32 * dc->fc, &dc->cwork));
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
  PetscCall(PetscFree2(dc->sgn, dc->mask));
  PetscCall(PetscFree4(dc->tre, dc->tim, dc->pre, dc->pim));
  PetscCall(PetscFree(dc->gabs));
  PetscCall(PetscFree4(dc->cmat, dc->cwr, dc->cwi, dc->cwork));
  PetscCall(PetscFree3(dc->P, dc->B, dc->Px));
  PetscCall(PetscFree5(dc->Dinv, dc->Zr, dc->S, dc->Sx, dc->piv));
  PetscCall(PetscFree(model->data));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelCreate_Deconv(PgfModel model)
{
  Deconv *dc;

  PetscFunctionBegin;
  PetscCall(PetscNew(&dc));
  model->data                   = dc;
  model->ops.setfromoptions     = DeconvSetFromOptions;
  model->ops.initialize         = DeconvInitialize;
  model->ops.predict            = DeconvPredict;
  model->ops.loss               = DeconvLoss;
  model->ops.velocity           = DeconvVelocity;
  model->ops.regularizer        = DeconvRegularizer;
  model->ops.firstvariation     = DeconvFirstVariation;
  model->ops.replaced           = DeconvReplaced;
  model->ops.prox               = DeconvProx;
  model->ops.nonsmooth          = DeconvNonsmooth;
  model->ops.acceptable         = DeconvAcceptable;
  model->ops.weights            = DeconvWeights;
  model->ops.gap                = DeconvGap;
  model->ops.jacobian           = DeconvJacobian;
  model->ops.jacobianprepare    = DeconvJacobianPrepare;
  model->ops.jacobianapply      = DeconvJacobianApply;
  model->ops.jacobiansolvesetup = DeconvJacobianSolveSetUp;
  model->ops.jacobiansolve      = DeconvJacobianSolve;
  model->ops.tsdefaults         = DeconvTSDefaults;
  model->ops.writeproblem       = DeconvWriteProblem;
  model->ops.destroy            = DeconvDestroy;
  PetscFunctionReturn(0);
}
