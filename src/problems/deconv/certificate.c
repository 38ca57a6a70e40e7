/* -problem deconv: the duality gap (doc/math.md section 5.1), from the
   largest |g| found on a grid and refined by Newton steps, and the
   accessors Sliding Frank-Wolfe (sfw.c) uses. */
#include "deconvimpl.h"

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

    DeconvPointExponentials(dc, theta, dc->xre, dc->xim);
    DeconvEvalG(dc, rho, dc->xre, dc->xim, &g, grad, H);
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

    DeconvPointExponentials(dc, &theta, dc->xre, dc->xim);
    DeconvEvalG(dc, rho, dc->xre, dc->xim, &g, grad, H);
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
PetscErrorCode DeconvGap(PgfModel model, const PetscScalar *u, PetscReal F, PetscReal *gap)
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
  DeconvPointExponentials(dc, theta, dc->xre, dc->xim);
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
  DeconvPointExponentials(dc, theta, dc->xre, dc->xim);
  DeconvEvalG(dc, rho, dc->xre, dc->xim, g, gr, NULL);
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
