/* The two-layer network on n samples (doc/math.md sections 3 and 3b), the
   evaluator of -problem twolayer without -population (twolayer.c).
   A particle is a hidden neuron u = (w, theta), theta in R^p; the predictor is
   the network's output on the n samples:
     h_j = (1/m) sum_i w_i s(theta_i . x~_j).
   Both passes are BLAS level 3 over tiles of Z (local particles x samples,
   sized to the cache whatever the ratio m/n): Z = Theta_t^T X_b, then one
   fused pass over the tile applies the activation (vectorized: vmath.c).
   What bounds the rate (doc/performance.md, section 4): per element of Z
   the two products do 4p flops, 15 ns at d = 100 at this machine's DGEMM
   rate; relu's passes add about 1 ns (0.94-1.1 of DGEMM, whose own C
   leaves the cache where a tile's stays), an exponential without FMA (the
   same bits at every width) about 3 ns (sigmoid, tanh: at most about
   0.8), erf's three branch-free rational approximations and exponential
   about 6 ns (at most about 0.7), and the recomputed path a third product
   (at most 2/3 of the stored path's rate). */
#include "twolayerimpl.h"
#include "vmath.h"

typedef struct {
  TwoLayerOptions opt;
  PetscInt        n, d, p; /* samples, their dimension (the options', or -data's) and p = d + bias */
  PetscInt        j0, nloc; /* this rank's samples: its sample group's (model.c) */

  PetscReal     *X; /* p x nloc, column-major: sample j0 + j is X[j p .. j p + p - 1] */
  PetscReal     *y; /* nloc labels */
  PetscReal     *twt; /* teacher: m0 output weights, or NULL with -data */
  PetscReal     *ttheta; /* teacher: m0 x p */
  PetscReal     *Z; /* mb x nb values of one tile, or of all tiles when stored (not relu): see Keep() and Tile() */
  unsigned char *mask; /* relu, stored: nact x nloc signs Z > 0, all the backward pass needs, laid out as Z */
  PetscReal     *w; /* local output weights, contiguous */
  PetscReal     *vw; /* local weight velocities, contiguous */
  PetscReal     *S; /* erf: s(Z) beside Z (which then holds s'(Z)), laid out as Z */
  PetscReal     *D; /* stored smooth activations: the backward pass's tile, the stored ones left as they are */
  PetscInt      *perm; /* n sample indices, shuffled to draw a batch */
  unsigned char *inbatch; /* nloc flags: this rank's samples in the batch of the current step */
  PetscInt       mb, nb; /* local particles and samples per tile */
  PetscBool      storeZ; /* keep Z of all samples from predict() for velocity() */
} TwoLayer;

/* Pre-activations of samples j0 .. j0 + nj - 1 for local particles
   i0 .. i0 + mi - 1: the tile Z, mi x nj. */
static PetscErrorCode PreActivations(PgfModel model, const PetscScalar *u, PetscInt i0, PetscInt mi, PetscInt j0, PetscInt nj, PetscReal *Z)
{
  TwoLayer *tl = (TwoLayer *)model->data;

  PetscFunctionBegin;
  PetscCall(PgfGemm("T", "N", mi, nj, tl->p, 1.0, &u[i0 * model->dof + 1], model->dof, &tl->X[j0 * tl->p], tl->p, 0.0, Z, mi));
  PetscFunctionReturn(0);
}

/* The plain libm formulas, for the teacher, the Jacobian of h and the
   baselines (the passes use vmath.c's vectorized twins, within 2^-51). */
static inline PetscReal Sigmoid(PetscReal z)
{
  return z >= 0 ? 1 / (1 + PetscExpReal(-z)) : PetscExpReal(z) / (1 + PetscExpReal(z));
}

/* What the passes keep of a tile of pre-activations Z, in place: sigmoid
   and tanh their activations s(Z) (computed once: s' is a function of s),
   erf s'(Z) in Z and s(Z) in S (erf's s' is not a function of s, and its
   s costs the exponential of s' anyway: both at once, never again in the
   backward pass), relu Z itself (it keeps only its signs). */
static void Keep(Activation act, PetscInt n, PetscReal *Z, PetscReal *S)
{
  if (act == ACT_SIGMOID) PgfSigmoidArray(n, Z, Z);
  if (act == ACT_TANH) PgfTanhArray(n, Z, Z);
  if (act == ACT_ERF) PgfErfDerivativeArray(n, Z, S, Z);
}

/* sum_i w_i z_i (relu: w_i max(z_i, 0)) in eight interleaved partial sums:
   a single accumulator would chain every addition on the previous one (the
   compiler may not reorder floating-point sums), eight independent ones
   vectorize (omp simd: one or two vectors of them), and give the same bits
   at any vector width. */
