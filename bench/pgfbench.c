/* Benchmarks of the right-hand side (issue 7): time per evaluation and its
   rate next to DGEMM timed in the same process at the matching shape (the
   forward product, n x p times p x local m, in panels of at most 2^26
   values of C when m >> n), timed alternately with it, the BLAS kernel in
   use, the resident memory with each case's model in place and the set-up
   (the problem's data and workspace, and the initial particles) in seconds
   and in right-hand sides (largest over the ranks). Two-layer
   relu, sigmoid, tanh, erf: 4 n m p flops per evaluation (the products). Deconvolution: m K
   coefficient-particle products per evaluation. On several ranks, also
   MPI_Allreduce's latency and bandwidth, and from them and the measured
   rate the predicted parallel efficiency of the E7 sizes at 64, 256 and
   1024 ranks (README, Performance). The two-layer ratios are also given
   in CPU time, which time-sharing of the cores does not inflate.
   Usage: mpiexec -n P bin/pgfbench [-json FILE] [-reps R] [-allreduce]
   [-activations relu,sigmoid,tanh,erf] (the two-layer rows to run: all;
   -allreduce: only MPI_Allreduce, for jobs/scaling.sbatch across nodes) */
#include "../src/pgfimpl.h"
#include <malloc.h>
#include <stdio.h>
#include <time.h>

static const char help[] = "Benchmarks the right-hand side against DGEMM.\n";

/* CPU time of the calling thread: unlike wall time, not inflated while
   other processes hold the core (shared machines). */
static PetscReal CpuTime(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Best wall and CPU times of the calls timed so far (largest over the
   ranks once reduced). */
typedef struct {
  PetscReal wall, cpu;
} Best;

/* The model's initial state U, a velocity V, and one evaluation to warm up;
   with init, the seconds the initial particles took (largest over the
   ranks). */
static PetscErrorCode RHSSetUp(PgfModel model, Vec *U, Vec *V, PetscReal *init)
{
  PetscReal      F;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCall(PgfModelCreateVec(model, U));
  PetscCall(VecDuplicate(*U, V));
  PetscCall(PetscTime(&t0));
  PetscCall(PgfModelInitialize(model, *U));
  PetscCall(PetscTime(&t1));
  if (init) {
    *init = (PetscReal)(t1 - t0);
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, init, 1, MPIU_REAL, MPI_MAX, PetscObjectComm((PetscObject)*U)));
  }
  PetscCall(PgfModelEvaluate(model, *U, *V, &F));
  PetscFunctionReturn(0);
}

/* Times one call of the model's right-hand side into best. */
static PetscErrorCode TimeRHSOnce(PgfModel model, Vec U, Vec V, Best *best)
{
  PetscReal      F, c0;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Barrier(PetscObjectComm((PetscObject)U)));
  PetscCall(PetscTime(&t0));
  c0 = CpuTime();
  PetscCall(PgfModelEvaluate(model, U, V, &F));
  best->cpu = PetscMin(best->cpu, CpuTime() - c0);
  PetscCall(PetscTime(&t1));
  best->wall = PetscMin(best->wall, (PetscReal)(t1 - t0));
  PetscFunctionReturn(0);
}

/* Columns of C per DGEMM: C = A B (n x p times p x mloc) is computed in
   panels of at most 2^26 values (512 MiB), the same shape's rate without
   an n x mloc array when m >> n. */
static PetscInt PanelColumns(PetscInt n, PetscInt mloc)
{
  return PetscMax(1, PetscMin(mloc, ((PetscInt)1 << 26) / n));
}

/* Times one DGEMM C = A B (n x p times p x mloc, in panels) into best. */
static PetscErrorCode TimeGemmOnce(MPI_Comm comm, PetscInt n, PetscInt p, PetscInt mloc, const PetscReal *A, const PetscReal *B, PetscReal *C, Best *best)
{
  PetscReal      c0;
  PetscLogDouble t0, t1;
  PetscInt       cols = PanelColumns(n, mloc);

  PetscFunctionBegin;
  PetscCallMPI(MPI_Barrier(comm));
  PetscCall(PetscTime(&t0));
  c0 = CpuTime();
  for (PetscInt c = 0; c < mloc; c += cols) PetscCall(PgfGemm("N", "N", n, PetscMin(cols, mloc - c), p, 1.0, A, n, &B[c * p], p, 0.0, C, n));
  best->cpu = PetscMin(best->cpu, CpuTime() - c0);
  PetscCall(PetscTime(&t1));
  best->wall = PetscMin(best->wall, (PetscReal)(t1 - t0));
  PetscFunctionReturn(0);
}

