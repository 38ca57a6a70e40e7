/* The population loss of a two-layer network (doc/math.md, section 3b):
   inputs x ~ N(0, I_d), no bias, square loss, no noise, and F the expected
   loss over x in closed form through the kernel
   k(a, b) = E[s(a.x) s(b.x)] of relu (arc-cosine of degree 1) or erf:
     F = 1/2 [ (1/m^2) sum_ij w_i w_j k(theta_i, theta_j)
             - (2/(m m0)) sum_ik w_i w*_k k(theta_i, theta*_k)
             + (1/m0^2) sum_kl w*_k w*_l k(theta*_k, theta*_l) ].
   No samples are drawn or stored. Each rank takes its particles against all
   m particles and the m0 teacher neurons (the columns), gathered by one
   MPI_Allgatherv, in blocks of particles by columns: a DGEMM for the inner
   products (relu: of the directions, cos phi), one fused pass for the kernel
   and its gradient, and a second DGEMM for the position gradients. The pass
   (an asin and two square roots per pair, about 3 ns) is a fifth of the
   time, against about 13 ns for the two products' 4 d flops at d = 100:
   0.76-0.95 of DGEMM (doc/performance.md section 6). The evaluator of
   -problem twolayer -population true (twolayer.c). */
#include "twolayerimpl.h"
#include "vmath.h"

#define COLUMN_BLOCK 512 /* columns per block, the same on every rank */
/* local particles per block: G, ROW_BLOCK x COLUMN_BLOCK (1 MiB), stays in
   cache between the two products and the pass (the median ratio to DGEMM
   0.92 against 0.85 with 512 x 512 or 256 x 256, doc/performance.md
   section 6) */
#define ROW_BLOCK 256

typedef struct {
  TwoLayerOptions opt;
  PetscReal       T; /* the teacher's constant term (1/m0^2) sum_kl w*_k w*_l k(theta*_k, theta*_l) */
  PetscReal      *twt, *ttheta; /* teacher: m0 weights, m0 x p positions */
  PetscScalar    *uall; /* (m + m0) x dof: every particle (gathered), then the teacher's (w*_k, theta*_k) */
  PetscReal      *norm, *inorm; /* of the m + m0 columns: |theta_j|, and 1/|theta_j| (relu; 0 for 0) or 1/sqrt(1 + |theta_j|^2) (erf) */
  PetscReal      *dir; /* relu: (m + m0) x p, the directions theta_j / |theta_j| (0 for 0), whose product is cos phi */
  PetscReal      *coef; /* of the columns: w_j / m for a particle, -w*_k / m0 for a teacher neuron */
  PetscReal      *G; /* ROW_BLOCK x COLUMN_BLOCK: the first product, then the coefficients of the position gradients */
  PetscReal      *P, *Q, *S; /* per local particle: sum_j coef_j k_ij over the particles, over the teacher; sum_j coef_j beta_ij */
  PetscMPIInt    *counts, *displs; /* values (particles x dof) of each rank */
} Population;

/* asin(x) as fdlibm computes it (the same rational approximation of
   (asin(s) - s) / s^3 in t = s^2), without branches so that the loops
   calling it stay straight: |x| < 1/2 directly, otherwise through asin|x| =
   pi/2 - 2 asin(sqrt((1 - |x|)/2)); |x| > 1 (a cosine past 1 by rounding)
   gives asin(sign(x)). A few ulps. The polynomials go by Estrin's scheme
   (half the dependent steps of Horner's: the pass is bound by its chain of
   latencies, not by its operations), and every choice between the two
   ranges is made before them, once, and none before |x| is known: gcc
   otherwise duplicates both polynomials and the division in the loop along
   the paths of a clamp (jump threading). With it 1/y (y > 0) for the
   price of one division between the two, which costs as much as a square
   root on the processors measured (README). */
