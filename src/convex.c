/* Convex baselines and spectra (doc/math.md section 6), on all
   ranks through ScaLAPACK (dense.h):
   - -baseline rf: the positions frozen at their initial values (random
     features) and the best weights on them, the ridge problem
       (A^T A / n + (lambda/m) I) w = A^T y / n,   A = dh/dw = S/m;
   - -refit: the same solve on the current positions at every snapshot;
   - -spectrum: at the final state, the eigenvalues of the Gauss-Newton
     matrix J^T J / n and of the tangent kernel J J^T / n, J = dh/du.
   Every rank computes the columns of A (or J) of its own particles, a block
   of samples at a time; the blocks are redistributed to the block-cyclic
   grid and accumulated by pdsyrk, so memory grows with m^2 / P (or
   (m dof)^2 / P), never with n m. */
#include "pgfimpl.h"
#include "dense.h"
#include "options.h"

typedef enum { BASELINE_NONE,
  BASELINE_RF,
  BASELINE_SFW /* sfw.c, run instead of the flow (run.c) */
} Baseline;
static const char *const baselines[] = {"none", "rf", "sfw"};

struct _p_PgfConvex {
  PgfModel    model;
  MPI_Comm    comm;
  PetscInt    m, npos, dof, N, rstart, mloc, groups; /* the model's sizes */
  PetscReal   memory_limit;
  PgfGrid     grid;
  Baseline    baseline;
  PetscBool   refit, spectrum;
  PetscReal   lambda; /* ridge strength on the weights */
  PetscInt    ntk_max; /* the tangent kernel only for n up to this */
  PetscInt    nrows; /* samples per accumulated block */
  PetscMPIInt size;
};

/* Refuses (exit 2) what would not fit in -memory_limit, before anything is
   allocated or computed. */
static PetscErrorCode CheckMemory(PgfConvex cv, const char option[], const char what[], PetscInt N, PetscReal bytes)
{
  PgfModel  model = cv->model;
  PetscInt  nprow, npcol;
  PetscReal gib = 1 << 30;

  PetscFunctionBegin;
  PetscCall(PgfGridGetSizes(cv->grid, &nprow, &npcol, NULL));
  PetscReal avail;

  PetscCall(PgfModelAvailableMemory(model, &avail));
  PgfCheckInput(cv->comm, bytes <= avail, "%s: the %s (%" PetscInt_FMT " x %" PetscInt_FMT ") needs %.3g GiB per rank on the %" PetscInt_FMT " x %" PetscInt_FMT " process grid, more than the %.3g GiB left of -memory_limit %.3g GiB; use more ranks or raise -memory_limit", option, what, N, N, (double)(bytes / gib), nprow, npcol, (double)(avail / gib), (double)(cv->memory_limit / gib));
  PetscFunctionReturn(0);
}

/* Bytes per rank of a block of rows of A (c = 1) or J (c = dof): its
   columns of the local particles, their redistribution and their share of
   the block-cyclic copy. */
static PetscReal RowBytes(PgfConvex cv, PetscInt c)
{

  return (PetscReal)sizeof(PetscReal) * c * (2.0 * cv->mloc + 2.0 * (cv->m / cv->size + 1) + 64);
}

