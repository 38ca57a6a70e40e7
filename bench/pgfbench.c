/* Benchmarks of the right-hand side (issue 7): time per evaluation and its
   rate next to DGEMM timed in the same process at the matching shape (the
   forward product, n x p times p x local m), the BLAS kernel in use and the
   resident memory with each case's model in place (largest over the ranks). Two-layer
   relu: 4 n m p flops per evaluation. Deconvolution: m K
   coefficient-particle products per evaluation. On several ranks, also
   MPI_Allreduce's latency and bandwidth, and from them and the measured
   rate the predicted parallel efficiency of the E7 sizes at 64, 256 and
   1024 ranks (README, Performance).
   Usage: mpiexec -n P bin/pgfbench [-json FILE] [-reps R] */
#include "../src/pgfimpl.h"
#include <malloc.h>
#include <stdio.h>

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

/* Memory per rank in MiB, the largest over the ranks, with a model in
   place right after its timing: the peak resident set of the process so far
   (VmHWM; the cases run in increasing order of size, so it is this case's
   peak) and the heap this process has allocated now (mallinfo2, exact per
   case). */
static PetscErrorCode Memory(MPI_Comm comm, PetscReal mib[2])
{
  FILE            *f = fopen("/proc/self/status", "r");
  char             line[256];
  long             kb = 0;
  struct mallinfo2 mi = mallinfo2();

  PetscFunctionBegin;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  mib[0] = kb / 1024.0;
  mib[1] = (PetscReal)(mi.uordblks + mi.hblkhd) / (1 << 20);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mib, 2, MPIU_REAL, MPI_MAX, comm));
  PetscFunctionReturn(0);
}

/* MPI_Allreduce of doubles, best of reps, over message sizes from 8 B to
   8 MiB; least squares t = a + b bytes. With the reduce-scatter + allgather
   algorithm, t(P) = 2 log2(P) alpha + 2 (P - 1)/P bytes beta, so the fit
   on P ranks gives alpha and beta. */
static PetscErrorCode AllreduceModel(MPI_Comm comm, PetscInt reps, PetscReal *alpha, PetscReal *beta)
{
  PetscMPIInt    size;
  PetscReal     *buf, sx = 0, sy = 0, sxx = 0, sxy = 0, b;
  PetscInt       npts = 0;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscCalloc1(1 << 20, &buf));
  PetscCall(PetscPrintf(comm, "MPI_Allreduce on %d ranks:", size));
  for (PetscInt len = 1; len <= (1 << 20); len *= 8) {
    PetscReal best = PETSC_MAX_REAL, bytes = 8.0 * len;

    for (PetscInt r = 0; r < 10 * reps; r++) {
      PetscCallMPI(MPI_Barrier(comm));
      PetscCall(PetscTime(&t0));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, (PetscMPIInt)len, MPIU_REAL, MPI_SUM, comm));
      PetscCall(PetscTime(&t1));
      best = PetscMin(best, (PetscReal)(t1 - t0));
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &best, 1, MPIU_REAL, MPI_MAX, comm));
    PetscCall(PetscPrintf(comm, " %.0f B %.2e s;", (double)bytes, (double)best));
    sx += bytes;
    sy += best;
    sxx += bytes * bytes;
    sxy += bytes * best;
    npts++;
  }
  b      = (npts * sxy - sx * sy) / (npts * sxx - sx * sx);
  *alpha = ((sy - b * sx) / npts) / (2 * PetscLog2Real((PetscReal)size));
  *beta  = b / (2.0 * (size - 1) / size);
  PetscCall(PetscPrintf(comm, "\nlatency alpha %.2e s, inverse bandwidth beta %.2e s/B (%.2f GB/s)\n", (double)*alpha, (double)*beta, (double)(1e-9 / *beta)));
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(0);
}

static PetscErrorCode MakeModel(const char[], const char[], PgfModel *);

/* Seconds per right-hand side of the E7 setting (d = 100) with n samples
   and mloc particles on every rank, measured here. */
static PetscErrorCode TimeLocal(PetscInt n, PetscInt mloc, PetscInt reps, PetscReal *t)
{
  PgfModel    model;
  PetscMPIInt size;
  char        opts[256];

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscSNPrintf(opts, sizeof(opts), "-activation relu -dim 100 -samples %" PetscInt_FMT " -particles %" PetscInt_FMT, n, mloc * size));
  PetscCall(MakeModel("twolayer", opts, &model));
  PetscCall(TimeRHS(model, reps, t));
  PetscCall(PgfModelDestroy(&model));
  PetscFunctionReturn(0);
}