static inline PetscReal Dot(PetscInt n, const PetscReal *restrict z, const PetscReal *restrict w, PetscBool relu)
{
  PetscReal a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  PetscInt  i    = 0;

  for (; i + 8 <= n; i += 8)
#pragma omp simd
    for (int k = 0; k < 8; k++) a[k] += w[i + k] * (relu ? PetscMax(z[i + k], 0) : z[i + k]);
  for (; i < n; i++) a[0] += w[i] * (relu ? PetscMax(z[i], 0) : z[i]);
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* h_j += sum_i w_i s(Z_ij) over one tile of kept values (Keep: erf's in
   S), mi x nj: h_j sums the tiles' Dot in the order of their particles, in
   both paths.
   relu with stored signs: also mask = (Z > 0), column by column while the
   column is in the L1 cache. Compiled for each vector width (vmath.h):
   Dot gives the same bits at all of them. */
PGF_CLONES static void ForwardBlock(TwoLayer *tl, PetscInt mi, PetscInt nj, const PetscReal *Z, const PetscReal *S, const PetscReal *w, PetscReal *h, unsigned char *restrict mask)
{
  for (PetscInt j = 0; j < nj; j++) {
    const PetscReal *restrict z = &(tl->opt.act == ACT_ERF ? S : Z)[j * mi];

    h[j] += Dot(mi, z, w, (PetscBool)(tl->opt.act == ACT_RELU));
    if (mask)
#pragma omp simd
      for (PetscInt i = 0; i < mi; i++) mask[j * mi + i] = (unsigned char)(z[i] > 0);
  }
}

/* D_ij = rho_j s'(Z_ij) from the kept values Z (Keep; D may be Z), or for
   relu from the stored signs mask (Z unread), ready for the product with X
   that gives g_i = sum_j rho_j s'(Z_ij) x~_j, and vw_i += sum_j rho_j
   s(Z_ij); relu leaves vw to the caller: it is theta_i . g_i (s(z) = s'(z)
   z). Elementwise, so vectorized (omp simd) even in place, at each vector
   width (vmath.h). */
PGF_CLONES static void BackwardBlock(TwoLayer *tl, PetscInt mi, PetscInt nj, const PetscReal *Z, const PetscReal *S, const unsigned char *mask, PetscReal *D, const PetscReal *restrict rho, PetscReal *restrict vw)
{
  for (PetscInt j = 0; j < nj; j++) {
    const PetscReal *z = &Z[j * mi], *restrict s = S ? &S[j * mi] : NULL;
    PetscReal       *d = &D[j * mi], r = rho[j];

    switch (tl->opt.act) {
      case ACT_RELU:
        if (mask) {
          const unsigned char *restrict mk = &mask[j * mi];

#pragma omp simd
          for (PetscInt i = 0; i < mi; i++) d[i] = r * (PetscReal)mk[i];
        } else
        /* branch-free, so that it vectorizes: signs of Z are random */
#pragma omp simd
          for (PetscInt i = 0; i < mi; i++) d[i] = z[i] > 0 ? r : 0;
        break;
      case ACT_SIGMOID: /* z holds s(z) */
#pragma omp simd
        for (PetscInt i = 0; i < mi; i++) {
          vw[i] += r * z[i];
          d[i] = r * z[i] * (1 - z[i]);
        }
        break;
      case ACT_TANH: /* z holds s(z) */
#pragma omp simd
        for (PetscInt i = 0; i < mi; i++) {
          vw[i] += r * z[i];
          d[i] = r * (1 - z[i] * z[i]);
        }
        break;
      case ACT_ERF: /* z holds s'(z), s s(z) */
#pragma omp simd
        for (PetscInt i = 0; i < mi; i++) {
          vw[i] += r * s[i];
          d[i] = r * z[i];
        }
        break;
    }
  }
}

/* The tile of local particles i0 .. i0 + mi - 1 and samples j0 .. j0 +
   nj - 1 (mi x nj, column-major) lives in the stored arrays at j0 nact +
   i0 nj: the tiles of a block of samples one after the other, each
   contiguous. */
static PetscInt64 Tile(PgfModel model, PetscInt i0, PetscInt j0, PetscInt nj)
{
  return (PetscInt64)j0 * model->nact + (PetscInt64)i0 * nj;
}

/* Where a tile of Z (or of erf's S) lives: in the stored array, or
   (recomputed, or relu whose signs alone are stored) in the tile buffer. */
static PetscReal *StoredTile(PgfModel model, PetscReal *Z, PetscInt i0, PetscInt j0, PetscInt nj)
{
  TwoLayer *tl = (TwoLayer *)model->data;

  return Z && tl->storeZ && !tl->mask ? &Z[Tile(model, i0, j0, nj)] : Z;
}

/* The kept values of a tile (Keep), computed: the same operations in
   predict() and, recomputed, in velocity(), hence the same bits. */
static PetscErrorCode KeptTile(PgfModel model, const PetscScalar *u, PetscInt i0, PetscInt mi, PetscInt j0, PetscInt nj, PetscReal *Z, PetscReal *S)
{
  TwoLayer *tl = (TwoLayer *)model->data;

  PetscFunctionBegin;
  PetscCall(PreActivations(model, u, i0, mi, j0, nj, Z));
  Keep(tl->opt.act, mi * nj, Z, S);
  PetscFunctionReturn(0);
}

/* Tiles with their particles outermost, so that a tile of particles (and
   in velocity() its block of velocities) stays in cache over the samples. */
static PetscErrorCode TwoLayerPredict(PgfModel model, const PetscScalar *u, PetscReal *h)
{
  TwoLayer *tl   = (TwoLayer *)model->data;
  PetscInt  nact = model->nact;

  PetscFunctionBegin;
  if (!nact) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < nact; i++) tl->w[i] = u[i * model->dof];
  for (PetscInt i0 = 0; i0 < nact; i0 += tl->mb) {
    PetscInt mi = PetscMin(tl->mb, nact - i0);

    for (PetscInt j0 = 0; j0 < tl->nloc; j0 += tl->nb) {
      PetscInt   nj = PetscMin(tl->nb, tl->nloc - j0);
      PetscReal *Z = StoredTile(model, tl->Z, i0, j0, nj), *S = StoredTile(model, tl->S, i0, j0, nj);

      PetscCall(KeptTile(model, u, i0, mi, j0, nj, Z, S));
      ForwardBlock(tl, mi, nj, Z, S, &tl->w[i0], &h[j0], tl->mask ? &tl->mask[Tile(model, i0, j0, nj)] : NULL);
    }
  }
  PetscCall(PetscLogFlops(2.0 * nact * tl->nloc * (tl->p + 1)));
  PetscFunctionReturn(0);
}

