/* Sums of Gaussian bumps on [0, 1], an example problem (doc/adding-a-problem.md).
   A particle is u = (w, c), a bump of height w centred at c; the predictor
   is the signal on n grid points x_j = (j + 1/2)/n:
     Phi(u)_j = w b(x_j - c),  b(z) = exp(-z^2 / (2 s^2)),
     R(h) = (1/(2n)) |h - y|^2,  V(u) = (lambda/2) w^2,
   with y the signal of m0 random bumps plus noise. */
#include "modelimpl.h"
#include "options.h"

typedef struct {
  PetscInt   n, m0;
  PetscReal  width, lambda, noise;
  PetscReal *y; /* n observations, whole on every rank */
  PetscReal *ta, *tc; /* truth: m0 heights and centres */
} Bumps;

static inline PetscReal Grid(const Bumps *b, PetscInt j)
{
  return (j + 0.5) / b->n;
}

static inline PetscReal Bump(const Bumps *b, PetscReal z)
{
  return PetscExpReal(-0.5 * z * z / (b->width * b->width));
}

/* h_j += sum over the local particles of w_i b(x_j - c_i); no 1/m, no
   communication: model.c reduces over the ranks and divides by m. */
static PetscErrorCode BumpsPredict(PgfModel model, const PetscScalar *u, PetscReal *h)
{
  Bumps *b = (Bumps *)model->data;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++)
    for (PetscInt j = 0; j < b->n; j++) h[j] += u[2 * i] * Bump(b, Grid(b, j) - u[2 * i + 1]);
  PetscFunctionReturn(0);
}

/* R and rho = grad R, from h that every rank holds whole. */
static PetscErrorCode BumpsLoss(PgfModel model, const PetscReal *h, PetscReal *R, PetscReal *rho)
{
  Bumps    *b   = (Bumps *)model->data;
  PetscReal sum = 0;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < b->n; j++) {
    PetscReal r = h[j] - b->y[j];

    sum += 0.5 * r * r;
    rho[j] = r / b->n;
  }
  *R = sum / b->n;
  PetscFunctionReturn(0);
}

/* v_w = sum_j rho_j b_j + lambda w,  v_c = w sum_j rho_j b_j (x_j - c) / s^2. */
static PetscErrorCode BumpsVelocity(PgfModel model, const PetscScalar *u, const PetscReal *rho, PetscScalar *v)
{
  Bumps *b = (Bumps *)model->data;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) {
    PetscReal w = u[2 * i], c = u[2 * i + 1], gw = 0, gc = 0;

    for (PetscInt j = 0; j < b->n; j++) {
      PetscReal z = Grid(b, j) - c, e = rho[j] * Bump(b, z);

      gw += e;
      gc += e * z;
    }
    v[2 * i]     = gw + b->lambda * w;
    v[2 * i + 1] = w * gc / (b->width * b->width);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode BumpsRegularizer(PgfModel model, const PetscScalar *u, PetscReal *V)
{
  Bumps    *b   = (Bumps *)model->data;
  PetscReal sum = 0;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) sum += 0.5 * b->lambda * u[2 * i] * u[2 * i];
  *V = sum;
  PetscFunctionReturn(0);
}

/* Weights 0, centres on a uniform grid: particle i by its global index. */
static PetscErrorCode BumpsInitialize(PgfModel model, PetscScalar *u)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < model->mloc; i++) {
    u[2 * i]     = 0;
    u[2 * i + 1] = (model->rstart + i + 0.5) / model->m;
  }
  PetscFunctionReturn(0);
}

/* The truth and the observations from the counter-based generator, keyed
   by the seed and by global indices only: the same on every rank. */
