/* Counter-based random numbers: Philox4x32-10 (Salmon et al., SC11).
   Every draw is a pure function of (seed, stream, index, k), so the data and
   the initial particles are bitwise the same for any number of ranks
   (doc/math.md section 7). */
#include <pgflow.h>
#include "vmath.h"
#include <string.h>

static inline void MulHiLo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
  uint64_t p = (uint64_t)a * (uint64_t)b;
  *hi        = (uint32_t)(p >> 32);
  *lo        = (uint32_t)p;
}

static inline void Philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
  uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k[2] = {key[0], key[1]};

  for (int round = 0; round < 10; round++) {
    uint32_t hi0, lo0, hi1, lo1;

    MulHiLo(0xD2511F53u, c[0], &hi0, &lo0);
    MulHiLo(0xCD9E8D57u, c[2], &hi1, &lo1);
    c[0] = hi1 ^ c[1] ^ k[0];
    c[1] = lo1;
    c[2] = hi0 ^ c[3] ^ k[1];
    c[3] = lo0;
    k[0] += 0x9E3779B9u;
    k[1] += 0xBB67AE85u;
  }
  for (int i = 0; i < 4; i++) out[i] = c[i];
}

void PgfPhilox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
  Philox(ctr, key, out);
}

/* Two uniforms in (0, 1) with 53 random bits each: block k of (stream, index). */
static void UniformPair(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt block, PetscReal u[2])
{
  const uint64_t s = (uint64_t)seed, i = (uint64_t)index;
  const uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), (uint32_t)stream, (uint32_t)block};
  const uint32_t key[2] = {(uint32_t)s, (uint32_t)(s >> 32)};
  uint32_t       r[4];

  Philox(ctr, key, r);
  for (int h = 0; h < 2; h++) {
    uint64_t bits = ((uint64_t)r[2 * h] << 32 | r[2 * h + 1]) >> 11;
    u[h]          = ((PetscReal)bits + 0.5) * 0x1p-53;
  }
}

PetscReal PgfRandUniform(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt k)
{
  PetscReal u[2];

  UniformPair(seed, stream, index, k / 2, u);
  return u[k % 2];
}

/* Box-Muller: the pair of normals of block k/2 share their two uniforms. */
PetscReal PgfRandNormal(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt k)
{
  PetscReal u[2], r;

  UniformPair(seed, stream, index, k / 2, u);
  r = PetscSqrtReal(-2 * PetscLogReal(u[0]));
  return k % 2 ? r * PetscSinReal(2 * PETSC_PI * u[1]) : r * PetscCosReal(2 * PETSC_PI * u[1]);
}

/* x[k] = PgfRandNormal(seed, stream, index, k) for k < n, each pair's
   uniforms, logarithm and square root computed once. */
void PgfRandNormals(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt n, PetscReal x[])
{
  for (PetscInt k = 0; k < n; k += 2) {
    PetscReal u[2], r;

    UniformPair(seed, stream, index, k / 2, u);
    r    = PetscSqrtReal(-2 * PetscLogReal(u[0]));
    x[k] = r * PetscCosReal(2 * PETSC_PI * u[1]);
    if (k + 1 < n) x[k + 1] = r * PetscSinReal(2 * PETSC_PI * u[1]);
  }
}

/* The uniforms of block b of index i, as UniformPair draws them, with
   53-bit integers made exact doubles by bit operations (vectorizable). */
static inline void UniformPairOf(uint64_t s, uint64_t i, uint32_t stream, uint32_t b, double *u0, double *u1)
{
  const uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), stream, b}, key[2] = {(uint32_t)s, (uint32_t)(s >> 32)};
  uint32_t       r[4];
  double         u[2];

  Philox(ctr, key, r);
  for (int h = 0; h < 2; h++) {
    uint64_t bits = ((uint64_t)r[2 * h] << 32 | r[2 * h + 1]) >> 11, half = (bits >> 1) | 0x4330000000000000ULL;
    double   d;

    memcpy(&d, &half, sizeof(d));
    u[h] = ((d - 0x1p52) * 2 + (double)(bits & 1) + 0.5) * 0x1p-53;
  }
  *u0 = u[0];
  *u1 = u[1];
}

/* PGF_CLONES: vectorized Philox over the pairs of one chunk. */
PGF_CLONES static void UniformChunk(uint64_t seed, uint32_t stream, PetscInt len, const uint64_t *idx, const uint32_t *blk, double *u0, double *u1)
{
#pragma omp simd
  for (PetscInt l = 0; l < len; l++) UniformPairOf(seed, idx[l], stream, blk[l], &u0[l], &u1[l]);
}

/* x[p n + k] for count consecutive indices index + p and k < n: the draws
   of PgfRandNormal(seed, stream, index + p, k), from the same uniforms,
   with a vectorized logarithm and sine and cosine (src/vmath.c) within a
   few units in the last place of its libm ones, in chunks of pairs. */
void PgfRandNormalBlock(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt count, PetscInt n, PetscReal x[])
{
  enum { CHUNK = 256 };
  const PetscInt npair = (n + 1) / 2;
  uint64_t       idx[CHUNK];
  uint32_t       blk[CHUNK];
  double         u0[CHUNK], u1[CHUNK], c[CHUNK], sn[CHUNK];

  PetscInt64 p = 0, q = 0; /* the pair (particle, block) at the start of the chunk, and where the scatter is */
  PetscInt   j = 0, jq = 0;

  for (PetscInt64 l0 = 0; l0 < (PetscInt64)count * npair; l0 += CHUNK) {
    PetscInt len = (PetscInt)PetscMin(CHUNK, (PetscInt64)count * npair - l0);

    for (PetscInt l = 0; l < len; l++) {
      idx[l] = (uint64_t)(index + p);
      blk[l] = (uint32_t)j;
      if (++j == npair) j = 0, p++;
    }
    UniformChunk((uint64_t)seed, (uint32_t)stream, len, idx, blk, u0, u1);
    PgfBoxMullerArray(len, u0, u1, c, sn);
    for (PetscInt l = 0; l < len; l++) {
      x[q * n + 2 * jq] = c[l];
      if (2 * jq + 1 < n) x[q * n + 2 * jq + 1] = sn[l];
      if (++jq == npair) jq = 0, q++;
    }
  }
}

/* A point uniform on the sphere of the given radius in R^dim. */
void PgfRandSphere(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt dim, PetscReal radius, PetscReal x[])
{
  PetscReal norm2 = 0;

  PgfRandNormals(seed, stream, index, dim, x);
  for (PetscInt k = 0; k < dim; k++) norm2 += x[k] * x[k];
  for (PetscInt k = 0; k < dim; k++) x[k] *= radius / PetscSqrtReal(norm2);
}