/* The position gradients of a tile of particles, p x mi in place in v,
   summed over the blocks of samples by the products themselves (the first
   one overwrites: v is not zeroed). */
static PetscErrorCode TwoLayerVelocity(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscScalar *v)
{
  TwoLayer *tl  = (TwoLayer *)model->data;
  PetscInt  dof = model->dof, p = tl->p, nact = model->nact;

  PetscFunctionBegin;
  if (!nact) PetscFunctionReturn(0);
  PetscCall(PetscArrayzero(tl->vw, nact));
  if (!tl->nloc) PetscCall(PetscArrayzero(v, nact * dof));
  for (PetscInt i0 = 0; i0 < nact; i0 += tl->mb) {
    PetscInt mi = PetscMin(tl->mb, nact - i0);

    for (PetscInt j0 = 0; j0 < tl->nloc; j0 += tl->nb) {
      PetscInt   nj = PetscMin(tl->nb, tl->nloc - j0);
      PetscReal *Z = StoredTile(model, tl->Z, i0, j0, nj), *S = StoredTile(model, tl->S, i0, j0, nj), *D = tl->D ? tl->D : Z;

      if (!tl->storeZ) PetscCall(KeptTile(model, u, i0, mi, j0, nj, Z, S));
      BackwardBlock(tl, mi, nj, Z, S, tl->mask ? &tl->mask[Tile(model, i0, j0, nj)] : NULL, D, &rho[j0], &tl->vw[i0]);
      PetscCall(PgfGemm("N", "T", p, mi, nj, 1.0, &tl->X[j0 * p], p, D, mi, j0 ? 1.0 : 0.0, &v[i0 * dof + 1], dof));
    }
  }
  PetscCall(PetscLogFlops(2.0 * nact * tl->nloc * (p + 1) + (tl->storeZ ? 0 : 2.0 * nact * tl->nloc * p)));
  for (PetscInt i = 0; i < nact; i++) {
    PetscScalar *vi = &v[i * dof];
    PetscReal    wi = u[i * dof];

    if (tl->opt.act == ACT_RELU)
      for (PetscInt k = 1; k < dof; k++) tl->vw[i] += u[i * dof + k] * vi[k];
    vi[0] = tl->vw[i];
    for (PetscInt k = 1; k < dof; k++) vi[k] *= wi;
    if (tl->opt.reg == REG_L2 && model->sgroup == 0) /* once over the sample groups */
      for (PetscInt k = 0; k < dof; k++) vi[k] += tl->opt.lambda * u[i * dof + k];
  }
  PetscFunctionReturn(0);
}

/* Phi(u_i) . rho = w_i sum_j s(theta_i . x~_j) rho_j, the weight's
   velocity from the data that velocity() left in vw; V(u_i) in sample
   group 0 only, as there. */