/* A barrier at which the ranks sleep instead of polling, so that a rank
   working alone meanwhile has the machine to itself, as in a 1-rank run. */
static PetscErrorCode IdleBarrier(MPI_Comm comm)
{
  MPI_Request     req;
  int             done = 0;
  struct timespec ms   = {0, 1000000};

  PetscFunctionBegin;
  PetscCallMPI(MPI_Ibarrier(comm, &req));
  while (!done) {
    PetscCallMPI(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
    if (!done) nanosleep(&ms, NULL);
  }
  PetscFunctionReturn(0);
}

/* Seconds per call of the model's right-hand side (rhs, if model is not
   NULL), the aggregate DGEMM GFLOP/s over the ranks, each rank multiplying
   n x p by p x mloc (gemm), and with a model on several ranks, seconds per
   call of the same problem on rank 0 alone (alone, given on rank 0 only)
   and the GFLOP/s of the same DGEMM there (alone1): the best of reps, in
   wall time and in CPU time (which time-sharing of the cores does not
   inflate), largest over the ranks. The calls alternate, so that a slow
   spell of a shared machine weighs on both sides of a ratio alike. */
static PetscErrorCode TimeRHSAndGemm(MPI_Comm comm, PgfModel model, PgfModel alone, PetscInt n, PetscInt p, PetscInt mloc, PetscInt reps, PetscReal rhs[2], PetscReal gemm[2], PetscReal alone1[2])
{
  Vec         U = NULL, V = NULL, U1 = NULL, V1 = NULL;
  PetscReal  *A, *B, *C, times[4];
  Best        brhs = {PETSC_MAX_REAL, PETSC_MAX_REAL}, bgemm = {PETSC_MAX_REAL, PETSC_MAX_REAL}, b1 = {PETSC_MAX_REAL, PETSC_MAX_REAL}, bg1 = {PETSC_MAX_REAL, PETSC_MAX_REAL};
  PetscMPIInt size;
  PetscBool   serial; /* rank 0 also runs alone while the others wait */

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  serial = (PetscBool)(model && size > 1);
  if (model) PetscCall(RHSSetUp(model, &U, &V, NULL));
  if (alone) PetscCall(RHSSetUp(alone, &U1, &V1, NULL));
  PetscCall(PetscMalloc3(n * p, &A, p * mloc, &B, n * PanelColumns(n, mloc), &C));
  for (PetscInt k = 0; k < n * p; k++) A[k] = PgfRandNormal(1, PGF_STREAM_INPUTS, k, 0);
  for (PetscInt k = 0; k < p * mloc; k++) B[k] = PgfRandNormal(2, PGF_STREAM_INPUTS, k, 0);
  PetscCall(PgfGemm("N", "N", n, PanelColumns(n, mloc), p, 1.0, A, n, B, p, 0.0, C, n)); /* warm up */
  for (PetscInt r = 0; r < reps; r++) {
    if (model) PetscCall(TimeRHSOnce(model, U, V, &brhs));
    PetscCall(TimeGemmOnce(comm, n, p, mloc, A, B, C, &bgemm));
    if (alone) PetscCall(TimeRHSOnce(alone, U1, V1, &b1));
    if (alone) PetscCall(TimeGemmOnce(PETSC_COMM_SELF, n, p, mloc, A, B, C, &bg1));
    if (serial) PetscCall(IdleBarrier(comm)); /* the other ranks wait for rank 0, idle */
  }
  PetscCall(PetscFree3(A, B, C));
  PetscCall(VecDestroy(&V));
  PetscCall(VecDestroy(&U));
  PetscCall(VecDestroy(&V1));
  PetscCall(VecDestroy(&U1));
  times[0] = brhs.wall;
  times[1] = brhs.cpu;
  times[2] = alone ? b1.wall : 0;
  times[3] = alone ? 2.0 * n * p * mloc / bg1.wall * 1e-9 : 0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, times, 4, MPIU_REAL, MPI_MAX, comm));
  if (rhs) rhs[0] = times[0], rhs[1] = times[1];
  if (alone1) alone1[0] = times[2], alone1[1] = times[3];
  gemm[0] = 2.0 * n * p * mloc / bgemm.wall * 1e-9;
  gemm[1] = 2.0 * n * p * mloc / bgemm.cpu * 1e-9;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, gemm, 2, MPIU_REAL, MPI_SUM, comm));
  PetscFunctionReturn(0);
}

