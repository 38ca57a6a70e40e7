/* Benchmarks of the right-hand side (issue 7): time per evaluation and its
   rate next to DGEMM timed in the same process at the matching shape (the
   forward product, n x p times p x local m), and the BLAS kernel in use.
   Two-layer relu: 4 n m p flops per evaluation. Deconvolution: m K
   coefficient-particle products per evaluation.
   Usage: mpiexec -n P bin/pgfbench [-json FILE] [-reps R] */
#include "../src/pgfimpl.h"

static const char help[] = "Benchmarks the right-hand side against DGEMM.\n";

/* Seconds per call of the model's right-hand side: the best of reps. */
static PetscErrorCode TimeRHS(PgfModel model, PetscInt reps, PetscReal *best)
{
  Vec            U, V;
  PetscReal      F;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCall(PgfModelCreateVec(model, &U));
  PetscCall(VecDuplicate(U, &V));
  PetscCall(PgfModelInitialize(model, U));
  PetscCall(PgfModelEvaluate(model, U, V, &F)); /* warm up */
  *best = PETSC_MAX_REAL;
  for (PetscInt r = 0; r < reps; r++) {
    PetscCallMPI(MPI_Barrier(model->comm));
    PetscCall(PetscTime(&t0));
    PetscCall(PgfModelEvaluate(model, U, V, &F));
    PetscCall(PetscTime(&t1));
    *best = PetscMin(*best, (PetscReal)(t1 - t0));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, best, 1, MPIU_REAL, MPI_MAX, model->comm));
  PetscCall(VecDestroy(&V));
  PetscCall(VecDestroy(&U));
  PetscFunctionReturn(0);
}

/* Aggregate DGEMM GFLOP/s over the ranks, each multiplying n x p by p x mloc. */
static PetscErrorCode TimeGemm(MPI_Comm comm, PetscInt n, PetscInt p, PetscInt mloc, PetscInt reps, PetscReal *gflops)
{
  PetscReal     *A, *B, *C, best = PETSC_MAX_REAL;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCall(PetscMalloc3(n * p, &A, p * mloc, &B, n * mloc, &C));
  for (PetscInt k = 0; k < n * p; k++) A[k] = PgfRandNormal(1, PGF_STREAM_INPUTS, k, 0);
  for (PetscInt k = 0; k < p * mloc; k++) B[k] = PgfRandNormal(2, PGF_STREAM_INPUTS, k, 0);
  PetscCall(PgfGemm("N", "N", n, mloc, p, 1.0, A, n, B, p, 0.0, C, n));
  for (PetscInt r = 0; r < reps; r++) {
    PetscCallMPI(MPI_Barrier(comm));
    PetscCall(PetscTime(&t0));
    PetscCall(PgfGemm("N", "N", n, mloc, p, 1.0, A, n, B, p, 0.0, C, n));
    PetscCall(PetscTime(&t1));
    best = PetscMin(best, (PetscReal)(t1 - t0));
  }
  *gflops = 2.0 * n * p * mloc / best * 1e-9;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, gflops, 1, MPIU_REAL, MPI_SUM, comm));
  PetscCall(PetscFree3(A, B, C));
  PetscFunctionReturn(0);
}

static PetscErrorCode MakeModel(const char problem[], const char options[], PgfModel *model)
{
  PetscFunctionBegin;
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscOptionsInsertString(NULL, options));
  PetscCall(PgfModelCreate(PETSC_COMM_WORLD, problem, model));
  PetscCall(PgfModelSetFromOptions(*model));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt sizes[][3] = {
      {8192, 1024, 100},
      {16384, 4096, 100},
      {4096, 16384, 20}};
  char        json[PETSC_MAX_PATH_LEN] = "", opts[256];
  PetscInt    reps                     = 3;
  PetscMPIInt size, rank;
  const char *core;
  FILE       *fp = NULL;
  PgfModel    model;

  PetscCall(PgfInitialize(&argc, &argv, help));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-json", json, sizeof(json), NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PgfBlasCoreName(&core));
  if (!rank && json[0]) {
    fp = fopen(json, "w");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-json %s: cannot create this file", json);
    fprintf(fp, "{\"ranks\": %d, \"blas_kernel\": \"%s\", \"runs\": [\n", size, core);
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "pgfbench on %d rank%s, BLAS kernel %s, best of %" PetscInt_FMT "\n", size, size > 1 ? "s" : "", core, reps));
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    PetscInt  n = sizes[s][0], m = sizes[s][1], d = sizes[s][2], p = d + 1, mloc;
    PetscReal t, gemm, rate;

    PetscCall(PetscSNPrintf(opts, sizeof(opts), "-activation relu -dim %" PetscInt_FMT " -samples %" PetscInt_FMT " -particles %" PetscInt_FMT, d, n, m));
    PetscCall(MakeModel("twolayer", opts, &model));
    PetscCall(TimeRHS(model, reps, &t));
    PetscCall(PgfModelGetOwnership(model, NULL, &mloc));
    PetscCall(PgfModelDestroy(&model));
    PetscCall(TimeGemm(PETSC_COMM_WORLD, n, p, mloc, reps, &gemm));
    rate = 4.0 * n * m * p / t * 1e-9;
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "twolayer relu n %6" PetscInt_FMT " m %6" PetscInt_FMT " d %4" PetscInt_FMT ": %.4e s per rhs, %6.1f GFLOP/s, DGEMM %6.1f GFLOP/s, ratio %.2f\n", n, m, d, (double)t, (double)rate, (double)gemm, (double)(rate / gemm)));
    if (fp) fprintf(fp, "  {\"problem\": \"twolayer\", \"n\": %d, \"m\": %d, \"d\": %d, \"seconds_per_rhs\": %.6e, \"gflops\": %.3f, \"dgemm_gflops\": %.3f, \"ratio\": %.4f},\n", (int)n, (int)m, (int)d, (double)t, (double)rate, (double)gemm, (double)(rate / gemm));
  }
  for (PetscInt q = 1; q <= 2; q++) {
    PetscInt  m = 10000, fc = 20, K = q == 1 ? 2 * fc + 1 : (2 * fc + 1) * (2 * fc + 1);
    PetscReal t;

    PetscCall(PetscSNPrintf(opts, sizeof(opts), "-torus_dim %" PetscInt_FMT " -cutoff %" PetscInt_FMT " -particles %" PetscInt_FMT " -min_separation 0.05", q, fc, m));
    PetscCall(MakeModel("deconv", opts, &model));
    PetscCall(TimeRHS(model, reps, &t));
    PetscCall(PgfModelDestroy(&model));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "deconv torus_dim %" PetscInt_FMT " m %" PetscInt_FMT " fc %" PetscInt_FMT ": %.4e s per rhs, %.3e coefficient-particle products per second\n", q, m, fc, (double)t, (double)(m * K / t)));
    if (fp) fprintf(fp, "  {\"problem\": \"deconv\", \"torus_dim\": %d, \"m\": %d, \"fc\": %d, \"seconds_per_rhs\": %.6e, \"products_per_second\": %.4e}%s\n", (int)q, (int)m, (int)fc, (double)t, (double)(m * K / t), q == 2 ? "" : ",");
  }
  if (fp) {
    fprintf(fp, "]}\n");
    fclose(fp);
  }
  PetscCall(PetscFinalize());
  return 0;
}
