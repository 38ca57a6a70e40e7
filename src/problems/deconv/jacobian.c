/* -problem deconv: the Jacobian dv/du (assembled, or applied matrix-free)
   and the exact Woodbury solve of the Newton systems (doc/math.md section
   4.4), with a particle dynamics' blocks (section 2.5). */
#include "deconvimpl.h"

/* The two parts of dv/du at the local particles: P (2K x mloc dof,
   column-major), the derivatives of the predictor h, and B (dof x dof per
   local particle), the particle's own terms g'' and the lift's curvature.
   dv_i/du_j = M_i (P_i^T P_j / (m K) + [i = j] B_i), where M_i (mask) zeroes
   the w row of an fb weight held at zero (s_i = 0, |g| <= lambda). */
static void JacobianParts(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscReal *P, PetscReal *B)
{
  Deconv  *dc  = (Deconv *)model->data;
  PetscInt dof = model->dof, K2 = 2 * dc->K, stride = dc->q * dc->nf, n2 = dc->q == 2 ? dc->nf : 1;

  DeconvEnsureSigns(model, u);
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
    DeconvEvalG(dc, rho, ere, eim, &g, grad, H);
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
PetscErrorCode DeconvJacobian(PgfModel model, const PetscScalar *u, const PetscReal *rho, Mat J)
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
PetscErrorCode DeconvJacobianPrepare(PgfModel model, const PetscScalar *u, const PetscReal *rho)
{
  Deconv  *dc   = (Deconv *)model->data;
  PetscInt nloc = model->mloc * model->dof;

  PetscFunctionBegin;
  if (!dc->P) PetscCall(PetscMalloc3(2 * dc->K * PetscMax(nloc, 1), &dc->P, PetscMax(nloc, 1) * model->dof, &dc->B, 2 * dc->K, &dc->Px));
  JacobianParts(model, u, rho, dc->P, dc->B);
  PetscFunctionReturn(0);
}

PetscErrorCode DeconvJacobianApply(PgfModel model, const PetscScalar *x, PetscScalar *y)
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
PetscErrorCode DeconvJacobianSolveSetUp(PgfModel model, PetscReal shift, PetscReal scale, const PetscReal *S, const PetscReal *E)
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

PetscErrorCode DeconvJacobianSolve(PgfModel model, const PetscScalar *b, PetscScalar *x)
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