static PetscErrorCode SetUpMemory(PgfConvex cv)
{
  PetscInt  dof = cv->dof, N = cv->N, nb;
  PetscReal mat, eig, block;

  PetscFunctionBegin;
  /* blocks of rows: a sixteenth of the limit, at most 256 MiB */
  block     = PetscMin(cv->memory_limit / 16, 256.0 * (1 << 20));
  cv->nrows = (PetscInt)PetscMin((PetscReal)N, PetscMax(1.0, block / RowBytes(cv, cv->spectrum ? dof : 1)));
  PetscCall(PgfGridGetSizes(cv->grid, NULL, NULL, &nb));
  cv->nrows = PetscMax(cv->nrows, PetscMin(N, nb));
  if (cv->baseline || cv->refit) {
    PetscCall(PgfGridEigenBytes(cv->grid, cv->m, PETSC_TRUE, &eig));
    PetscCall(CheckMemory(cv, cv->baseline ? "-baseline" : "-refit", "Gram matrix of the features", cv->m, eig + cv->nrows * RowBytes(cv, 1)));
  }
  if (!cv->spectrum) PetscFunctionReturn(0);
  PetscCall(PgfGridEigenBytes(cv->grid, cv->m * dof, PETSC_FALSE, &eig));
  PetscCall(CheckMemory(cv, "-spectrum", "Gauss-Newton matrix", cv->m * dof, eig + cv->nrows * RowBytes(cv, dof)));
  if (N > cv->ntk_max) PetscFunctionReturn(0);
  PetscCall(PgfGridEigenBytes(cv->grid, N, PETSC_FALSE, &eig));
  PetscCall(PgfGridMatrixBytes(cv->grid, N, cv->m * dof, &mat));
  PetscCall(CheckMemory(cv, "-spectrum", "tangent kernel", N, eig + mat + N * RowBytes(cv, dof) / 2));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfConvexCreate(PgfModel model, PgfConvex *convex)
{
  PgfConvex        cv;
  PetscInt         baseline = BASELINE_NONE, nb = 64, nprow, npcol;
  const PetscReal *y      = NULL;
  PetscReal        lambda = 0;
  PetscBool        hasH;

  PetscFunctionBegin;
  PetscCall(PetscNew(&cv));
  cv->model = model;
  PetscCall(PgfModelGetComm(model, &cv->comm));
  PetscCall(PgfModelGetSizes(model, &cv->m, &cv->npos, &cv->dof, &cv->N));
  PetscCall(PgfModelGetOwnership(model, &cv->rstart, &cv->mloc));
  PetscCall(PgfModelGetSampleGroups(model, &cv->groups));
  PetscCall(PgfModelGetMemoryLimit(model, &cv->memory_limit));
  PetscCall(PgfModelHasOperation(model, PGF_OP_HJACOBIAN, &hasH));
  PetscCallMPI(MPI_Comm_size(cv->comm, &cv->size));
  PetscCall(PgfModelGetRidge(model, &y, &lambda));
  cv->ntk_max = 4096;
  PetscOptionsBegin(cv->comm, NULL, "Convex baselines and spectra (ScaLAPACK)", NULL);
  PetscCall(PgfOptionsEList(cv->comm, "-baseline", "Baseline: none, rf (random features: the best weights on the initial positions, to /baseline) or sfw (deconv: Sliding Frank-Wolfe instead of the flow)", baselines, 3, baseline, &baseline));
  PetscCall(PgfOptionsReal(cv->comm, "-baseline_lambda", "Ridge strength on the weights of -baseline and -refit (default: -lambda with -reg l2, else 0)", lambda, 0, PETSC_MAX_REAL, &cv->lambda));
  PetscCall(PgfOptionsBool(cv->comm, "-refit", "At every snapshot, the best weights on the current positions: /snapshots/refit_loss", cv->refit, &cv->refit));
  PetscCall(PgfOptionsBool(cv->comm, "-spectrum", "Eigenvalues of the Gauss-Newton matrix and tangent kernel at the final state: /final/spectrum_gn, /final/spectrum_ntk", cv->spectrum, &cv->spectrum));
  PetscCall(PgfOptionsInt(cv->comm, "-spectrum_ntk_max", "Largest number of samples n for which -spectrum computes the n x n tangent kernel", cv->ntk_max, 0, PETSC_MAX_INT, &cv->ntk_max));
  PetscCall(PgfOptionsInt(cv->comm, "-scalapack_block", "Block size of the block-cyclic distribution", nb, 1, 4096, &nb));
  PetscOptionsEnd();
  cv->baseline = baseline == BASELINE_SFW ? BASELINE_NONE : (Baseline)baseline;
  if (cv->baseline || cv->refit || cv->spectrum) {
    PgfCheckInput(cv->comm, hasH, "-baseline, -refit and -spectrum need -problem twolayer");
    PgfCheckInput(cv->comm, cv->groups == 1, "-baseline, -refit and -spectrum need -sample_groups 1");
    PgfCheckInput(cv->comm, y || !(cv->baseline || cv->refit), "-baseline rf and -refit need -loss square (the ridge problem of the weights)");
    PetscCall(PgfGridCreate(cv->comm, nb, &cv->grid));
    PetscCall(SetUpMemory(cv));
    PetscCall(PgfGridGetSizes(cv->grid, &nprow, &npcol, NULL));
    PetscCall(PetscPrintf(cv->comm, "ScaLAPACK: %" PetscInt_FMT " x %" PetscInt_FMT " process grid, %" PetscInt_FMT " x %" PetscInt_FMT " blocks, %" PetscInt_FMT " samples per accumulated block\n", nprow, npcol, nb, nb, cv->nrows));
  }
  *convex = cv;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfConvexDestroy(PgfConvex *convex)
{
  PetscFunctionBegin;
  if (!*convex) PetscFunctionReturn(0);
  PetscCall(PgfGridDestroy(&(*convex)->grid));
  PetscCall(PetscFree(*convex));
  PetscFunctionReturn(0);
}

/* C = J^T J / n (c = dof) or A^T A / n (c = 1) at the particles u,
   accumulated over blocks of samples; with y, also this rank's part of
   A^T y / n (its particles' entries) in rhs. */
static PetscErrorCode NormalMatrix(PgfConvex cv, const PetscScalar *u, PetscInt c, const PetscReal *y, PgfDense C, PetscReal *rhs)
{
  PgfModel   model = cv->model;
  PetscInt   n = cv->N, ncols = cv->mloc * c, ns = cv->nrows;
  PgfDense   B;
  PetscReal *Jloc;

  PetscFunctionBegin;
  PetscCall(PgfDenseCreate(cv->grid, ns, cv->m * c, &B));
  PetscCall(PetscMalloc1(PetscMax(1, ns * ncols), &Jloc));
  if (rhs) PetscCall(PetscArrayzero(rhs, cv->mloc));
  for (PetscInt j0 = 0; j0 < n; j0 += ns) {
    PetscInt nj = PetscMin(ns, n - j0);

    PetscCall(PgfModelHJacobian(model, u, j0, nj, c, Jloc));
    if (rhs && cv->mloc) PetscCall(PgfGemm("T", "N", cv->mloc, 1, nj, 1.0 / n, Jloc, nj, &y[j0], nj, 1.0, rhs, cv->mloc));
    PetscCall(PgfDenseScatter(B, 0, nj, cv->rstart * c, ncols, Jloc, nj));
    PetscCall(PgfDenseSyrk(B, PETSC_TRUE, nj, 1.0 / n, C));
  }
  PetscCall(PetscFree(Jloc));
  PetscCall(PgfDenseDestroy(&B));
  PetscFunctionReturn(0);
}

/* G = A^T A / n + (lambda/m) I at the particles u, and this rank's part of
   A^T y / n in rhs. */
static PetscErrorCode Gram(PgfConvex cv, const PetscScalar *u, const PetscReal *y, PgfDense *G, PetscReal *rhs)
{
  PetscInt m = cv->m;

  PetscFunctionBegin;
  PetscCall(PgfDenseCreate(cv->grid, m, m, G));
  PetscCall(NormalMatrix(cv, u, 1, y, *G, rhs));
  PetscCall(PgfDenseShiftDiagonal(*G, cv->lambda / m));
  PetscFunctionReturn(0);
}

typedef struct {
  PetscReal loss; /* R(h) + lambda/(2m) |w|^2, the ridge objective */
  PetscReal risk; /* R(h) */
  PetscReal rcond; /* of the Gram matrix, 0 when not positive definite */
  PetscInt  rank; /* of the least-squares solve; 0 with Cholesky */
  PetscReal seconds;
} Ridge;

/* The best weights on the positions of U (doc/math.md section 6), into wloc
   (this rank's particles), by Cholesky or, when the Gram matrix is
   singular, as the minimum-norm least-squares solution. */
static PetscErrorCode SolveRidge(PgfConvex cv, Vec U, PetscReal *wloc, Ridge *r)
{
  PgfModel           model = cv->model;
  PetscInt           m = cv->m, dof = cv->dof;
  PgfDense           G, b;
  const PetscReal   *y;
  PetscReal          lambda, tol = m * PETSC_MACHINE_EPSILON, w2 = 0;
  const PetscScalar *u0;
  PetscScalar       *u;
  PetscBool          solved;
  PetscLogDouble     t0, t1;
  Vec                V;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_Ridge, U, 0, 0, 0));
  PetscCall(PetscTime(&t0));
  PetscCall(PgfModelGetRidge(model, &y, &lambda));
  PetscCall(PgfDenseCreate(cv->grid, m, 1, &b));
  PetscCall(VecGetArrayRead(U, &u0));
  PetscCall(Gram(cv, u0, y, &G, wloc));
  PetscCall(PgfDenseScatter(b, cv->rstart, cv->mloc, 0, 1, wloc, PetscMax(1, cv->mloc)));
  PetscCall(PgfDenseCholeskySolve(G, b, tol, &r->rcond, &solved));
  r->rank = 0;
  if (!solved) { /* the factorization overwrote G: assemble it again (rare) */
    PetscCall(PgfDenseDestroy(&G));
    PetscCall(Gram(cv, u0, y, &G, wloc));
    PetscCall(PgfDensePseudoSolve(G, b, tol, &r->rank));
  }
  PetscCall(VecRestoreArrayRead(U, &u0));
  PetscCall(PgfDenseGather(b, cv->rstart, cv->mloc, 0, 1, wloc, PetscMax(1, cv->mloc)));
  PetscCall(PgfDenseDestroy(&b));
  PetscCall(PgfDenseDestroy(&G));

  /* the objective at the new weights */
  PetscCall(VecDuplicate(U, &V));
  PetscCall(VecCopy(U, V));
  PetscCall(VecGetArray(V, &u));
  for (PetscInt i = 0; i < cv->mloc; i++) {
    u[i * dof] = wloc[i];
    w2 += wloc[i] * wloc[i];
  }
  PetscCall(VecRestoreArray(V, &u));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &w2, 1, MPIU_REAL, MPI_SUM, cv->comm));
  PetscCall(PgfModelRisk(model, V, &r->risk));
  PetscCall(VecDestroy(&V));
  r->loss = r->risk + cv->lambda / (2 * m) * w2;
  PetscCall(PetscTime(&t1));
  r->seconds = t1 - t0;
  PetscCall(PetscLogEventEnd(PGF_Ridge, U, 0, 0, 0));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteScalar(PgfOutput out, const char path[], PetscReal value)
{
  PetscInt one = 1;

  PetscFunctionBegin;
  PetscCall(PgfOutputWriteRootArray(out, path, 1, &one, &value));
  PetscFunctionReturn(0);
}

