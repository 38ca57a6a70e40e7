/* Dense matrices distributed over all ranks with ScaLAPACK (dense.c): a 2-D
   block-cyclic process grid, matrices on it, the redistribution between
   pgflow's layout (each rank holds one rectangular block of a global matrix,
   for instance the columns of its particles) and the grid's, and the few
   solvers the convex baselines and spectra need (doc/math.md section 6).
   Nothing outside dense.c knows the grid's layout. */
#pragma once

#include <petscsys.h>

typedef struct _p_PgfGrid  *PgfGrid;
typedef struct _p_PgfDense *PgfDense;

/* A process grid over all ranks of comm, as square as their number allows
   (nprow <= npcol), with nb x nb blocks. */
PETSC_INTERN PetscErrorCode PgfGridCreate(MPI_Comm, PetscInt, PgfGrid *);
PETSC_INTERN PetscErrorCode PgfGridGetSizes(PgfGrid, PetscInt *, PetscInt *, PetscInt *);
PETSC_INTERN PetscErrorCode PgfGridDestroy(PgfGrid *);
/* Largest number of bytes any rank holds for an M x N matrix on the grid. */
PETSC_INTERN PetscErrorCode PgfGridMatrixBytes(PgfGrid, PetscInt, PetscInt, PetscReal *);
/* Largest number of bytes any rank needs for the eigenvalues (and, with
   vectors, the eigenvectors) of an N x N symmetric matrix: the matrix, the
   vectors and pdsyev's work. Collective. */
PETSC_INTERN PetscErrorCode PgfGridEigenBytes(PgfGrid, PetscInt, PetscBool, PetscReal *);

/* An M x N matrix on the grid, set to zero. */
PETSC_INTERN PetscErrorCode PgfDenseCreate(PgfGrid, PetscInt, PetscInt, PgfDense *);
PETSC_INTERN PetscErrorCode PgfDenseDestroy(PgfDense *);
/* Redistribution (collective): this rank's block, rows r0 .. r0 + nr - 1 and
   columns c0 .. c0 + nc - 1 of the global matrix, column-major with leading
   dimension ld. Scatter writes the blocks of all ranks into the matrix (they
   must not overlap); Gather reads each rank's block from it (they may). */
PETSC_INTERN PetscErrorCode PgfDenseScatter(PgfDense, PetscInt, PetscInt, PetscInt, PetscInt, const PetscReal[], PetscInt);
PETSC_INTERN PetscErrorCode PgfDenseGather(PgfDense, PetscInt, PetscInt, PetscInt, PetscInt, PetscReal[], PetscInt);
/* C += alpha A^T A (trans) or alpha A A^T, A's first k rows (trans) or
   columns; upper triangle of C only. */
PETSC_INTERN PetscErrorCode PgfDenseSyrk(PgfDense, PetscBool, PetscInt, PetscReal, PgfDense);
PETSC_INTERN PetscErrorCode PgfDenseShiftDiagonal(PgfDense, PetscReal);
/* Solves A x = b for symmetric positive definite A (upper triangle) by
   Cholesky (pdpotrf, pdpocon, pdpotrs: pdposv's steps with the condition
   estimated in between). A is overwritten by its factor and b by x when
   *solved; *solved is false when A is not numerically positive definite
   (reciprocal condition number below tol). */
PETSC_INTERN PetscErrorCode PgfDenseCholeskySolve(PgfDense, PgfDense, PetscReal, PetscReal *, PetscBool *);
/* All eigenvalues of the symmetric matrix A (upper triangle), ascending, on
   every rank; the eigenvectors into Z unless Z is NULL (pdsyev). A is
   destroyed. Collective. */
PETSC_INTERN PetscErrorCode PgfDenseEigen(PgfDense, PetscReal[], PgfDense);
/* x = pinv(A) b for symmetric positive semidefinite A through its
   eigendecomposition, eigenvalues below tol times the largest taken as zero:
   the minimum-norm least-squares solution. A is destroyed; *rank is the
   number of eigenvalues kept. */
PETSC_INTERN PetscErrorCode PgfDensePseudoSolve(PgfDense, PgfDense, PetscReal, PetscInt *);