static PetscErrorCode TwoLayerFirstVariation(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscReal *V)
{
  TwoLayer *tl = (TwoLayer *)model->data;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->nact; i++) {
    const PetscScalar *ui  = &u[i * model->dof];
    PetscReal          reg = 0;

    if (tl->opt.reg == REG_L1) reg = tl->opt.lambda * PetscAbsReal(ui[0]);
    if (tl->opt.reg == REG_L2)
      for (PetscInt k = 0; k < model->dof; k++) reg += 0.5 * tl->opt.lambda * ui[k] * ui[k];
    V[i] = ui[0] * tl->vw[i] + (model->sgroup == 0 ? reg : 0);
  }
  PetscFunctionReturn(0);
}

/* R(h) = (1/n) sum_j l(h_j, y_j) and rho_j = (1/n) dl/dh, without overflow,
   over this rank's samples (model.c sums R over the sample groups). */
static PetscErrorCode TwoLayerLoss(PgfModel model, const PetscReal *h, PetscReal *R, PetscReal *rho)
{
  TwoLayer *tl    = (TwoLayer *)model->data;
  PetscReal sum   = 0;
  PetscInt  denom = tl->opt.batch ? tl->opt.batch : tl->n; /* B = n: the same bits as without batches */

  PetscFunctionBegin;
  for (PetscInt j = 0; j < tl->nloc; j++) {
    if (tl->opt.loss == LOSS_SQUARE) {
      PetscReal r = h[j] - tl->y[j];

      sum += 0.5 * r * r;
      rho[j] = r / denom;
    } else {
      PetscReal z = -tl->y[j] * h[j]; /* l = log(1 + e^z), dl/dh = -y sigmoid(z) */

      sum += z > 0 ? z + log1p(PetscExpReal(-z)) : log1p(PetscExpReal(z));
      rho[j] = -tl->y[j] * Sigmoid(z) / denom;
    }
  }
  /* mini-batch SGD: the velocity of the batch's samples only; R stays the
     loss over all samples */
  if (tl->opt.batch)
    for (PetscInt j = 0; j < tl->nloc; j++)
      if (!tl->inbatch[j]) rho[j] = 0;
  *R = sum / tl->n;
  PetscFunctionReturn(0);
}

/* The batch S_k of step k (doc/math.md section 3b), from (seed, k) alone: a partial
   Fisher-Yates shuffle of 0 .. n-1 that, for t = 0 .. B-1, swaps entries t
   and t + min(floor(u_t (n - t)), n - t - 1), u_t = PgfRandUniform(seed,
   PGF_STREAM_BATCH, k, t); S_k is the first B entries. Every rank draws it
   whole (O(n)) and flags its own samples. */
static PetscErrorCode TwoLayerSetStep(PgfModel model, PetscInt step)
{
  TwoLayer *tl = (TwoLayer *)model->data;
  PetscInt  n  = tl->n;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < n; j++) tl->perm[j] = j;
  for (PetscInt t = 0; t < tl->opt.batch; t++) {
    PetscInt r = t + PetscMin((PetscInt)(PgfRandUniform(model->seed, PGF_STREAM_BATCH, step, t) * (n - t)), n - t - 1), s = tl->perm[r];

    tl->perm[r] = tl->perm[t];
    tl->perm[t] = s;
  }
  PetscCall(PetscArrayzero(tl->inbatch, tl->nloc));
  for (PetscInt t = 0; t < tl->opt.batch; t++)
    if (tl->perm[t] >= tl->j0 && tl->perm[t] < tl->j0 + tl->nloc) tl->inbatch[tl->perm[t] - tl->j0] = 1;
  PetscFunctionReturn(0);
}

static PetscErrorCode TwoLayerRegularizer(PgfModel model, const PetscScalar *u, PetscReal *V)
{
  TwoLayer *tl  = (TwoLayer *)model->data;
  PetscReal sum = 0;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->nact; i++) {
    const PetscScalar *ui = &u[i * model->dof];

    if (tl->opt.reg == REG_L1) sum += tl->opt.lambda * PetscAbsReal(ui[0]);
    if (tl->opt.reg == REG_L2)
      for (PetscInt k = 0; k < model->dof; k++) sum += 0.5 * tl->opt.lambda * ui[k] * ui[k];
  }
  *V = sum;
  PetscFunctionReturn(0);
}