/* The predicted efficiency of E7 (n = 20000, d = 100; strong m = 20000,
   weak 1000 particles per rank) at 64, 256 and 1024 ranks: the right-hand
   side with the local sizes of that many ranks, timed here, plus the
   modelled communication; against the time of 20000 particles at the
   per-rank rate of a large local block (rate, GFLOP/s). 1-D: one Allreduce
   of n + 1 values over P ranks. 2-D with G = P/64 sample groups (64
   particle groups): the local block is n/G samples by m/64 particles; an
   Allreduce of n/G + 1 values over 64 ranks, an Allgather of the group's
   particles and a Reduce_scatter of their velocities over G ranks, each
   modelled as log2(G) alpha + (G - 1)/G bytes beta. */
static PetscErrorCode CommunicationModel(MPI_Comm comm, PetscInt reps, PetscReal rate, FILE *fp)
{
  const PetscInt n = 20000, m = 20000, dof = 102, ranks[] = {64, 256, 1024};
  PetscReal      alpha = 0, beta = 0, tweak, ideal = 4.0 * n * m * (dof - 1) / (rate * 1e9);

  PetscFunctionBegin;
  PetscCall(AllreduceModel(comm, reps, &alpha, &beta));
  PetscCall(TimeLocal(n, 1000, reps, &tweak));
  if (fp) fprintf(fp, ",\n \"allreduce\": {\"alpha_s\": %.4e, \"beta_s_per_byte\": %.4e},\n \"predicted_efficiency\": [", (double)alpha, (double)beta);
  for (size_t k = 0; k < sizeof(ranks) / sizeof(ranks[0]); k++) {
    PetscInt  P = ranks[k], G = P / 64, mloc = (m + P - 1) / P, mgroup = (m + 63) / 64, ng = (n + G - 1) / G;
    PetscReal tar = 2 * PetscLog2Real(P) * alpha + 2.0 * (P - 1) / P * 8.0 * (n + 1) * beta, t1d, t2d, c2d = 0;

    PetscCall(TimeLocal(n, mloc, reps, &t1d));
    t1d += tar;
    if (G > 1) {
      PetscCall(TimeLocal(ng, mgroup, reps, &t2d));
      c2d = 2 * PetscLog2Real(64) * alpha + 2.0 * 63 / 64 * 8.0 * (ng + 1) * beta + 2 * (PetscLog2Real(G) * alpha + (G - 1.0) / G * 8.0 * mgroup * dof * beta);
      t2d += c2d;
    } else t2d = t1d;
    PetscCall(PetscPrintf(comm, "predicted at %4d ranks: 1-D Allreduce %.2e s; strong (%d particles per rank) %.2e s per rhs, efficiency %.2f; 2-D with %d sample groups (%d samples x %d particles per rank) %.2e s, efficiency %.2f; weak (1000 per rank) efficiency %.3f\n", (int)P, (double)tar, (int)mloc, (double)t1d, (double)(ideal / P / t1d), (int)G, (int)ng, (int)mgroup, (double)t2d, (double)(ideal / P / t2d), (double)(tweak / (tweak + tar))));
    if (fp) fprintf(fp, "%s{\"ranks\": %d, \"allreduce_s\": %.4e, \"strong_s_per_rhs\": %.4e, \"strong\": %.4f, \"sample_groups\": %d, \"strong_2d_s_per_rhs\": %.4e, \"strong_2d\": %.4f, \"weak\": %.4f}", k ? ", " : "", (int)P, (double)tar, (double)t1d, (double)(ideal / P / t1d), (int)G, (double)t2d, (double)(ideal / P / t2d), (double)(tweak / (tweak + tar)));
  }
  if (fp) fprintf(fp, "]");
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
  /* n, m, d, -memory_limit in MiB (0: the default) */
  const PetscInt sizes[][4] = {
      {8192, 1024, 100, 0},
      {16384, 4096, 100, 64},
      {4096, 16384, 20, 0},
      {16384, 4096, 100, 0}};
  char        json[PETSC_MAX_PATH_LEN] = "", opts[256];
  PetscInt    reps                     = 3;
  PetscReal   rate1                    = 0; /* GFLOP/s per rank of the largest relu case */
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
    PetscInt  n = sizes[s][0], m = sizes[s][1], d = sizes[s][2], limit = sizes[s][3], p = d + 1, mloc;
    PetscReal t, gemm, rate, mib[2];
    char      lim[64] = "";

    if (limit) PetscCall(PetscSNPrintf(lim, sizeof(lim), " -memory_limit %" PetscInt_FMT "M", limit));
    PetscCall(PetscSNPrintf(opts, sizeof(opts), "-activation relu -dim %" PetscInt_FMT " -samples %" PetscInt_FMT " -particles %" PetscInt_FMT "%s", d, n, m, lim));
    PetscCall(MakeModel("twolayer", opts, &model));
    PetscCall(TimeRHS(model, reps, &t));
    PetscCall(Memory(PETSC_COMM_WORLD, mib));
    PetscCall(PgfModelGetOwnership(model, NULL, &mloc));
    PetscCall(PgfModelDestroy(&model));
    PetscCall(TimeGemm(PETSC_COMM_WORLD, n, p, mloc, reps, &gemm));
    rate = 4.0 * n * m * p / t * 1e-9;
    if (!limit) rate1 = PetscMax(rate1, rate / size);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "twolayer relu n %6" PetscInt_FMT " m %6" PetscInt_FMT " d %4" PetscInt_FMT "%s: %.4e s per rhs, %6.1f GFLOP/s, DGEMM %6.1f GFLOP/s, ratio %.2f, memory per rank: peak resident %.0f MiB, allocated %.0f MiB\n", n, m, d, lim, (double)t, (double)rate, (double)gemm, (double)(rate / gemm), (double)mib[0], (double)mib[1]));
    if (fp) fprintf(fp, "  {\"problem\": \"twolayer\", \"n\": %d, \"m\": %d, \"d\": %d, \"memory_limit_mib\": %d, \"seconds_per_rhs\": %.6e, \"gflops\": %.3f, \"dgemm_gflops\": %.3f, \"ratio\": %.4f, \"peak_resident_mib\": %.1f, \"allocated_mib\": %.1f},\n", (int)n, (int)m, (int)d, (int)limit, (double)t, (double)rate, (double)gemm, (double)(rate / gemm), (double)mib[0], (double)mib[1]);
  }
  /* The population loss (population.c): m (m + m0) kernel pairs, two
     products of 2 mloc (m + m0) p flops each on every rank, against DGEMM
     of the inner products' shape (local m x p times p x m). */
  for (PetscInt a = 0; a < 2; a++) {
    const char *act = a ? "erf" : "relu";
    PetscInt    m = 4096, d = 100, m0 = 10, mloc;
    PetscReal   t, gemm, rate;

    PetscCall(PetscSNPrintf(opts, sizeof(opts), "-population true -bias false -activation %s -dim %" PetscInt_FMT " -particles %" PetscInt_FMT " -teacher_neurons %" PetscInt_FMT, act, d, m, m0));
    PetscCall(MakeModel("twolayer", opts, &model));
    PetscCall(TimeRHS(model, reps, &t));
    PetscCall(PgfModelGetOwnership(model, NULL, &mloc));
    PetscCall(PgfModelDestroy(&model));
    PetscCall(TimeGemm(PETSC_COMM_WORLD, m, d, mloc, reps, &gemm));
    rate = 4.0 * m * (m + m0) * d / t * 1e-9;
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "population %-4s m %6" PetscInt_FMT " d %4" PetscInt_FMT ": %.4e s per rhs, %6.1f GFLOP/s, DGEMM %6.1f GFLOP/s, ratio %.2f\n", act, m, d, (double)t, (double)rate, (double)gemm, (double)(rate / gemm)));
    if (fp) fprintf(fp, "  {\"problem\": \"population\", \"activation\": \"%s\", \"m\": %d, \"d\": %d, \"seconds_per_rhs\": %.6e, \"gflops\": %.3f, \"dgemm_gflops\": %.3f, \"ratio\": %.4f},\n", act, (int)m, (int)d, (double)t, (double)rate, (double)gemm, (double)(rate / gemm));
  }
  for (PetscInt q = 1; q <= 2; q++) {
    PetscInt  m = 10000, fc = 20, K = q == 1 ? 2 * fc + 1 : (2 * fc + 1) * (2 * fc + 1);
    PetscReal t, mib[2];

    PetscCall(PetscSNPrintf(opts, sizeof(opts), "-torus_dim %" PetscInt_FMT " -cutoff %" PetscInt_FMT " -particles %" PetscInt_FMT " -min_separation 0.05", q, fc, m));
    PetscCall(MakeModel("deconv", opts, &model));
    PetscCall(TimeRHS(model, reps, &t));
    PetscCall(Memory(PETSC_COMM_WORLD, mib));
    PetscCall(PgfModelDestroy(&model));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "deconv torus_dim %" PetscInt_FMT " m %" PetscInt_FMT " fc %" PetscInt_FMT ": %.4e s per rhs, %.3e coefficient-particle products per second, allocated %.0f MiB per rank\n", q, m, fc, (double)t, (double)(m * K / t), (double)mib[1]));
    if (fp) fprintf(fp, "  {\"problem\": \"deconv\", \"torus_dim\": %d, \"m\": %d, \"fc\": %d, \"seconds_per_rhs\": %.6e, \"products_per_second\": %.4e, \"allocated_mib\": %.1f}%s\n", (int)q, (int)m, (int)fc, (double)t, (double)(m * K / t), (double)mib[1], q == 2 ? "" : ",");
  }
  if (fp) fprintf(fp, "]");
  if (size > 1) PetscCall(CommunicationModel(PETSC_COMM_WORLD, reps, rate1, fp));
  if (fp) {
    fprintf(fp, "}\n");
    fclose(fp);
  }
  PetscCall(PetscFinalize());
  return 0;
}