static PetscErrorCode MakeData(PgfModel model)
{
  Bumps *b = (Bumps *)model->data;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < b->m0; k++) {
    b->tc[k] = PgfRandUniform(model->seed, PGF_STREAM_TEACHER, k, 0);
    b->ta[k] = 0.5 + PgfRandUniform(model->seed, PGF_STREAM_TEACHER, k, 1);
  }
  for (PetscInt j = 0; j < b->n; j++) {
    b->y[j] = b->noise * PgfRandNormal(model->seed, PGF_STREAM_NOISE, j, 0);
    for (PetscInt k = 0; k < b->m0; k++) b->y[j] += b->ta[k] * Bump(b, Grid(b, j) - b->tc[k]);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode BumpsSetFromOptions(PgfModel model)
{
  Bumps *b = (Bumps *)model->data;

  PetscFunctionBegin;
  b->n      = 200;
  b->m0     = 3;
  b->width  = 0.05;
  b->lambda = 1e-3;
  PetscOptionsBegin(model->comm, NULL, "Gaussian bumps (-problem bumps)", NULL);
  PetscCall(PgfOptionsInt(model->comm, "-samples", "Grid points n", b->n, 1, 100000000, &b->n));
  PetscCall(PgfOptionsInt(model->comm, "-spikes", "Bumps m0 of the truth", b->m0, 1, 100000, &b->m0));
  PetscCall(PgfOptionsReal(model->comm, "-width", "Width s of a bump", b->width, PETSC_SMALL, 1, &b->width));
  PetscCall(PgfOptionsReal(model->comm, "-lambda", "Weight decay lambda", b->lambda, 0, PETSC_MAX_REAL, &b->lambda));
  PetscCall(PgfOptionsReal(model->comm, "-noise", "Standard deviation of the noise", 0, 0, PETSC_MAX_REAL, &b->noise));
  PetscOptionsEnd();
  PgfCheckInput(model->comm, model->groups == 1, "-sample_groups needs -problem twolayer (bumps keeps its n values whole on every rank)");
  PgfCheckInput(model->comm, b->width * b->n >= 1, "-width %g is below the grid spacing 1/%" PetscInt_FMT " of -samples: use at least %g", (double)b->width, b->n, 1.0 / b->n);
  PetscCall(PgfModelReserve(model, sizeof(PetscReal) * (b->n + 2.0 * b->m0), "the observations"));
  PetscCall(PetscMalloc3(b->n, &b->y, b->m0, &b->ta, b->m0, &b->tc));
  PetscCall(MakeData(model));
  model->npos = 1;
  model->N    = b->n;
  PetscFunctionReturn(0);
}

/* /data and /truth, held whole by every rank: rank 0 writes them. */
static PetscErrorCode BumpsWriteProblem(PgfModel model, PgfOutput out)
{
  Bumps   *b    = (Bumps *)model->data;
  PetscInt n[1] = {b->n}, m0[1] = {b->m0};

  PetscFunctionBegin;
  PetscCall(PgfOutputWriteRootArray(out, "/data/y", 1, n, b->y));
  PetscCall(PgfOutputWriteRootArray(out, "/truth/a", 1, m0, b->ta));
  PetscCall(PgfOutputWriteRootArray(out, "/truth/c", 1, m0, b->tc));
  PetscFunctionReturn(0);
}

static PetscErrorCode BumpsDestroy(PgfModel model)
{
  Bumps *b = (Bumps *)model->data;

  PetscFunctionBegin;
  PetscCall(PetscFree3(b->y, b->ta, b->tc));
  PetscCall(PetscFree(model->data));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfModelCreate_Bumps(PgfModel model)
{
  Bumps *b;

  PetscFunctionBegin;
  PetscCall(PetscNew(&b));
  model->data               = b;
  model->ops.setfromoptions = BumpsSetFromOptions;
  model->ops.initialize     = BumpsInitialize;
  model->ops.predict        = BumpsPredict;
  model->ops.loss           = BumpsLoss;
  model->ops.velocity       = BumpsVelocity;
  model->ops.regularizer    = BumpsRegularizer;
  model->ops.writeproblem   = BumpsWriteProblem;
  model->ops.destroy        = BumpsDestroy;
  PetscFunctionReturn(0);
}

/* Outside pgflow's tree the problem comes as a shared library
   (doc/installing.md): `-dll_append libpgfbumps.so` makes PETSc call this
   function, named after the file, in PetscInitialize. */
PETSC_EXTERN PetscErrorCode PetscDLLibraryRegister_pgfbumps(void)
{
  PetscFunctionBegin;
  PetscCall(PgfModelRegister("bumps", PgfModelCreate_Bumps));
  PetscFunctionReturn(0);
}