/* l1: the proximal step of lambda |w| after a step of size dt (doc/math.md section 4, fb). */
static PetscErrorCode TwoLayerProx(PgfModel model, PetscReal dt, PetscScalar *u, PetscBool *changed)
{
  TwoLayer *tl = (TwoLayer *)model->data;

  PetscFunctionBegin;
  if (tl->opt.reg != REG_L1) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < model->mloc; i++) {
    PetscScalar *w = &u[i * model->dof];

    *w       = PetscSign(*w) * PetscMax(PetscAbsReal(*w) - dt * tl->opt.lambda, 0);
    *changed = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

static PetscReal Activate(Activation act, PetscReal z)
{
  switch (act) {
    case ACT_RELU: return z > 0 ? z : 0;
    case ACT_SIGMOID: return Sigmoid(z);
    case ACT_TANH: return PetscTanhReal(z);
    case ACT_ERF: return PetscErfReal(z * M_SQRT1_2);
  }
  return 0;
}

/* s'(z), for the Jacobian of h. */
static PetscReal Derivative(Activation act, PetscReal z)
{
  PetscReal s;

  switch (act) {
    case ACT_RELU: return z > 0 ? 1 : 0;
    case ACT_SIGMOID: s = Sigmoid(z); return s * (1 - s);
    case ACT_TANH: s = PetscTanhReal(z); return 1 - s * s;
    case ACT_ERF: return PetscSqrtReal(2 / PETSC_PI) * PetscExpReal(-0.5 * z * z);
  }
  return 0;
}

/* dh_j/dw_i = s(z_ij)/m and dh_j/dtheta_i = w_i s'(z_ij) x~_j/m, z_ij =
   theta_i . x~_j, for samples j0 .. j0 + nj - 1 (doc/math.md section 3). */
static PetscErrorCode TwoLayerHJacobian(PgfModel model, const PetscScalar *u, PetscInt j0, PetscInt nj, PetscInt c, PetscReal *A)
{
  TwoLayer  *tl   = (TwoLayer *)model->data;
  PetscInt   nact = model->nact, p = tl->p;
  PetscReal *Z;

  PetscFunctionBegin;
  if (!nact || !nj) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(nact * nj, &Z));
  PetscCall(PreActivations(model, u, 0, nact, j0, nj, Z));
  for (PetscInt i = 0; i < nact; i++) {
    PetscReal *col = &A[i * c * nj], wi = u[i * model->dof] / model->m;

    for (PetscInt j = 0; j < nj; j++) col[j] = Activate(tl->opt.act, Z[i + j * nact]) / model->m;
    if (c == 1) continue;
    for (PetscInt j = 0; j < nj; j++) {
      PetscReal        ds = wi * Derivative(tl->opt.act, Z[i + j * nact]);
      const PetscReal *x  = &tl->X[(j0 + j) * p];

      for (PetscInt k = 0; k < p; k++) col[(1 + k) * nj + j] = ds * x[k];
    }
  }
  PetscCall(PetscFree(Z));
  PetscFunctionReturn(0);
}

static PetscErrorCode TwoLayerRidge(PgfModel model, const PetscReal **y, PetscReal *lambda)
{
  TwoLayer *tl = (TwoLayer *)model->data;

  PetscFunctionBegin;
  *y      = tl->opt.loss == LOSS_SQUARE ? tl->y : NULL;
  *lambda = tl->opt.reg == REG_L2 ? tl->opt.lambda : 0;
  PetscFunctionReturn(0);
}

/* Gaussian or spherical inputs, a teacher network and its labels (doc/math.md
   section 3), all from the counter-based generator. With the logistic loss
   the labels are the signs of the teacher's output. */
static PetscErrorCode MakeTeacherData(PgfModel model)
{
  TwoLayer  *tl   = (TwoLayer *)model->data;
  PetscInt64 seed = model->seed;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(tl->opt.m0, &tl->twt, tl->opt.m0 * tl->p, &tl->ttheta));
  TwoLayerTeacher(seed, tl->opt.m0, tl->p, tl->opt.teacher_norm, tl->twt, tl->ttheta);
  for (PetscInt jl = 0; jl < tl->nloc; jl++) {
    PetscInt   j = tl->j0 + jl;
    PetscReal *x = &tl->X[jl * tl->p], f = 0;

    if (tl->opt.input == INPUT_SPHERE) PgfRandSphere(seed, PGF_STREAM_INPUTS, j, tl->d, 1.0, x);
    else
      for (PetscInt k = 0; k < tl->d; k++) x[k] = PgfRandNormal(seed, PGF_STREAM_INPUTS, j, k);
    if (tl->opt.bias) x[tl->d] = 1;
    for (PetscInt k = 0; k < tl->opt.m0; k++) {
      PetscReal z = 0;

      for (PetscInt c = 0; c < tl->p; c++) z += tl->ttheta[k * tl->p + c] * x[c];
      f += tl->twt[k] * Activate(tl->opt.act, z);
    }
    f         = f / tl->opt.m0 + tl->opt.noise * PgfRandNormal(seed, PGF_STREAM_NOISE, j, 0);
    tl->y[jl] = tl->opt.loss == LOSS_LOGISTIC ? (f >= 0 ? 1 : -1) : f;
  }
  PetscFunctionReturn(0);
}

