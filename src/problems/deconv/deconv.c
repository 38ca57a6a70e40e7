/* Sparse spikes deconvolution on the torus T^q, q = 1 or 2
   (doc/math.md section 4): the data, the predictor, the velocities, the
   proximal step and the problem's options; the Jacobian is in jacobian.c,
   the certificate in certificate.c (deconvimpl.h). */
#include "deconvimpl.h"
#include "options.h"

static const char *const lifts[] = {"fb", "signed_square"};

/* Fill e[k] = exp(-2 pi i (k - fc) t), k = 0 .. 2 fc, by complex
   multiplication from exp(-2 pi i t): one sine and cosine per axis. */
void DeconvAxisExponentials(PetscInt fc, PetscReal t, PetscReal *ere, PetscReal *eim)
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

void DeconvPointExponentials(Deconv *dc, const PetscReal *theta, PetscReal *ere, PetscReal *eim)
{
  for (PetscInt a = 0; a < dc->q; a++) DeconvAxisExponentials(dc->fc, theta[a], &ere[a * dc->nf], &eim[a * dc->nf]);
}

/* g, grad g and (when hess is not NULL) the Hessian of g at one point from
   its axis exponentials (doc/math.md section 4): with z = conj(rho) e,
   g = sum Re z, grad_a g = 2 pi sum omega_a Im z,
   hess_ab g = -4 pi^2 sum omega_a omega_b Re z. O(K). */
void DeconvEvalG(Deconv *dc, const PetscReal *rho, const PetscReal *ere, const PetscReal *eim, PetscReal *g, PetscReal grad[2], PetscReal hess[4])
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

    DeconvPointExponentials(dc, &ui[1], ere, eim);
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
void DeconvEnsureSigns(PgfModel model, const PetscScalar *u)
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
  DeconvEnsureSigns(model, u);
  for (PetscInt i = 0; i < model->mloc; i++) {
    const PetscScalar *ui = &u[i * model->dof];
    PetscScalar       *vi = &v[i * model->dof];
    PetscReal          g, grad[2];

    DeconvEvalG(dc, rho, &dc->ere[i * stride], &dc->eim[i * stride], &g, grad, NULL);
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

    DeconvEvalG(dc, rho, &dc->ere[i * stride], &dc->eim[i * stride], &g, grad, NULL);
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
   become those of the next step (see DeconvEnsureSigns). */
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
    DeconvPointExponentials(dc, &dc->tx[k * q], ere, eim);
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
  for (PetscInt j = 0; j < dc->G; j++) DeconvAxisExponentials(dc->fc, (PetscReal)j / dc->G, &dc->tre[j * dc->nf], &dc->tim[j * dc->nf]);
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
