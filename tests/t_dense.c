/* The redistribution between pgflow's layout and ScaLAPACK's block-cyclic
   grid (src/dense.c), at any number of ranks:
     t_dense [-rows M] [-cols N] [-block NB]
   A known M x N matrix, A_ij = i + j / N, is scattered from column blocks
   (each rank some columns, as its particles), gathered back to them (the
   round trip must be exact), and gathered as row blocks and as the whole
   matrix on every rank (the values must land where they belong). Prints
   "round trip exact" and exits 0 when all hold. */
#include "pgfimpl.h"
#include "dense.h"

static PetscReal Entry(PetscInt i, PetscInt j, PetscInt N)
{
  return i + (PetscReal)j / N;
}

/* Contiguous split of n items over size ranks, the first ones one larger. */
static void Split(PetscInt n, PetscMPIInt size, PetscMPIInt rank, PetscInt *start, PetscInt *count)
{
  *count = n / size + (rank < n % size);
  *start = rank * (n / size) + PetscMin(rank, n % size);
}

/* Counts the entries of blk (rows r0.., columns c0..) that differ from A. */
static PetscInt Mismatches(const PetscReal *blk, PetscInt r0, PetscInt nr, PetscInt c0, PetscInt nc, PetscInt N)
{
  PetscInt bad = 0;

  for (PetscInt j = 0; j < nc; j++)
    for (PetscInt i = 0; i < nr; i++) bad += blk[i + j * nr] != Entry(r0 + i, c0 + j, N);
  return bad;
}

int main(int argc, char **argv)
{
  PetscInt    M = 37, N = 23, nb = 4, c0, nc, r0, nr, bad = 0, nprow, npcol;
  PetscMPIInt size, rank;
  PgfGrid     grid;
  PgfDense    A;
  PetscReal  *cols, *rows, *all;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-rows", &M, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-cols", &N, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-block", &nb, NULL));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PgfGridCreate(PETSC_COMM_WORLD, nb, &grid));
  PetscCall(PgfGridGetSizes(grid, &nprow, &npcol, NULL));
  PetscCall(PgfDenseCreate(grid, M, N, &A));

  Split(N, size, rank, &c0, &nc);
  Split(M, size, rank, &r0, &nr);
  PetscCall(PetscMalloc3(PetscMax(1, M * nc), &cols, PetscMax(1, nr * N), &rows, M * N, &all));
  for (PetscInt j = 0; j < nc; j++)
    for (PetscInt i = 0; i < M; i++) cols[i + j * M] = Entry(i, c0 + j, N);
  PetscCall(PgfDenseScatter(A, 0, M, c0, nc, cols, M));
  PetscCall(PetscArrayzero(cols, M * nc));
  PetscCall(PgfDenseGather(A, 0, M, c0, nc, cols, M));
  bad += Mismatches(cols, 0, M, c0, nc, N);
  PetscCall(PgfDenseGather(A, r0, nr, 0, N, rows, PetscMax(1, nr)));
  bad += Mismatches(rows, r0, nr, 0, N, N);
  PetscCall(PgfDenseGather(A, 0, M, 0, N, all, M));
  bad += Mismatches(all, 0, M, 0, N, N);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  if (bad) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "FAIL: %" PetscInt_FMT " misplaced entries (%" PetscInt_FMT " x %" PetscInt_FMT ", block %" PetscInt_FMT ", grid %" PetscInt_FMT " x %" PetscInt_FMT ")\n", bad, M, N, nb, nprow, npcol));
  else PetscCall(PetscPrintf(PETSC_COMM_WORLD, "round trip exact: %" PetscInt_FMT " x %" PetscInt_FMT ", block %" PetscInt_FMT ", grid %" PetscInt_FMT " x %" PetscInt_FMT "\n", M, N, nb, nprow, npcol));

  PetscCall(PetscFree3(cols, rows, all));
  PetscCall(PgfDenseDestroy(&A));
  PetscCall(PgfGridDestroy(&grid));
  PetscCall(PetscFinalize());
  return bad ? 1 : 0;
}