/* The first entry (global index) of this rank's rows that fails, the
   smallest over the ranks, or -1: the checks of -data are collective. */
static PetscErrorCode FirstBad(MPI_Comm comm, PetscInt n, PetscInt offset, const PetscBool *bad, PetscInt *first)
{
  PetscInt64 f = PETSC_MAX_INT;

  PetscFunctionBegin;
  for (PetscInt k = n - 1; k >= 0; k--)
    if (bad[k]) f = offset + k;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &f, 1, MPIU_INT64, MPI_MIN, comm));
  *first = f == PETSC_MAX_INT ? -1 : (PetscInt)f;
  PetscFunctionReturn(0);
}

/* -data FILE.h5: /X (n x d) and /y (n), finite, labels +-1 for the logistic
   loss. Each rank reads the rows of its sample group only. */
static PetscErrorCode ReadData(PgfModel model)
{
  TwoLayer  *tl = (TwoLayer *)model->data;
  PetscInt   xdims[2], ydims[1], bad;
  PetscReal *X, *y;
  PetscBool *flags;
  char      *f = tl->opt.datafile;

  PetscFunctionBegin;
  PetscCall(PgfReadArrayShape(model->comm, "-data", f, "X", 2, xdims));
  PetscCall(PgfReadArrayShape(model->comm, "-data", f, "y", 1, ydims));
  PgfCheckInput(model->comm, xdims[0] == ydims[0] && xdims[0] > 0 && xdims[1] > 0, "-data %s: /X must be n x d and /y of length n with n, d >= 1 (got X %" PetscInt_FMT " x %" PetscInt_FMT ", y %" PetscInt_FMT ")", f, xdims[0], xdims[1], ydims[0]);
  PgfCheckInput(model->comm, !tl->opt.dimset || tl->d == xdims[1], "-dim %" PetscInt_FMT " disagrees with -data %s, whose /X has %" PetscInt_FMT " columns", tl->d, f, xdims[1]);
  PgfCheckInput(model->comm, !tl->opt.samplesset || tl->n == xdims[0], "-samples %" PetscInt_FMT " disagrees with -data %s, whose /X has %" PetscInt_FMT " rows", tl->n, f, xdims[0]);
  tl->n = xdims[0];
  tl->d = xdims[1];
  tl->p = tl->d + tl->opt.bias;
  PetscCall(PgfModelSampleRange(model, tl->n, &tl->j0, &tl->nloc));
  PetscCall(PgfModelReserve(model, sizeof(PetscReal) * (2.0 * tl->nloc * (tl->p + 1) + tl->nloc * tl->d), "the samples of -data"));
  PetscCall(PgfReadArrayRows(model->comm, "-data", f, "X", 2, tl->j0, tl->nloc, &X));
  PetscCall(PgfReadArrayRows(model->comm, "-data", f, "y", 1, tl->j0, tl->nloc, &y));
  PetscCall(PetscMalloc1(PetscMax(1, tl->nloc * tl->d), &flags));
  for (PetscInt k = 0; k < tl->nloc * tl->d; k++) flags[k] = PetscIsInfOrNanReal(X[k]);
  PetscCall(FirstBad(model->comm, tl->nloc * tl->d, tl->j0 * tl->d, flags, &bad));
  PgfCheckInput(model->comm, bad < 0, "-data %s: /X must be finite (entry %" PetscInt_FMT " is not)", f, bad);
  for (PetscInt j = 0; j < tl->nloc; j++) flags[j] = PetscIsInfOrNanReal(y[j]);
  PetscCall(FirstBad(model->comm, tl->nloc, tl->j0, flags, &bad));
  PgfCheckInput(model->comm, bad < 0, "-data %s: /y must be finite (entry %" PetscInt_FMT " is not)", f, bad);
  for (PetscInt j = 0; j < tl->nloc; j++) flags[j] = tl->opt.loss == LOSS_LOGISTIC && y[j] != 1 && y[j] != -1;
  PetscCall(FirstBad(model->comm, tl->nloc, tl->j0, flags, &bad));
  PgfCheckInput(model->comm, bad < 0, "-loss logistic needs labels -1 and +1, but /y[%" PetscInt_FMT "] of -data %s is not", bad, f);
  PetscCall(PetscFree(flags));
  PetscCall(PetscMalloc2(tl->p * tl->nloc, &tl->X, tl->nloc, &tl->y));
  for (PetscInt j = 0; j < tl->nloc; j++) {
    PetscCall(PetscArraycpy(&tl->X[j * tl->p], &X[j * tl->d], tl->d));
    if (tl->opt.bias) tl->X[j * tl->p + tl->d] = 1;
  }
  PetscCall(PetscArraycpy(tl->y, y, tl->nloc));
  PetscCall(PetscFree(X));
  PetscCall(PetscFree(y));
  PetscFunctionReturn(0);
}

