/* Dense linear algebra over all ranks with ScaLAPACK (see dense.h).
   The global matrix is split in nb x nb blocks dealt cyclically over an
   nprow x npcol grid (block row I on process row I mod nprow, block column J
   on process column J mod npcol); each process stores its blocks
   column-major. Redistribution between the ranks' rectangular blocks and the
   grid is one MPI_Alltoallv: both sides enumerate the entries they exchange
   in the same order (global column, then row), so only values travel. */
#include "dense.h"

/* Debian's ScaLAPACK ships no C header (doc/platform.md): Fortran
   calling convention, every argument by pointer, 1-based indices, hidden
   lengths of CHARACTER arguments at the end. */
extern int    Csys2blacs_handle(MPI_Comm);
extern void   Cfree_blacs_system_handle(int);
extern void   Cblacs_gridinit(int *, const char *, int, int);
extern void   Cblacs_gridinfo(int, int *, int *, int *, int *);
extern void   Cblacs_gridexit(int);
extern int    numroc_(const int *, const int *, const int *, const int *, const int *);
extern void   descinit_(int *, const int *, const int *, const int *, const int *, const int *, const int *, const int *, const int *, int *);
extern void   pdsyrk_(const char *, const char *, const int *, const int *, const double *, const double *, const int *, const int *, const int *, const double *, double *, const int *, const int *, const int *, size_t, size_t);
extern double pdlansy_(const char *, const char *, const int *, const double *, const int *, const int *, const int *, double *, size_t, size_t);
extern void   pdpotrf_(const char *, const int *, double *, const int *, const int *, const int *, int *, size_t);
extern void   pdpocon_(const char *, const int *, const double *, const int *, const int *, const int *, const double *, double *, double *, const int *, int *, const int *, int *, size_t);
extern void   pdpotrs_(const char *, const int *, const int *, const double *, const int *, const int *, const int *, double *, const int *, const int *, const int *, int *, size_t);
extern void   pdsyev_(const char *, const char *, const int *, double *, const int *, const int *, const int *, double *, double *, const int *, const int *, const int *, double *, const int *, int *, size_t, size_t);
extern void   pdgemv_(const char *, const int *, const int *, const double *, const double *, const int *, const int *, const int *, const double *, const int *, const int *, const int *, const int *, const double *, double *, const int *, const int *, const int *, const int *, size_t);

struct _p_PgfGrid {
  MPI_Comm comm;
  int      handle, ctxt;
  int      nprow, npcol, myrow, mycol, nb;
  int     *rankof; /* MPI rank of process (r, c): rankof[r * npcol + c] */
};

struct _p_PgfDense {
  PgfGrid    grid;
  int        M, N, lrows, lcols, desc[9];
  PetscReal *a; /* lrows x lcols, leading dimension max(1, lrows) */
};

static const int ione = 1, izero = 0;