static inline PetscReal AsinAndReciprocal(PetscReal x, PetscReal y, PetscReal *yinv)
{
  const PetscReal p0 = 1.66666666666666657415e-01, p1 = -3.25565818622400915405e-01, p2 = 2.01212532134862925881e-01, p3 = -4.00555345006794114027e-02, p4 = 7.91534994289814532176e-04, p5 = 3.47933107596021167570e-05;
  const PetscReal q1 = -2.40339491173441421878e+00, q2 = 2.02094576023350569471e+00, q3 = -6.88283971605453293030e-01, q4 = 7.70381505559019352791e-02;
  PetscReal       ax = PetscAbsReal(x), h = PetscMax(0, 0.5 * (1 - ax)), sh = PetscSqrtReal(h);
  PetscBool       big = (PetscBool)(ax >= 0.5);
  PetscReal       t = big ? h : ax * ax, s = big ? sh : ax, o = big ? PETSC_PI / 2 : 0, f = big ? -2 : 1, t2 = t * t, t4 = t2 * t2;
  PetscReal       P = t * ((p0 + t * p1) + t2 * (p2 + t * p3) + t4 * (p4 + t * p5)), Q = (1 + t * q1) + t2 * (q2 + t * q3) + t4 * q4;
  PetscReal       w = 1 / (Q * y), r = s + s * (P * y * w);

  *yinv = Q * w;
  return PetscCopysignReal(o + f * r, x);
}

static inline PetscReal Asin(PetscReal x)
{
  PetscReal one;

  return AsinAndReciprocal(x, 1, &one);
}

/* The kernels k(a, b) and grad_a k(a, b) = alpha b + beta a.
   relu: with cos phi = c = a.b / (|a||b|), k = |a||b| (sin phi + (pi - phi) c) / (2 pi),
     grad_a k = ((pi - phi) b + |b| sin phi a / |a|) / (2 pi); both are 0
     when a or b is 0 (s'(0) = 0, as for finite samples). Near phi = 0 or pi
     the gradient's derivative in phi vanishes, so rounding in phi costs
     nothing. Everything but the norms is a function of c, which the first
     product gives directly from the directions a / |a| (dir).
   erf, s(z) = erf(z / sqrt 2), from q = a.b, |a|, and ia = 1/sqrt(A), A = 1 + |a|^2
     (B, ib for b): k = (2/pi) asin(q / sqrt(A B)), grad_a k = (2/pi) (b -
     (q / A) a) / sqrt(A B - q^2), where A B - q^2 = 1 + |a|^2 + |b|^2 +
     (|a|^2 |b|^2 - q^2) >= 1. */
static inline void ReluAngle(PetscReal c, PetscReal *pmp, PetscReal *s)
{
  *pmp = PETSC_PI / 2 + Asin(c); /* pi - phi */
  *s   = PetscSqrtReal(PetscMax(0, (1 - c) * (1 + c)));
}

static inline PetscReal ErfAsin(PetscReal q, PetscReal na, PetscReal ia, PetscReal nb, PetscReal ib, PetscReal *isd)
{
  PetscReal na2 = na * na, nb2 = nb * nb, D = 1 + na2 + nb2 + PetscMax(0, na2 * nb2 - q * q);

  return AsinAndReciprocal(q * ia * ib, PetscSqrtReal(D), isd);
}

/* k(a, b) alone, from a.b, the norms and inorm (see Population), for the teacher's constant term. */
static PetscReal KernelValue(Activation act, PetscReal q, PetscReal na, PetscReal ina, PetscReal nb, PetscReal inb)
{
  PetscReal pmp, s, c = q * ina * inb, isd;

  if (act == ACT_ERF) return 2 / PETSC_PI * ErfAsin(q, na, ina, nb, inb, &isd);
  ReluAngle(c, &pmp, &s);
  return na * nb * (s + pmp * c) / (2 * PETSC_PI);
}