/* Tiles of Z, mb local particles x nb samples: 1 MiB, measured best (m >>
   n ran at 0.77-0.82 of DGEMM with 2 MiB tiles, 0.93 with 1 MiB; 256 kiB
   tiles make the products too small at d = 100: doc/performance.md,
   section 4), and square where the sizes allow: the products' packing of
   Theta and X costs 1/nb + 1/mb per flop, and neither product gets a thin
   dimension whatever m/n is. mb does not depend on -memory_limit, so that
   the forward sums over the tiles of particles (ForwardBlock) are the same
   whether Z is stored or recomputed.
   Z of all samples (for relu only its signs, one byte each) is kept
   between predict() and velocity() when it takes at most half of
   -memory_limit (with the largest local particle count, so that every rank
   decides alike); otherwise each tile is recomputed in velocity(), one more
   product with X. */
static PetscErrorCode SetupWorkspace(PgfModel model)
{
  TwoLayer  *tl   = (TwoLayer *)model->data;
  PetscInt   nact = PetscMax(model->nact, 1), most = nact, nloc = PetscMax(tl->nloc, 1), side, arrays = tl->opt.act == ACT_ERF ? 2 : 1; /* erf keeps Z and S */
  size_t     each = tl->opt.act == ACT_RELU ? sizeof(unsigned char) : arrays * sizeof(PetscReal);
  PetscInt64 nz;
  PetscReal  zbytes, avail, cache = 1 << 20;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &most, 1, MPIU_INT, MPI_MAX, model->comm));
  PetscCall(PgfModelAvailableMemory(model, &avail));
  zbytes     = (PetscReal)each * tl->nloc * most;
  side       = 8 * (PetscInt)(PetscSqrtReal(cache / sizeof(PetscReal)) / 8);
  tl->mb     = PetscMin(nact, nloc < side ? 8 * PetscMax(1, (PetscInt)(cache / (sizeof(PetscReal) * nloc)) / 8) : side);
  tl->nb     = PetscMin(nloc, PetscMax(16, (PetscInt)(PetscMin(cache, avail / 2) / (sizeof(PetscReal) * tl->mb))));
  tl->storeZ = (PetscBool)(zbytes <= avail / 2);
  if (!tl->storeZ) PetscCall(PetscPrintf(model->comm, "twolayer: the activations of %" PetscInt_FMT " samples (%.3g GiB per rank) exceed half of -memory_limit: recomputed in blocks of %" PetscInt_FMT " particles x %" PetscInt_FMT " samples\n", tl->nloc, (double)(zbytes / (1 << 30)), tl->mb, tl->nb));
  nz = tl->storeZ && tl->opt.act != ACT_RELU ? (PetscInt64)nact * nloc : (PetscInt64)tl->mb * tl->nb;
  PetscCall(PgfModelReserve(model, sizeof(PetscReal) * (arrays * (PetscReal)nz + 2.0 * nact + (tl->storeZ && tl->opt.act != ACT_RELU ? (PetscReal)tl->mb * tl->nb : 0)) + (tl->storeZ && tl->opt.act == ACT_RELU ? zbytes : 0), "the activations"));
  PetscCall(PetscMalloc3(nz, &tl->Z, nact, &tl->w, nact, &tl->vw));
  if (arrays == 2) PetscCall(PetscMalloc1(nz, &tl->S));
  if (tl->storeZ && tl->opt.act != ACT_RELU) PetscCall(PetscMalloc1((size_t)tl->mb * tl->nb, &tl->D));
  if (tl->storeZ && tl->opt.act == ACT_RELU) PetscCall(PetscMalloc1((size_t)nact * nloc, &tl->mask));
  /* touched now: the page faults of the stored arrays are the set-up's
     (PgfSetUpWork), not the first evaluation's */
  PetscCall(PetscArrayzero(tl->Z, nz));
  if (tl->S) PetscCall(PetscArrayzero(tl->S, nz));
  if (tl->mask) PetscCall(PetscArrayzero(tl->mask, (size_t)nact * nloc));
  PetscFunctionReturn(0);
}

static PetscErrorCode TwoLayerInitialize(PgfModel model, PetscScalar *u)
{
  TwoLayer *tl = (TwoLayer *)model->data;

  PetscFunctionBegin;
  TwoLayerInitialParticles(model, &tl->opt, u);
  PetscFunctionReturn(0);
}

/* /data from the first rank of each sample group (its rows of X and y),
   /truth from rank 0. */