/* Seconds per call of the model's right-hand side: the best of reps, in
   wall time and in CPU time, largest over the ranks; with init, the
   seconds of the initial particles. */
static PetscErrorCode TimeRHS(PgfModel model, PetscInt reps, PetscReal *best, PetscReal *cpu, PetscReal *init)
{
  Vec       U, V;
  PetscReal times[2];
  Best      b = {PETSC_MAX_REAL, PETSC_MAX_REAL};

  PetscFunctionBegin;
  PetscCall(RHSSetUp(model, &U, &V, init));
  for (PetscInt r = 0; r < reps; r++) PetscCall(TimeRHSOnce(model, U, V, &b));
  times[0] = b.wall;
  times[1] = b.cpu;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, times, 2, MPIU_REAL, MPI_MAX, PetscObjectComm((PetscObject)U)));
  *best = times[0];
  if (cpu) *cpu = times[1];
  PetscCall(VecDestroy(&V));
  PetscCall(VecDestroy(&U));
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
   2 MiB; least squares t = a + b bytes in relative error (weights 1/t^2:
   unweighted, the 2 MiB time decides a alone, which came out negative
   over TCP). With the reduce-scatter + allgather
   algorithm, t(P) = 2 log2(P) alpha + 2 (P - 1)/P bytes beta, so the fit
   on P ranks gives alpha and beta. With fp, the times go there as
   "allreduce_times": [[bytes, seconds], ...] and the fit as "allreduce". */
static PetscErrorCode AllreduceModel(MPI_Comm comm, PetscInt reps, FILE *fp, PetscReal *alpha, PetscReal *beta)
{
  PetscMPIInt    size;
  PetscReal     *buf, sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, b;
  PetscInt       npts = 0;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscCalloc1(1 << 20, &buf));
  PetscCall(PetscPrintf(comm, "MPI_Allreduce on %d ranks:", size));
  if (fp) fprintf(fp, ",\n \"allreduce_times\": [");
  for (PetscInt len = 1; len <= (1 << 20); len *= 8) {
    PetscReal best = PETSC_MAX_REAL, bytes = 8.0 * len;

    /* untimed: the first call may set up connections (TCP between nodes) */
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, (PetscMPIInt)len, MPIU_REAL, MPI_SUM, comm));
    for (PetscInt r = 0; r < 10 * reps; r++) {
      PetscCallMPI(MPI_Barrier(comm));
      PetscCall(PetscTime(&t0));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, (PetscMPIInt)len, MPIU_REAL, MPI_SUM, comm));
      PetscCall(PetscTime(&t1));
      best = PetscMin(best, (PetscReal)(t1 - t0));
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &best, 1, MPIU_REAL, MPI_MAX, comm));
    PetscCall(PetscPrintf(comm, " %.0f B %.2e s;", (double)bytes, (double)best));
    if (fp) fprintf(fp, "%s[%.0f, %.4e]", npts ? ", " : "", (double)bytes, (double)best);
    sw += 1 / (best * best);
    sx += bytes / (best * best);
    sy += 1 / best;
    sxx += bytes * bytes / (best * best);
    sxy += bytes / best;
    npts++;
  }
  b      = (sw * sxy - sx * sy) / (sw * sxx - sx * sx);
  *alpha = ((sy - b * sx) / sw) / (2 * PetscLog2Real((PetscReal)size));
  *beta  = b / (2.0 * (size - 1) / size);
  PetscCall(PetscPrintf(comm, "\nlatency alpha %.2e s, inverse bandwidth beta %.2e s/B (%.2f GB/s)\n", (double)*alpha, (double)*beta, (double)(1e-9 / *beta)));
  if (fp) fprintf(fp, "],\n \"allreduce\": {\"alpha_s\": %.4e, \"beta_s_per_byte\": %.4e}", (double)*alpha, (double)*beta);
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(0);
}

static PetscErrorCode MakeModel(MPI_Comm, const char[], const char[], PgfModel *);

/* -allreduce: only MPI_Allreduce's times and fit (jobs/scaling.sbatch runs
   it across nodes), with the number of nodes the ranks are on. */