/* Column j (coefficient cj) against the local particles: acc_i += cj
   k_ij, S_i += cj beta_ij, g_i = cj alpha_ij in place of the first
   product's entry (c_ij for relu, theta_i . theta_j for erf). The
   coefficients that depend on j alone are formed once per column (so the
   terms associate differently from k, alpha, beta above); relu's alpha of
   a particle at 0 is not zeroed here but its velocity is, at the end of
   PopulationEvaluate. */
static inline void ReluColumn(PetscInt nr, const PetscReal *restrict na, const PetscReal *restrict ina, PetscReal cj, PetscReal nb, PetscReal inb, PetscReal *restrict g, PetscReal *restrict acc, PetscReal *restrict S)
{
  const PetscReal a = cj / (2 * PETSC_PI), b = a * nb, ga = inb > 0 ? a : 0;

  for (PetscInt i = 0; i < nr; i++) {
    PetscReal c = g[i], pmp, s;

    ReluAngle(c, &pmp, &s);
    acc[i] += b * (na[i] * (s + pmp * c));
    S[i] += b * (s * ina[i]);
    g[i] = ga * pmp;
  }
}

static inline void ErfColumn(PetscInt nr, const PetscReal *restrict na, const PetscReal *restrict ina, PetscReal cj, PetscReal nb, PetscReal inb, PetscReal *restrict g, PetscReal *restrict acc, PetscReal *restrict S)
{
  const PetscReal e = cj * 2 / PETSC_PI;

  for (PetscInt i = 0; i < nr; i++) {
    PetscReal q = g[i], isd, k = ErfAsin(q, na[i], ina[i], nb, inb, &isd);

    acc[i] += e * k;
    g[i] = e * isd;
    S[i] -= g[i] * q * ina[i] * ina[i];
  }
}

/* The fused pass over a block of nr local particles r0 .. r0 + nr - 1 and
   nc columns c0 .. c0 + nc - 1, G holding the first product (nr x nc):
   accumulates P (particle columns) or Q (teacher columns) and S, and leaves
   coef_j alpha_ij in G for the second product. The loops vectorize
   (vmath.h). */
PGF_CLONES static void KernelBlock(Population *pp, PetscInt m, PetscInt r0, PetscInt nr, const PetscReal *na, const PetscReal *ina, PetscInt c0, PetscInt nc, PetscReal *G)
{
  for (PetscInt jj = 0; jj < nc; jj++) {
    PetscInt   j   = c0 + jj;
    PetscReal *acc = (j < m ? pp->P : pp->Q) + r0;

    if (pp->opt.act == ACT_RELU) ReluColumn(nr, na + r0, ina + r0, pp->coef[j], pp->norm[j], pp->inorm[j], &G[jj * nr], acc, pp->S + r0);
    else ErfColumn(nr, na + r0, ina + r0, pp->coef[j], pp->norm[j], pp->inorm[j], &G[jj * nr], acc, pp->S + r0);
  }
}

/* norm[j], inorm[j] and (relu) dir of column j. */
static void ColumnNorms(Population *pp, PetscInt p, PetscInt j, const PetscReal *theta)
{
  PetscReal s = 0;

  for (PetscInt k = 0; k < p; k++) s += theta[k] * theta[k];
  pp->norm[j]  = PetscSqrtReal(s);
  pp->inorm[j] = pp->opt.act == ACT_RELU ? (s > 0 ? 1 / pp->norm[j] : 0) : 1 / PetscSqrtReal(1 + s);
  if (pp->opt.act == ACT_RELU)
    for (PetscInt k = 0; k < p; k++) pp->dir[j * p + k] = theta[k] * pp->inorm[j];
}

/* F and (unless v is NULL) the velocities of doc/math.md section 3b:
     v_w(i) = sum_j coef_j k(theta_i, theta_j) over all columns,
     v_theta(i) = w_i (sum_j coef_j alpha_ij theta_j + (sum_j coef_j beta_ij) theta_i),
   plus lambda u_i with -reg l2; F = 1/2 [sum_i (w_i / m)(P_i + 2 Q_i) + T]
   + (1/m) sum_i V(u_i), Q carrying the teacher's minus sign. The second
   product's first block of columns overwrites v, which is not zeroed. */