static PetscErrorCode TwoLayerWriteProblem(PgfModel model, PgfOutput out)
{
  TwoLayer   *tl = (TwoLayer *)model->data;
  PetscReal  *X;
  PetscInt    wdims[1] = {tl->opt.m0}, tdims[2] = {tl->opt.m0, tl->p}, rows;
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(model->comm, &rank));
  rows = rank < model->groups ? tl->nloc : 0;
  PetscCall(PetscMalloc1(PetscMax(1, tl->nloc * tl->d), &X));
  for (PetscInt j = 0; j < tl->nloc; j++) PetscCall(PetscArraycpy(&X[j * tl->d], &tl->X[j * tl->p], tl->d));
  PetscCall(PgfOutputWriteParticles(out, "/data/X", tl->n, tl->j0, rows, tl->d, X));
  PetscCall(PgfOutputWriteParticles(out, "/data/y", tl->n, tl->j0, rows, 0, tl->y));
  PetscCall(PetscFree(X));
  if (tl->twt) {
    PetscCall(PgfOutputWriteRootArray(out, "/truth/w", 1, wdims, tl->twt));
    PetscCall(PgfOutputWriteRootArray(out, "/truth/theta", 2, tdims, tl->ttheta));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TwoLayerDestroy(PgfModel model)
{
  TwoLayer *tl = (TwoLayer *)model->data;

  PetscFunctionBegin;
  PetscCall(PetscFree2(tl->X, tl->y));
  PetscCall(PetscFree2(tl->twt, tl->ttheta));
  PetscCall(PetscFree3(tl->Z, tl->w, tl->vw));
  PetscCall(PetscFree(tl->S));
  PetscCall(PetscFree(tl->mask));
  PetscCall(PetscFree(tl->D));
  PetscCall(PetscFree2(tl->perm, tl->inbatch));
  PetscCall(PetscFree(model->data));
  PetscFunctionReturn(0);
}

/* The samples of a teacher, or of -data, and the workspace of the passes. */
PetscErrorCode PgfTwoLayerCreate_Samples(PgfModel model, const TwoLayerOptions *opt)
{
  TwoLayer *tl;

  PetscFunctionBegin;
  PetscCall(PetscNew(&tl));
  model->data               = tl;
  model->ops.initialize     = TwoLayerInitialize;
  model->ops.predict        = TwoLayerPredict;
  model->ops.loss           = TwoLayerLoss;
  model->ops.velocity       = TwoLayerVelocity;
  model->ops.regularizer    = TwoLayerRegularizer;
  model->ops.firstvariation = TwoLayerFirstVariation;
  model->ops.prox           = TwoLayerProx;
  model->ops.hjacobian      = TwoLayerHJacobian;
  model->ops.ridge          = TwoLayerRidge;
  model->ops.writeproblem   = TwoLayerWriteProblem;
  model->ops.destroy        = TwoLayerDestroy;
  tl->opt                   = *opt;
  tl->n                     = opt->n;
  tl->d                     = opt->d;
  PgfCheckInput(model->comm, !(opt->lambdaset && opt->lambda > 0 && opt->reg == REG_NONE), "-lambda needs -reg l2 or -reg l1 (with -reg none it would be ignored)");
  PetscCall(PetscLogEventBegin(PGF_SetUpData, 0, 0, 0, 0));
  if (opt->datafile[0]) PetscCall(ReadData(model));
  else {
    tl->p = tl->d + opt->bias;
    PetscCall(PgfModelSampleRange(model, tl->n, &tl->j0, &tl->nloc));
    PetscCall(PgfModelReserve(model, sizeof(PetscReal) * (PetscReal)tl->nloc * (tl->p + 1), "the samples"));
    PetscCall(PetscMalloc2(tl->p * tl->nloc, &tl->X, tl->nloc, &tl->y));
    PetscCall(MakeTeacherData(model));
  }
  PetscCall(PetscLogEventEnd(PGF_SetUpData, 0, 0, 0, 0));
  PgfCheckInput(model->comm, opt->batch <= tl->n, "-batch_size must be at most the number of samples %" PetscInt_FMT " (got %" PetscInt_FMT ")", tl->n, opt->batch);
  if (opt->batch) {
    PetscCall(PetscMalloc2(tl->n, &tl->perm, PetscMax(1, tl->nloc), &tl->inbatch));
    model->ops.setstep = TwoLayerSetStep;
    PetscCall(TwoLayerSetStep(model, 0)); /* a batch for evaluations outside a flow */
  }
  if (!opt->scaleset && opt->act != ACT_RELU) {
    tl->opt.init_scale = 1 / PetscSqrtReal(tl->p);
    PetscCall(PgfParamsAddReal("-init_scale", tl->opt.init_scale));
  }
  model->npos = tl->p;
  model->N    = tl->nloc;
  PetscCall(PetscLogEventBegin(PGF_SetUpWork, 0, 0, 0, 0));
  PetscCall(SetupWorkspace(model));
  PetscCall(PetscLogEventEnd(PGF_SetUpWork, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