PetscErrorCode PgfGridCreate(MPI_Comm comm, PetscInt nb, PgfGrid *grid)
{
  PgfGrid     g;
  PetscMPIInt size, rank;
  int         me, *pos;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscNew(&g));
  g->comm  = comm;
  g->nb    = (int)nb;
  g->nprow = (int)PetscSqrtReal((PetscReal)size);
  while (size % g->nprow) g->nprow--;
  g->npcol  = size / g->nprow;
  g->handle = Csys2blacs_handle(comm);
  g->ctxt   = g->handle;
  Cblacs_gridinit(&g->ctxt, "Row", g->nprow, g->npcol);
  Cblacs_gridinfo(g->ctxt, &g->nprow, &g->npcol, &g->myrow, &g->mycol);
  PetscCheck(g->myrow >= 0 && g->myrow < g->nprow, comm, PETSC_ERR_LIB, "BLACS left rank %d out of its %d x %d grid", rank, g->nprow, g->npcol);
  PetscCall(PetscMalloc1(size, &g->rankof));
  PetscCall(PetscMalloc1(size, &pos));
  me = g->myrow * g->npcol + g->mycol;
  PetscCallMPI(MPI_Allgather(&me, 1, MPI_INT, pos, 1, MPI_INT, comm));
  for (int r = 0; r < size; r++) g->rankof[pos[r]] = r;
  PetscCall(PetscFree(pos));
  *grid = g;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfGridGetSizes(PgfGrid grid, PetscInt *nprow, PetscInt *npcol, PetscInt *nb)
{
  PetscFunctionBegin;
  if (nprow) *nprow = grid->nprow;
  if (npcol) *npcol = grid->npcol;
  if (nb) *nb = grid->nb;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfGridDestroy(PgfGrid *grid)
{
  PgfGrid g = *grid;

  PetscFunctionBegin;
  if (!g) PetscFunctionReturn(0);
  Cblacs_gridexit(g->ctxt);
  Cfree_blacs_system_handle(g->handle);
  PetscCall(PetscFree(g->rankof));
  PetscCall(PetscFree(g));
  *grid = NULL;
  PetscFunctionReturn(0);
}

/* Rows (or columns) of an M-long dimension held by process coordinate p out of np. */
static int LocalCount(PgfGrid g, PetscInt M, int p, int np)
{
  int m = (int)M;

  return numroc_(&m, &g->nb, &p, &izero, &np);
}

static PetscErrorCode MaxOverRanks(PgfGrid g, PetscReal local, PetscReal *max)
{
  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&local, max, 1, MPIU_REAL, MPI_MAX, g->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfGridMatrixBytes(PgfGrid g, PetscInt M, PetscInt N, PetscReal *bytes)
{
  PetscFunctionBegin;
  PetscCall(MaxOverRanks(g, (PetscReal)sizeof(PetscReal) * LocalCount(g, M, g->myrow, g->nprow) * LocalCount(g, N, g->mycol, g->npcol), bytes));
  PetscFunctionReturn(0);
}

/* pdsyev's workspace for an N x N matrix, with or without eigenvectors:
   the largest of its queries over the processes (those that hold no block
   of a matrix smaller than the grid are answered too little). The query
   reads only the descriptors. */
static PetscErrorCode EigenWork(PgfGrid g, PetscInt N, PetscBool vectors, int *lwork)
{
  int    n = (int)N, ld = PetscMax(1, LocalCount(g, N, g->myrow, g->nprow)), desc[9], info, query_lwork = -1;
  double query = 0, dummy = 0;

  PetscFunctionBegin;
  descinit_(desc, &n, &n, &g->nb, &g->nb, &izero, &izero, &g->ctxt, &ld, &info);
  PetscCheck(!info, g->comm, PETSC_ERR_LIB, "descinit failed (info %d)", info);
  pdsyev_(vectors ? "V" : "N", "U", &n, &dummy, &ione, &ione, desc, &dummy, &dummy, &ione, &ione, desc, &query, &query_lwork, &info, 1, 1);
  PetscCheck(!info, g->comm, PETSC_ERR_LIB, "pdsyev workspace query failed (info %d)", info);
  *lwork = (int)query;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, lwork, 1, MPI_INT, MPI_MAX, g->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfGridEigenBytes(PgfGrid g, PetscInt N, PetscBool vectors, PetscReal *bytes)
{
  int       lwork;
  PetscReal mat = (PetscReal)sizeof(PetscReal) * LocalCount(g, N, g->myrow, g->nprow) * LocalCount(g, N, g->mycol, g->npcol);

  PetscFunctionBegin;
  PetscCall(EigenWork(g, N, vectors, &lwork));
  PetscCall(MaxOverRanks(g, (vectors ? 2 : 1) * mat + sizeof(PetscReal) * (PetscReal)(lwork + N), bytes));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDenseCreate(PgfGrid g, PetscInt M, PetscInt N, PgfDense *A)
{
  PgfDense a;
  int      info, m = (int)M, n = (int)N, ld;

  PetscFunctionBegin;
  PetscCheck(M <= PETSC_MAX_INT && N <= PETSC_MAX_INT, g->comm, PETSC_ERR_SUP, "ScaLAPACK matrices are limited to 32-bit sizes");
  PetscCall(PetscNew(&a));
  a->grid  = g;
  a->M     = m;
  a->N     = n;
  a->lrows = LocalCount(g, M, g->myrow, g->nprow);
  a->lcols = LocalCount(g, N, g->mycol, g->npcol);
  ld       = PetscMax(1, a->lrows);
  descinit_(a->desc, &m, &n, &g->nb, &g->nb, &izero, &izero, &g->ctxt, &ld, &info);
  PetscCheck(!info, g->comm, PETSC_ERR_LIB, "descinit failed (info %d)", info);
  PetscCall(PetscCalloc1((size_t)ld * a->lcols, &a->a));
  *A = a;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDenseDestroy(PgfDense *A)
{
  PetscFunctionBegin;
  if (!*A) PetscFunctionReturn(0);
  PetscCall(PetscFree((*A)->a));
  PetscCall(PetscFree(*A));
  PetscFunctionReturn(0);
}

/* Block-cyclic position of global index k (0-based) along a dimension split
   over np processes: its process and its local index there. */
static inline int Owner(const PgfGrid g, PetscInt k, int np)
{
  return (int)((k / g->nb) % np);
}
static inline PetscInt LocalIndex(const PgfGrid g, PetscInt k, int np)
{
  return (k / ((PetscInt)g->nb * np)) * g->nb + k % g->nb;
}

/* The block owner's side of a redistribution: its entries packed into
   (pack) or unpacked from the exchange buffer, by destination rank, column
   by column. */
static void BlockSide(PgfGrid g, PetscBool pack, PetscInt r0, PetscInt nr, PetscInt c0, PetscInt nc, PetscReal *blk, PetscInt ld, PetscReal *buf, const int *displ, int *off, PetscMPIInt size)
{
  for (int s = 0; s < size; s++) off[s] = displ[s];
  for (PetscInt j = c0; j < c0 + nc; j++) {
    int pc = Owner(g, j, g->npcol);

    for (PetscInt i = r0; i < r0 + nr; i++) {
      PetscReal *b = &blk[(i - r0) + (j - c0) * ld], *e = &buf[off[g->rankof[Owner(g, i, g->nprow) * g->npcol + pc]]++];

      if (pack) *e = *b;
      else *b = *e;
    }
  }
}

/* The grid side: for each rank's block (all: r0, nr, c0, nc of every
   rank), this process's entries of it, in the same order, read from the
   buffer into the matrix (store) or written to it. */
static void GridSide(PgfDense A, PetscBool store, const PetscInt64 *all, PetscReal *buf, const int *displ, PetscMPIInt size)
{
  PgfGrid  g   = A->grid;
  PetscInt lda = PetscMax(1, A->lrows);

  for (int s = 0; s < size; s++) {
    const PetscInt64 *b = &all[4 * s];
    PetscInt          k = displ[s];

    for (PetscInt j = b[2]; j < b[2] + b[3]; j++) {
      PetscReal *col;

      if (Owner(g, j, g->npcol) != g->mycol) continue;
      col = &A->a[LocalIndex(g, j, g->npcol) * lda];
      for (PetscInt i = b[0]; i < b[0] + b[1]; i++) {
        if (Owner(g, i, g->nprow) != g->myrow) continue;
        if (store) col[LocalIndex(g, i, g->nprow)] = buf[k++];
        else buf[k++] = col[LocalIndex(g, i, g->nprow)];
      }
    }
  }
}

/* The exchange behind Scatter (forward: blocks to grid) and Gather. Each
   rank's block is known to all; the values between a block owner and a grid
   process are listed by global column, then global row, on both sides. */
static PetscErrorCode Redistribute(PgfDense A, PetscBool forward, PetscInt r0, PetscInt nr, PetscInt c0, PetscInt nc, PetscReal *blk, PetscInt ld)
{
  PgfGrid     g = A->grid;
  PetscMPIInt size, rank;
  PetscInt64  mine[4] = {r0, nr, c0, nc}, *all, nblock, ngrid;
  int        *bcount, *bdispl, *gcount, *gdispl, *boff;
  PetscInt   *rowsof; /* my block's rows on each process row */
  PetscReal  *bbuf, *gbuf;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(g->comm, &size));
  PetscCallMPI(MPI_Comm_rank(g->comm, &rank));
  PetscCheck(r0 >= 0 && c0 >= 0 && nr >= 0 && nc >= 0 && r0 + nr <= A->M && c0 + nc <= A->N, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "block outside the %d x %d matrix", A->M, A->N);
  PetscCall(PetscMalloc1(4 * size, &all));
  PetscCallMPI(MPI_Allgather(mine, 4, MPIU_INT64, all, 4, MPIU_INT64, g->comm));
  PetscCall(PetscCalloc6(size, &bcount, size, &bdispl, size, &gcount, size, &gdispl, size, &boff, g->nprow, &rowsof));

  /* my block's entries per grid process (by MPI rank) */
  for (PetscInt i = r0; i < r0 + nr; i++) rowsof[Owner(g, i, g->nprow)]++;
  for (PetscInt j = c0; j < c0 + nc; j++)
    for (int pr = 0; pr < g->nprow; pr++) bcount[g->rankof[pr * g->npcol + Owner(g, j, g->npcol)]] += (int)rowsof[pr];
  /* the entries of my grid part in each rank's block */
  for (int s = 0; s < size; s++) {
    PetscInt64 rows = 0, cols = 0, *b = &all[4 * s];

    for (PetscInt i = b[0]; i < b[0] + b[1]; i++) rows += Owner(g, i, g->nprow) == g->myrow;
    for (PetscInt j = b[2]; j < b[2] + b[3]; j++) cols += Owner(g, j, g->npcol) == g->mycol;
    gcount[s] = (int)(rows * cols);
  }
  nblock = nr * nc;
  ngrid  = 0;
  for (int s = 0; s < size; s++) ngrid += gcount[s];
  PetscCheck(nblock <= PETSC_MPI_INT_MAX && ngrid <= PETSC_MPI_INT_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP, "redistribution of more than 2^31 values per rank: use smaller blocks");
  for (int s = 1; s < size; s++) bdispl[s] = bdispl[s - 1] + bcount[s - 1];
  for (int s = 1; s < size; s++) gdispl[s] = gdispl[s - 1] + gcount[s - 1];
  PetscCall(PetscMalloc2(nblock, &bbuf, ngrid, &gbuf));

  if (forward) {
    BlockSide(g, PETSC_TRUE, r0, nr, c0, nc, blk, ld, bbuf, bdispl, boff, size);
    PetscCallMPI(MPI_Alltoallv(bbuf, bcount, bdispl, MPIU_REAL, gbuf, gcount, gdispl, MPIU_REAL, g->comm));
    GridSide(A, PETSC_TRUE, all, gbuf, gdispl, size);
  } else {
    GridSide(A, PETSC_FALSE, all, gbuf, gdispl, size);
    PetscCallMPI(MPI_Alltoallv(gbuf, gcount, gdispl, MPIU_REAL, bbuf, bcount, bdispl, MPIU_REAL, g->comm));
    BlockSide(g, PETSC_FALSE, r0, nr, c0, nc, blk, ld, bbuf, bdispl, boff, size);
  }
  PetscCall(PetscFree2(bbuf, gbuf));
  PetscCall(PetscFree6(bcount, bdispl, gcount, gdispl, boff, rowsof));
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDenseScatter(PgfDense A, PetscInt r0, PetscInt nr, PetscInt c0, PetscInt nc, const PetscReal blk[], PetscInt ld)
{
  PetscFunctionBegin;
  PetscCall(Redistribute(A, PETSC_TRUE, r0, nr, c0, nc, (PetscReal *)blk, ld));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDenseGather(PgfDense A, PetscInt r0, PetscInt nr, PetscInt c0, PetscInt nc, PetscReal blk[], PetscInt ld)
{
  PetscFunctionBegin;
  PetscCall(Redistribute(A, PETSC_FALSE, r0, nr, c0, nc, blk, ld));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDenseSyrk(PgfDense A, PetscBool trans, PetscInt k, PetscReal alpha, PgfDense C)
{
  int          n = C->N, kk = (int)k;
  const double one = 1;

  PetscFunctionBegin;
  PetscCheck(C->M == C->N && (trans ? A->N : A->M) == n && k <= (trans ? A->M : A->N), A->grid->comm, PETSC_ERR_ARG_SIZ, "syrk: nonconforming sizes");
  if (!k) PetscFunctionReturn(0);
  pdsyrk_("U", trans ? "T" : "N", &n, &kk, &alpha, A->a, &ione, &ione, A->desc, &one, C->a, &ione, &ione, C->desc, 1, 1);
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDenseShiftDiagonal(PgfDense A, PetscReal shift)
{
  PgfGrid  g   = A->grid;
  PetscInt lda = PetscMax(1, A->lrows);

  PetscFunctionBegin;
  for (PetscInt k = 0; k < PetscMin(A->M, A->N); k++)
    if (Owner(g, k, g->nprow) == g->myrow && Owner(g, k, g->npcol) == g->mycol) A->a[LocalIndex(g, k, g->nprow) + LocalIndex(g, k, g->npcol) * lda] += shift;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDenseCholeskySolve(PgfDense A, PgfDense b, PetscReal tol, PetscReal *rcond, PetscBool *solved)
{
  PgfGrid    g = A->grid;
  int        n = A->N, nrhs = b->N, info, lwork = -1, liwork = -1, iquery;
  double     anorm, query, *work;
  int       *iwork;
  PetscReal *normwork;

  PetscFunctionBegin;
  *rcond  = 0;
  *solved = PETSC_FALSE;
  /* pdlansy's workspace bound for the 1-norm, generously */
  PetscCall(PetscMalloc1(4 * (A->lrows + A->lcols + 2 * g->nb) + 2 * n, &normwork));
  anorm = pdlansy_("1", "U", &n, A->a, &ione, &ione, A->desc, normwork, 1, 1);
  PetscCall(PetscFree(normwork));
  pdpotrf_("U", &n, A->a, &ione, &ione, A->desc, &info, 1);
  PetscCheck(info >= 0, g->comm, PETSC_ERR_LIB, "pdpotrf: argument %d is invalid", -info);
  if (info > 0) PetscFunctionReturn(0); /* not positive definite */
  pdpocon_("U", &n, A->a, &ione, &ione, A->desc, &anorm, rcond, &query, &lwork, &iquery, &liwork, &info, 1);
  /* The query answers too little on processes that hold no block of A (a
     2 x 2 grid with n below the block size): take the documented bound with
     the largest local sizes of the grid, which every process can use. */
  {
    int locr = LocalCount(g, n, 0, g->nprow), locc = LocalCount(g, n, 0, g->npcol);
    int nb = g->nb, rr = (g->nprow - 1 + g->npcol - 1) / g->npcol, cc = (g->npcol - 1 + g->nprow - 1) / g->nprow;
    int bound = 2 * locr + 2 * locc + PetscMax(2, PetscMax(nb * PetscMax(1, rr), locc + nb * PetscMax(1, cc)));

    lwork  = PetscMax((int)query, bound);
    liwork = PetscMax(iquery, PetscMax(1, locr));
  }
  PetscCall(PetscMalloc2(lwork, &work, liwork, &iwork));
  pdpocon_("U", &n, A->a, &ione, &ione, A->desc, &anorm, rcond, work, &lwork, iwork, &liwork, &info, 1);
  PetscCall(PetscFree2(work, iwork));
  PetscCheck(!info, g->comm, PETSC_ERR_LIB, "pdpocon failed (info %d)", info);
  if (*rcond < tol) PetscFunctionReturn(0);
  pdpotrs_("U", &n, &nrhs, A->a, &ione, &ione, A->desc, b->a, &ione, &ione, b->desc, &info, 1);
  PetscCheck(!info, g->comm, PETSC_ERR_LIB, "pdpotrs failed (info %d)", info);
  *solved = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* pdsyev, not pdsyevd: the divide-and-conquer routine of ScaLAPACK 2.2
   returns eigenvectors that do not match their eigenvalues when the matrix
   fits in one block (N <= nb), which broke the least-squares baseline of
   small problems. Without Z only the eigenvalues are computed. */
PetscErrorCode PgfDenseEigen(PgfDense A, PetscReal eig[], PgfDense Z)
{
  PgfGrid g = A->grid;
  int     n = A->N, lwork, info;
  double *work;

  PetscFunctionBegin;
  PetscCall(EigenWork(g, n, (PetscBool)(Z != NULL), &lwork));
  PetscCall(PetscMalloc1(lwork, &work));
  pdsyev_(Z ? "V" : "N", "U", &n, A->a, &ione, &ione, A->desc, eig, Z ? Z->a : NULL, &ione, &ione, Z ? Z->desc : A->desc, work, &lwork, &info, 1, 1);
  PetscCall(PetscFree(work));
  PetscCheck(!info, g->comm, PETSC_ERR_LIB, "pdsyev failed (info %d)", info);
  PetscFunctionReturn(0);
}

PetscErrorCode PgfDensePseudoSolve(PgfDense A, PgfDense b, PetscReal tol, PetscInt *rank)
{
  PgfGrid      g = A->grid;
  PgfDense     Z, t;
  PetscReal   *eig, cut;
  int          n   = A->N;
  const double one = 1, zero = 0;

  PetscFunctionBegin;
  PetscCheck(b->N == 1, g->comm, PETSC_ERR_SUP, "one right-hand side only");
  PetscCall(PetscMalloc1(n, &eig));
  PetscCall(PgfDenseCreate(g, n, n, &Z));
  PetscCall(PgfDenseCreate(g, n, 1, &t));
  PetscCall(PgfDenseEigen(A, eig, Z));
  cut   = tol * PetscMax(eig[n - 1], 0);
  *rank = 0;
  for (int k = 0; k < n; k++) *rank += eig[k] > cut;
  /* x = Z diag(1/eig, kept ones) Z^T b */
  pdgemv_("T", &n, &n, &one, Z->a, &ione, &ione, Z->desc, b->a, &ione, &ione, b->desc, &ione, &zero, t->a, &ione, &ione, t->desc, &ione, 1);
  if (g->mycol == 0)
    for (PetscInt l = 0; l < t->lrows; l++) {
      PetscInt k = ((l / g->nb) * g->nprow + g->myrow) * g->nb + l % g->nb;

      t->a[l] = eig[k] > cut ? t->a[l] / eig[k] : 0;
    }
  pdgemv_("N", &n, &n, &one, Z->a, &ione, &ione, Z->desc, t->a, &ione, &ione, t->desc, &ione, &zero, b->a, &ione, &ione, b->desc, &ione, 1);
  PetscCall(PgfDenseDestroy(&t));
  PetscCall(PgfDenseDestroy(&Z));
  PetscCall(PetscFree(eig));
  PetscFunctionReturn(0);
}