static PetscErrorCode PopulationEvaluate(PgfModel model, const PetscScalar *u, PetscReal *F, PetscScalar *v)
{
  Population        *pp = (Population *)model->data;
  PetscInt           m = model->m, mloc = model->mloc, dof = model->dof, p = model->npos, ncol = m + pp->opt.m0;
  const PetscScalar *uloc = &pp->uall[model->rstart * dof];
  PetscBool          relu = (PetscBool)(pp->opt.act == ACT_RELU);
  const PetscReal   *A    = relu ? pp->dir : &pp->uall[1]; /* the first product's operands, lda apart */
  PetscInt           lda  = relu ? p : dof;
  const PetscReal   *na = &pp->norm[model->rstart], *ina = &pp->inorm[model->rstart];
  PetscReal          sums[2] = {0, 0};
  PetscLogDouble     t0, t1, t2, t3;

  PetscFunctionBegin;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Allgatherv(u, (PetscMPIInt)(mloc * dof), MPIU_SCALAR, pp->uall, pp->counts, pp->displs, MPIU_SCALAR, model->comm));
  PetscCall(PetscTime(&t1));
  for (PetscInt j = 0; j < m; j++) {
    pp->coef[j] = pp->uall[j * dof] / m;
    ColumnNorms(pp, p, j, &pp->uall[j * dof + 1]);
  }
  PetscCall(PetscArrayzero(pp->P, mloc));
  PetscCall(PetscArrayzero(pp->Q, mloc));
  PetscCall(PetscArrayzero(pp->S, mloc));
  for (PetscInt c0 = 0; c0 < ncol; c0 += COLUMN_BLOCK) {
    PetscInt           nc   = PetscMin(COLUMN_BLOCK, ncol - c0);
    const PetscScalar *cols = &pp->uall[c0 * dof + 1];

    for (PetscInt r0 = 0; r0 < mloc; r0 += ROW_BLOCK) {
      PetscInt nr = PetscMin(ROW_BLOCK, mloc - r0);

      PetscCall(PgfGemm("T", "N", nr, nc, p, 1.0, &A[(model->rstart + r0) * lda], lda, &A[c0 * lda], lda, 0.0, pp->G, nr));
      KernelBlock(pp, m, r0, nr, na, ina, c0, nc, pp->G);
      if (v) PetscCall(PgfGemm("N", "T", p, nr, nc, 1.0, cols, dof, pp->G, nr, c0 ? 1.0 : 0.0, &v[r0 * dof + 1], dof));
    }
  }
  for (PetscInt i = 0; i < mloc; i++) {
    const PetscScalar *ui = &uloc[i * dof];

    sums[0] += ui[0] / m * (pp->P[i] + 2 * pp->Q[i]);
    if (pp->opt.reg == REG_L2) sums[1] += 0.5 * pp->opt.lambda * (ui[0] * ui[0] + na[i] * na[i]) / m;
    if (!v) continue;
    v[i * dof] = pp->P[i] + pp->Q[i];
    for (PetscInt k = 1; k < dof; k++) v[i * dof + k] = relu && ina[i] == 0 ? 0 : ui[0] * (v[i * dof + k] + pp->S[i] * ui[k]);
    if (pp->opt.reg == REG_L2)
      for (PetscInt k = 0; k < dof; k++) v[i * dof + k] += pp->opt.lambda * ui[k];
  }
  PetscCall(PetscTime(&t2));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPIU_REAL, MPI_SUM, model->comm));
  PetscCall(PetscTime(&t3));
  *F               = 0.5 * (sums[0] + pp->T) + sums[1];
  model->comm_last = (t1 - t0) + (t3 - t2);
  PetscFunctionReturn(0);
}

/* An option that needs samples (or a feature the population loss does not
   have): refused unless absent or set to its "off" value. */
