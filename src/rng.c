/* Counter-based random numbers: Philox4x32-10 (Salmon et al., SC11).
   Every draw is a pure function of (seed, stream, index, k), so the data and
   the initial particles are bitwise the same for any number of ranks
   (doc/math.md section 7). */
#include <pgflow.h>

static inline void MulHiLo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
  uint64_t p = (uint64_t)a * (uint64_t)b;
  *hi        = (uint32_t)(p >> 32);
  *lo        = (uint32_t)p;
}

void PgfPhilox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
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

/* Two uniforms in (0, 1) with 53 random bits each: block k of (stream, index). */
static void UniformPair(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt block, PetscReal u[2])
{
  const uint64_t s = (uint64_t)seed, i = (uint64_t)index;
  const uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), (uint32_t)stream, (uint32_t)block};
  const uint32_t key[2] = {(uint32_t)s, (uint32_t)(s >> 32)};
  uint32_t       r[4];

  PgfPhilox4x32(ctr, key, r);
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

/* A point uniform on the sphere of the given radius in R^dim. */
void PgfRandSphere(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt dim, PetscReal radius, PetscReal x[])
{
  PetscReal norm2 = 0;

  PgfRandNormals(seed, stream, index, dim, x);
  for (PetscInt k = 0; k < dim; k++) norm2 += x[k] * x[k];
  for (PetscInt k = 0; k < dim; k++) x[k] *= radius / PetscSqrtReal(norm2);
}