static PetscErrorCode AllreduceOnly(MPI_Comm comm, PetscInt reps, const char core[], FILE *fp)
{
  MPI_Comm    node;
  PetscMPIInt size, noderank, nodes;
  PetscReal   alpha, beta;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_rank(node, &noderank));
  PetscCallMPI(MPI_Comm_free(&node));
  nodes = !noderank;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nodes, 1, MPI_INT, MPI_SUM, comm));
  PetscCall(PetscPrintf(comm, "pgfbench -allreduce on %d ranks, %d node%s\n", size, nodes, nodes > 1 ? "s" : ""));
  if (fp) fprintf(fp, "{\"ranks\": %d, \"nodes\": %d, \"blas_kernel\": \"%s\"", size, nodes, core);
  PetscCall(AllreduceModel(comm, reps, fp, &alpha, &beta));
  if (fp) fprintf(fp, "}\n");
  PetscFunctionReturn(0);
}

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
  PetscCall(MakeModel(PETSC_COMM_WORLD, "twolayer", opts, &model));
  PetscCall(TimeRHS(model, reps, t, NULL, NULL));
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
  PetscCall(AllreduceModel(comm, reps, fp, &alpha, &beta));
  PetscCall(TimeLocal(n, 1000, reps, &tweak));
  if (fp) fprintf(fp, ",\n \"predicted_efficiency\": [");
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

