/* The counter-based generator: Philox4x32-10 known-answer vectors (Random123
   kat_vectors), the moments of the uniform and normal draws, and the block
   of normals (PgfRandNormalBlock, vectorized) against PgfRandNormal's libm
   formula, draw by draw (odd and even counts per index, chunk boundaries). */
#include <pgflow.h>

static int CheckKat(const uint32_t ctr[4], const uint32_t key[2], const uint32_t expect[4])
{
  uint32_t out[4];

  PgfPhilox4x32(ctr, key, out);
  for (int i = 0; i < 4; i++)
    if (out[i] != expect[i]) return 1;
  return 0;
}

int main(int argc, char **argv)
{
  const uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0}, e0[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
  const uint32_t c1[4] = {~0u, ~0u, ~0u, ~0u}, k1[2] = {~0u, ~0u}, e1[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
  const uint32_t c2[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, k2[2] = {0xa4093822, 0x299f31d0}, e2[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
  int            fails = CheckKat(c0, k0, e0) + CheckKat(c1, k1, e1) + CheckKat(c2, k2, e2);
  const PetscInt n     = 200000;
  PetscReal      su = 0, sn = 0, sn2 = 0, x[5], r2 = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  for (PetscInt i = 0; i < n; i++) {
    su += PgfRandUniform(3, PGF_STREAM_INPUTS, i, 0);
    PetscReal z = PgfRandNormal(3, PGF_STREAM_NOISE, i / 2, i % 2);
    sn += z;
    sn2 += z * z;
  }
  for (PetscInt dim = 1; dim <= 6; dim++) {
    const PetscInt count = 1000;
    PetscReal     *block, err = 0;

    PetscCall(PetscMalloc1(count * dim, &block));
    PgfRandNormalBlock(9, PGF_STREAM_LANGEVIN, 12345, count, dim, block);
    for (PetscInt p = 0; p < count; p++)
      for (PetscInt k = 0; k < dim; k++) err = PetscMax(err, PetscAbsReal(block[p * dim + k] - PgfRandNormal(9, PGF_STREAM_LANGEVIN, 12345 + p, k)));
    PetscCall(PetscFree(block));
    /* a few units of 2^-52 of r = sqrt(-2 log u0) <= 8.6 */
    if (err > 64 * PETSC_MACHINE_EPSILON) fails++, printf("block of normals, %" PetscInt_FMT " per index: off PgfRandNormal by %g\n", dim, (double)err);
  }
  PgfRandSphere(5, PGF_STREAM_TEACHER, 0, 5, 2.5, x);
  for (int k = 0; k < 5; k++) r2 += x[k] * x[k];
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "known answers: %d wrong; uniform mean %.4f; normal mean %.4f variance %.4f; sphere radius %.12f\n", fails, (double)(su / n), (double)(sn / n), (double)(sn2 / n), (double)PetscSqrtReal(r2)));
  fails += PetscAbsReal(su / n - 0.5) > 0.005 || PetscAbsReal(sn / n) > 0.01 || PetscAbsReal(sn2 / n - 1) > 0.01 || PetscAbsReal(PetscSqrtReal(r2) - 2.5) > 1e-12;
  PetscCall(PetscFinalize());
  return fails != 0;
}

/*TEST
philox/known-answers: Philox4x32-10 known answers and moments; the vectorized block of normals against PgfRandNormal
TEST*/