static PetscErrorCode Refuse(MPI_Comm comm, const char opt[], const char why[])
{
  const char *off[] = {"none", "false", "0", "no", "off"};
  char        buf[256];
  PetscBool   set, isoff = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(NULL, NULL, opt, buf, sizeof(buf), &set));
  for (size_t i = 0; set && i < sizeof(off) / sizeof(off[0]); i++) isoff = (PetscBool)(isoff || !strcmp(buf, off[i]));
  PgfCheckInput(comm, !set || isoff, "%s cannot be used with -population true (%s)", opt, why);
  PetscFunctionReturn(0);
}

/* The teacher's columns and constant term, and every particle's place on
   every rank. */
static PetscErrorCode PopulationSetUp(PgfModel model)
{
  Population *pp   = (Population *)model->data;
  MPI_Comm    comm = model->comm;
  PetscInt    p, dof, mloc, m0;
  PetscMPIInt size;

  PetscFunctionBegin;
  p  = pp->opt.d;
  m0 = pp->opt.m0;
  if (!pp->opt.scaleset && pp->opt.act != ACT_RELU) pp->opt.init_scale = 1 / PetscSqrtReal(p);
  model->npos = p;
  model->N    = 0;
  dof         = 1 + p;
  mloc        = model->mloc;
  /* every particle on every rank (the all-pairs loss), and a block of pairs */
  PetscCall(PgfModelReserve(model, sizeof(PetscReal) * ((model->m + m0) * (dof + 3.0 + (pp->opt.act == ACT_RELU ? p : 0)) + PetscMin(mloc, ROW_BLOCK) * (PetscReal)COLUMN_BLOCK + 3.0 * mloc), "the particles gathered on every rank for the population loss"));
  PetscCall(PetscMalloc2(m0, &pp->twt, m0 * p, &pp->ttheta));
  TwoLayerTeacher(model->seed, m0, p, pp->opt.teacher_norm, pp->twt, pp->ttheta);
  PetscCall(PetscMalloc5((model->m + m0) * dof, &pp->uall, model->m + m0, &pp->norm, model->m + m0, &pp->inorm, model->m + m0, &pp->coef, pp->opt.act == ACT_RELU ? (model->m + m0) * p : 0, &pp->dir));
  PetscCall(PetscMalloc4(PetscMax(1, PetscMin(mloc, ROW_BLOCK)) * COLUMN_BLOCK, &pp->G, mloc, &pp->P, mloc, &pp->Q, mloc, &pp->S));
  for (PetscInt k = 0; k < m0; k++) {
    PetscScalar *col = &pp->uall[(model->m + k) * dof];

    col[0] = pp->twt[k];
    PetscCall(PetscArraycpy(&col[1], &pp->ttheta[k * p], p));
    ColumnNorms(pp, p, model->m + k, &col[1]);
    pp->coef[model->m + k] = -pp->twt[k] / m0;
  }
  pp->T = 0;
  for (PetscInt k = 0; k < m0; k++)
    for (PetscInt l = 0; l < m0; l++) {
      PetscReal q = 0;

      for (PetscInt c = 0; c < p; c++) q += pp->ttheta[k * p + c] * pp->ttheta[l * p + c];
      pp->T += pp->twt[k] * pp->twt[l] * KernelValue(pp->opt.act, q, pp->norm[model->m + k], pp->inorm[model->m + k], pp->norm[model->m + l], pp->inorm[model->m + l]) / ((PetscReal)m0 * m0);
    }
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMalloc2(size, &pp->counts, size, &pp->displs));
  {
    PetscMPIInt n = (PetscMPIInt)(mloc * dof);

    PetscCallMPI(MPI_Allgather(&n, 1, MPI_INT, pp->counts, 1, MPI_INT, comm));
  }
  pp->displs[0] = 0;
  for (PetscMPIInt r = 1; r < size; r++) pp->displs[r] = pp->displs[r - 1] + pp->counts[r - 1];
  PetscFunctionReturn(0);
}