/* -baseline rf: the best weights on the initial positions, to /baseline. */
PetscErrorCode PgfConvexBaseline(PgfConvex cv, PgfOutput out)
{
  PgfModel   model = cv->model;
  Vec        U0;
  PetscReal *w, *theta;
  Ridge      r;

  PetscFunctionBegin;
  if (!cv->baseline) PetscFunctionReturn(0);
  PetscCall(PgfModelCreateVec(model, &U0));
  PetscCall(PgfModelInitialize(model, U0));
  PetscCall(PetscMalloc2(PetscMax(1, cv->mloc), &w, PetscMax(1, cv->mloc * cv->npos), &theta));
  PetscCall(SolveRidge(cv, U0, w, &r));
  PetscCall(PgfModelGetPositions(model, U0, theta));
  PetscCall(PgfOutputWriteParticles(out, "/baseline/w", cv->m, cv->rstart, cv->mloc, 0, w));
  PetscCall(PgfOutputWriteParticles(out, "/baseline/theta", cv->m, cv->rstart, cv->mloc, cv->npos, theta));
  PetscCall(WriteScalar(out, "/baseline/loss", r.loss));
  PetscCall(WriteScalar(out, "/baseline/risk", r.risk));
  PetscCall(WriteScalar(out, "/baseline/lambda", cv->lambda));
  PetscCall(WriteScalar(out, "/baseline/rcond", r.rcond));
  PetscCall(WriteScalar(out, "/baseline/rank", (PetscReal)(r.rank ? r.rank : cv->m)));
  PetscCall(WriteScalar(out, "/baseline/seconds", r.seconds));
  if (r.rank) PetscCall(PetscPrintf(cv->comm, "baseline rf: the Gram matrix is singular (lambda = 0, reciprocal condition %.1e): minimum-norm least-squares weights instead, rank %" PetscInt_FMT " of %" PetscInt_FMT "\n", (double)r.rcond, r.rank, cv->m));
  PetscCall(PetscPrintf(cv->comm, "baseline rf: loss %.6e on the initial positions (%s), %.3g s\n", (double)r.loss, r.rank ? "least squares" : "Cholesky", (double)r.seconds));
  PetscCall(PetscFree2(w, theta));
  PetscCall(VecDestroy(&U0));
  PetscFunctionReturn(0);
}

