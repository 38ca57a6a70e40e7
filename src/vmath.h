/* Elementwise activations over arrays, written so that the compiler
   vectorizes them (src/vmath.c): the same bits on every architecture and
   vector width, within a few units in the last place of the libm formulas. */
#pragma once

#include <petscsys.h>

/* Vectorized loops (these, and the kernel pass of population.c) are also
   compiled for AVX2 and AVX-512 on x86-64, and the best one for the
   processor is picked at load time (no FMA in either: the same bits as the
   baseline SSE2 code). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#  define PGF_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#  define PGF_CLONES
#endif

/* s[k] = 1/(1 + e^-z[k]) (s may be z). */
PETSC_INTERN void PgfSigmoidArray(PetscInt n, const PetscReal *z, PetscReal *s);
/* s[k] = tanh(z[k]) (s may be z). */
PETSC_INTERN void PgfTanhArray(PetscInt n, const PetscReal *z, PetscReal *s);
/* s[k] = erf(z[k]/sqrt(2)), the erf activation (s may be z). */
PETSC_INTERN void PgfErfArray(PetscInt n, const PetscReal *z, PetscReal *s);
/* The same s[k] and its derivative ds[k] = sqrt(2/pi) e^(-z[k]^2/2) (ds
   may be z, s may not). */
PETSC_INTERN void PgfErfDerivativeArray(PetscInt n, const PetscReal *z, PetscReal *s, PetscReal *ds);
/* y[k] = e^x[k] for x[k] <= 0 (y may be x), for the tests. */
PETSC_INTERN void PgfExpNonPositiveArray(PetscInt n, const PetscReal *x, PetscReal *y);
/* Box-Muller (rng.c): c[k] = r cos(2 pi u1[k]), s[k] = r sin(2 pi u1[k]),
   r = sqrt(-2 log u0[k]), for u0 in (0, 1], u1 in [0, 1). */
PETSC_INTERN void PgfBoxMullerArray(PetscInt n, const PetscReal *u0, const PetscReal *u1, PetscReal *c, PetscReal *s);
/* y[k] = log x[k] for positive normal x[k]; s[k], c[k] = sin, cos of 2 pi
   u[k] for u[k] in [0, 1); for the tests. */
PETSC_INTERN void PgfLogArray(PetscInt n, const PetscReal *x, PetscReal *y);
PETSC_INTERN void PgfSinCosTwoPiArray(PetscInt n, const PetscReal *u, PetscReal *s, PetscReal *c);