/* As the samples' initial particles, so that the two start from the same bits. */
static PetscErrorCode PopulationInitialize(PgfModel model, PetscScalar *u)
{
  Population *pp = (Population *)model->data;

  PetscFunctionBegin;
  TwoLayerInitialParticles(model, &pp->opt, u);
  PetscFunctionReturn(0);
}

/* /truth only: there is no /data. */
static PetscErrorCode PopulationWriteProblem(PgfModel model, PgfOutput out)
{
  Population *pp       = (Population *)model->data;
  PetscInt    wdims[1] = {pp->opt.m0}, tdims[2] = {pp->opt.m0, model->npos};

  PetscFunctionBegin;
  PetscCall(PgfOutputWriteRootArray(out, "/truth/w", 1, wdims, pp->twt));
  PetscCall(PgfOutputWriteRootArray(out, "/truth/theta", 2, tdims, pp->ttheta));
  PetscFunctionReturn(0);
}

static PetscErrorCode PopulationDestroy(PgfModel model)
{
  Population *pp = (Population *)model->data;

  PetscFunctionBegin;
  PetscCall(PetscFree2(pp->twt, pp->ttheta));
  PetscCall(PetscFree5(pp->uall, pp->norm, pp->inorm, pp->coef, pp->dir));
  PetscCall(PetscFree4(pp->G, pp->P, pp->Q, pp->S));
  PetscCall(PetscFree2(pp->counts, pp->displs));
  PetscCall(PetscFree(model->data));
  PetscFunctionReturn(0);
}

/* What the closed form cannot do is refused, in one line each. */
PetscErrorCode PgfTwoLayerCreate_Population(PgfModel model, const TwoLayerOptions *opt)
{
  Population *pp;
  MPI_Comm    comm = model->comm;

  PetscFunctionBegin;
  PetscCall(PetscNew(&pp));
  model->data             = pp;
  model->ops.initialize   = PopulationInitialize;
  model->ops.evaluate     = PopulationEvaluate;
  model->ops.writeproblem = PopulationWriteProblem;
  model->ops.destroy      = PopulationDestroy;
  pp->opt                 = *opt;
  PgfCheckInput(comm, !opt->bias, "-bias true cannot be used with -population true (the closed form has no bias)");
  PgfCheckInput(comm, opt->input == INPUT_GAUSSIAN, "-input sphere cannot be used with -population true (the closed form is for Gaussian inputs)");
  PgfCheckInput(comm, opt->noise == 0, "-noise cannot be used with -population true (the closed form has no label noise)");
  PgfCheckInput(comm, opt->loss == LOSS_SQUARE, "-loss logistic cannot be used with -population true (the closed form is for the square loss)");
  PgfCheckInput(comm, opt->act == ACT_RELU || opt->act == ACT_ERF, "-activation must be relu or erf with -population true (got %s)", activations[opt->act]);
  PgfCheckInput(comm, opt->reg != REG_L1, "-reg must be none or l2 with -population true (got l1)");
  PgfCheckInput(comm, !(opt->lambda > 0 && opt->reg == REG_NONE), "-lambda needs -reg l2 (with -reg none it would be ignored)");
  PgfCheckInput(comm, model->groups == 1, "-sample_groups cannot be used with -population true (there are no samples to split)");
  PetscCall(Refuse(comm, "-samples", "there are no samples"));
  PetscCall(Refuse(comm, "-data", "the inputs are Gaussian"));
  PetscCall(Refuse(comm, "-batch_size", "there are no samples to draw batches from"));
  PetscCall(Refuse(comm, "-baseline", "the convex baselines solve on samples"));
  PetscCall(Refuse(comm, "-refit", "the convex baselines solve on samples"));
  PetscCall(Refuse(comm, "-spectrum", "the Gauss-Newton matrix is formed on samples"));
  PetscCall(PopulationSetUp(model));
  PetscFunctionReturn(0);
}