/* -refit: the best loss on the current positions, /snapshots/refit_loss. */
PetscErrorCode PgfConvexSnapshot(PgfConvex cv, Vec U, PgfOutput out)
{
  PetscReal *w;
  Ridge      r;

  PetscFunctionBegin;
  if (!cv->refit) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(PetscMax(1, cv->mloc), &w));
  PetscCall(SolveRidge(cv, U, w, &r));
  PetscCall(PgfOutputSetSnapshotValue(out, "refit_loss", r.loss));
  PetscCall(PetscFree(w));
  PetscFunctionReturn(0);
}

/* Eigenvalues of C (destroyed), largest first, to path. */
static PetscErrorCode WriteSpectrum(PgfConvex cv, PgfDense C, PetscInt N, PgfOutput out, const char path[])
{
  PetscReal *eig;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(N, &eig));
  PetscCall(PgfDenseEigen(C, eig, NULL));
  for (PetscInt k = 0; k < N / 2; k++) {
    PetscReal e = eig[k];

    eig[k]         = eig[N - 1 - k];
    eig[N - 1 - k] = e;
  }
  PetscCall(PgfOutputWriteRootArray(out, path, 1, &N, eig));
  PetscCall(PetscPrintf(cv->comm, "spectrum %s: %" PetscInt_FMT " eigenvalues, largest %.6e, smallest %.6e\n", path, N, (double)eig[0], (double)eig[N - 1]));
  PetscCall(PetscFree(eig));
  PetscFunctionReturn(0);
}