static PetscErrorCode MakeModel(MPI_Comm comm, const char problem[], const char options[], PgfModel *model)
{
  PetscFunctionBegin;
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscOptionsInsertString(NULL, options));
  PetscCall(PgfModelCreate(comm, problem, model));
  PetscCall(PgfModelSetFromOptions(*model));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  /* activation, n, m, d, -memory_limit in MiB (0: the default); in
     increasing order of resident set (the smooth activations store 8 bytes
     per activation; m >> n stores the signs of 4e8 and has 83 MB vectors) */
  const struct {
    const char *act;
    PetscInt    n, m, d, limit;
  } sizes[] = {
      {"relu", 8192, 1024, 100, 0},
      {"relu", 16384, 4096, 100, 64},
      {"relu", 4096, 16384, 20, 0},
      {"relu", 16384, 4096, 100, 0},
      {"sigmoid", 16384, 4096, 100, 0},
      {"tanh", 16384, 4096, 100, 0},
      {"erf", 16384, 4096, 100, 0},
      {"relu", 2000, 200000, 50, 0}};
  /* the population rows: activation and m (d = 100, m0 = 10); the last,
     the widest, has twice the columns (all m particles are columns on
     every rank) and four times the pairs */
  const struct {
    const char *act;
    PetscInt    m;
  } popsizes[] = {
      {"relu", 4096},
      {"erf", 4096},
      {"relu", 8192}};
  char        json[PETSC_MAX_PATH_LEN] = "", opts[256], *acts[4];
  PetscInt    nacts                    = 4;
  PetscInt    reps                     = 3;
  PetscReal   rate1                    = 0; /* GFLOP/s per rank of the largest relu case */
  PetscMPIInt size, rank;
  PetscBool   allreduce = PETSC_FALSE;
  const char *core;
  FILE       *fp = NULL;
  PgfModel    model;
  MPI_Comm    self; /* rank 0 alone, on several ranks */
  PetscBool   given;

  PetscCall(PgfInitialize(&argc, &argv, help));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-json", json, sizeof(json), NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-allreduce", &allreduce, NULL));
  PetscCall(PetscOptionsGetStringArray(NULL, NULL, "-activations", acts, &nacts, &given));
  if (!given) nacts = 0;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PgfBlasCoreName(&core));
  if (!rank && json[0]) {
    fp = fopen(json, "w");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-json %s: cannot create this file", json);
  }
  if (allreduce) {
    PetscCall(AllreduceOnly(PETSC_COMM_WORLD, reps, core, fp));
    if (fp) fclose(fp);
    PetscCall(PetscFinalize());
    return 0;
  }
  if (fp) fprintf(fp, "{\"ranks\": %d, \"blas_kernel\": \"%s\", \"runs\": [\n", size, core);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "pgfbench on %d rank%s, BLAS kernel %s, best of %" PetscInt_FMT "\n", size, size > 1 ? "s" : "", core, reps));
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    const char    *act = sizes[s].act;
    PetscInt       n = sizes[s].n, m = sizes[s].m, d = sizes[s].d, limit = sizes[s].limit, p = d + 1, mloc;
    PetscReal      t, tcpu, gemm, gemmcpu, gflops[2], rhs[2], rate, ratecpu, mib[2], setup, init;
    PetscLogDouble t0, t1;
    char           lim[64] = "";
    PetscBool      run     = (PetscBool)!given;

    for (PetscInt k = 0; k < nacts; k++) run = (PetscBool)(run || !strcmp(acts[k], act));
    if (!run) continue;

    if (limit) PetscCall(PetscSNPrintf(lim, sizeof(lim), " -memory_limit %" PetscInt_FMT "M", limit));
    PetscCall(PetscSNPrintf(opts, sizeof(opts), "-activation %s -dim %" PetscInt_FMT " -samples %" PetscInt_FMT " -particles %" PetscInt_FMT "%s", act, d, n, m, lim));
    PetscCall(PetscTime(&t0));
    PetscCall(MakeModel(PETSC_COMM_WORLD, "twolayer", opts, &model));
    PetscCall(PetscTime(&t1));
    setup = (PetscReal)(t1 - t0);
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &setup, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
    /* the memory figures with the model alone, before DGEMM's arrays;
       then the right-hand side and DGEMM alternately, so that a slow spell
       of a shared machine weighs on both sides of the ratio */
    PetscCall(TimeRHS(model, 1, &t, &tcpu, &init));
    setup += init;
    PetscCall(Memory(PETSC_COMM_WORLD, mib));
    PetscCall(PgfModelGetOwnership(model, NULL, &mloc));
    PetscCall(TimeRHSAndGemm(PETSC_COMM_WORLD, model, NULL, n, p, mloc, reps, rhs, gflops, NULL));
    PetscCall(PgfModelDestroy(&model));
    t       = rhs[0];
    tcpu    = rhs[1];
    gemm    = gflops[0];
    gemmcpu = gflops[1];
    rate    = 4.0 * n * m * p / t * 1e-9;
    ratecpu = 4.0 * n * m * p / tcpu * 1e-9;
    if (!limit && !strcmp(act, "relu")) rate1 = PetscMax(rate1, rate / size);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "twolayer %-7s n %6" PetscInt_FMT " m %6" PetscInt_FMT " d %4" PetscInt_FMT "%s: %.4e s per rhs, %6.1f GFLOP/s, DGEMM %6.1f GFLOP/s, ratio %.2f (in CPU time %.2f), memory per rank: peak resident %.0f MiB, allocated %.0f MiB; set-up %.3g s (%.2f right-hand sides)\n", act, n, m, d, lim, (double)t, (double)rate, (double)gemm, (double)(rate / gemm), (double)(ratecpu / gemmcpu), (double)mib[0], (double)mib[1], (double)setup, (double)(setup / t)));
    if (fp) fprintf(fp, "  {\"problem\": \"twolayer\", \"activation\": \"%s\", \"n\": %d, \"m\": %d, \"d\": %d, \"memory_limit_mib\": %d, \"seconds_per_rhs\": %.6e, \"gflops\": %.3f, \"dgemm_gflops\": %.3f, \"ratio\": %.4f, \"ratio_cpu_time\": %.4f, \"peak_resident_mib\": %.1f, \"allocated_mib\": %.1f, \"setup_seconds\": %.4e},\n", act, (int)n, (int)m, (int)d, (int)limit, (double)t, (double)rate, (double)gemm, (double)(rate / gemm), (double)(ratecpu / gemmcpu), (double)mib[0], (double)mib[1], (double)setup);
  }
  /* The population loss (population.c): m (m + m0) kernel pairs, two
     products of 2 mloc (m + m0) p flops each on every rank, against DGEMM
     of the inner products' shape (local m x p times p x m), and on several
     ranks against the same problem on rank 0 alone (the speedup), timed
     alternately in the same process. */
  PetscCallMPI(MPI_Comm_split(PETSC_COMM_WORLD, size > 1 && rank ? MPI_UNDEFINED : 0, 0, &self));
  for (size_t a = 0; a < sizeof(popsizes) / sizeof(popsizes[0]); a++) {
    const char *act = popsizes[a].act;
    PetscInt    m = popsizes[a].m, d = 100, m0 = 10, mloc;
    PetscReal   rhs[2], gflops[2], rate, ratecpu, one[2];
    PgfModel    alone        = NULL;
    char        speedup[128] = "";

    PetscCall(PetscSNPrintf(opts, sizeof(opts), "-population true -bias false -activation %s -dim %" PetscInt_FMT " -particles %" PetscInt_FMT " -teacher_neurons %" PetscInt_FMT, act, d, m, m0));
    PetscCall(MakeModel(PETSC_COMM_WORLD, "twolayer", opts, &model));
    if (size > 1 && !rank) PetscCall(MakeModel(self, "twolayer", opts, &alone));
    PetscCall(PgfModelGetOwnership(model, NULL, &mloc));
    PetscCall(TimeRHSAndGemm(PETSC_COMM_WORLD, model, alone, m, d, mloc, reps, rhs, gflops, one));
    PetscCall(PgfModelDestroy(&model));
    if (alone) PetscCall(PgfModelDestroy(&alone));
    rate    = 4.0 * m * (m + m0) * d / rhs[0] * 1e-9;
    ratecpu = 4.0 * m * (m + m0) * d / rhs[1] * 1e-9;
    if (size > 1) PetscCall(PetscSNPrintf(speedup, sizeof(speedup), ", on 1 rank %.4e s: speedup %.2f (DGEMM's %.2f)", (double)one[0], (double)(one[0] / rhs[0]), (double)(gflops[0] / one[1])));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "population %-4s m %6" PetscInt_FMT " d %4" PetscInt_FMT ": %.4e s per rhs, %6.1f GFLOP/s, DGEMM %6.1f GFLOP/s, ratio %.2f (in CPU time %.2f)%s\n", act, m, d, (double)rhs[0], (double)rate, (double)gflops[0], (double)(rate / gflops[0]), (double)(ratecpu / gflops[1]), speedup));
    if (fp) fprintf(fp, "  {\"problem\": \"population\", \"activation\": \"%s\", \"m\": %d, \"d\": %d, \"seconds_per_rhs\": %.6e, \"gflops\": %.3f, \"dgemm_gflops\": %.3f, \"ratio\": %.4f, \"ratio_cpu_time\": %.4f, \"seconds_per_rhs_one_rank\": %.6e},\n", act, (int)m, (int)d, (double)rhs[0], (double)rate, (double)gflops[0], (double)(rate / gflops[0]), (double)(ratecpu / gflops[1]), (double)(size > 1 ? one[0] : rhs[0]));
  }
  if (self != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&self));
  for (PetscInt q = 1; q <= 2; q++) {
    PetscInt  m = 10000, fc = 20, K = q == 1 ? 2 * fc + 1 : (2 * fc + 1) * (2 * fc + 1);
    PetscReal t, mib[2];

    PetscCall(PetscSNPrintf(opts, sizeof(opts), "-torus_dim %" PetscInt_FMT " -cutoff %" PetscInt_FMT " -particles %" PetscInt_FMT " -min_separation 0.05", q, fc, m));
    PetscCall(MakeModel(PETSC_COMM_WORLD, "deconv", opts, &model));
    PetscCall(TimeRHS(model, reps, &t, NULL, NULL));
    PetscCall(Memory(PETSC_COMM_WORLD, mib));
    PetscCall(PgfModelDestroy(&model));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "deconv torus_dim %" PetscInt_FMT " m %" PetscInt_FMT " fc %" PetscInt_FMT ": %.4e s per rhs, %.3e coefficient-particle products per second, allocated %.0f MiB per rank\n", q, m, fc, (double)t, (double)(m * K / t), (double)mib[1]));
    if (fp) fprintf(fp, "  {\"problem\": \"deconv\", \"torus_dim\": %d, \"m\": %d, \"fc\": %d, \"seconds_per_rhs\": %.6e, \"products_per_second\": %.4e, \"allocated_mib\": %.1f}%s\n", (int)q, (int)m, (int)fc, (double)t, (double)(m * K / t), (double)mib[1], q == 2 ? "" : ",");
  }
  if (fp) fprintf(fp, "]");
  if (size > 1) PetscCall(CommunicationModel(PETSC_COMM_WORLD, reps, rate1, fp));
  for (PetscInt k = 0; k < nacts; k++) PetscCall(PetscFree(acts[k]));
  if (fp) {
    fprintf(fp, "}\n");
    fclose(fp);
  }
  PetscCall(PetscFinalize());
  return 0;
}