/* -spectrum at the final state: /final/spectrum_gn and, for n up to
   -spectrum_ntk_max, /final/spectrum_ntk. */
PetscErrorCode PgfConvexFinal(PgfConvex cv, Vec U, PgfOutput out)
{
  PgfModel           model = cv->model;
  PetscInt           N = cv->m * cv->dof, n = cv->N, ncols = cv->mloc * cv->dof;
  const PetscScalar *u;
  PgfDense           C, J;
  PetscReal         *Jloc;

  PetscFunctionBegin;
  if (!cv->spectrum) PetscFunctionReturn(0);
  PetscCall(PetscPrintf(cv->comm, "spectrum: eigenvalues of the Gauss-Newton matrix (%" PetscInt_FMT " x %" PetscInt_FMT ")%s\n", N, N, n <= cv->ntk_max ? " and of the tangent kernel" : ""));
  PetscCall(PetscLogEventBegin(PGF_Spectrum, U, 0, 0, 0));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(PgfDenseCreate(cv->grid, N, N, &C));
  PetscCall(NormalMatrix(cv, u, cv->dof, NULL, C, NULL));
  PetscCall(WriteSpectrum(cv, C, N, out, "/final/spectrum_gn"));
  PetscCall(PgfDenseDestroy(&C));
  if (n <= cv->ntk_max) {
    PetscCall(PgfDenseCreate(cv->grid, n, N, &J));
    PetscCall(PetscMalloc1(PetscMax(1, n * ncols), &Jloc));
    PetscCall(PgfModelHJacobian(model, u, 0, n, cv->dof, Jloc));
    PetscCall(PgfDenseScatter(J, 0, n, cv->rstart * cv->dof, ncols, Jloc, n));
    PetscCall(PetscFree(Jloc));
    PetscCall(PgfDenseCreate(cv->grid, n, n, &C));
    PetscCall(PgfDenseSyrk(J, PETSC_FALSE, N, 1.0 / n, C));
    PetscCall(PgfDenseDestroy(&J));
    PetscCall(WriteSpectrum(cv, C, n, out, "/final/spectrum_ntk"));
    PetscCall(PgfDenseDestroy(&C));
  } else PetscCall(PetscPrintf(cv->comm, "spectrum: no tangent kernel for n = %" PetscInt_FMT " > -spectrum_ntk_max %" PetscInt_FMT "\n", n, cv->ntk_max));
  PetscCall(VecRestoreArrayRead(U, &u));
  PetscCall(PetscLogEventEnd(PGF_Spectrum, U, 0, 0, 0));
  PetscFunctionReturn(0);
}
