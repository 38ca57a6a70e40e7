/* Vectorizable smooth activations (sigmoid, tanh, erf and its
   derivative), and the logarithm, sine and cosine of Box-Muller. Calls into libm stop the compiler from vectorizing a
   loop, and glibc's vector versions (libmvec) are used only with
   -ffast-math and need not round like the scalar ones. These are plain C
   with polynomials and range reduction, so that gcc vectorizes the loops
   (#pragma omp simd, -fopenmp-simd) on any architecture. Without fused
   multiply-adds (-ffp-contract=off) every operation is one correctly
   rounded IEEE operation: scalar and vector code, and every vector width,
   give the same bits, so that recomputed activations equal stored ones.

   Error bounds, relative, in units of 2^-52 (tests/t_vmath.c checks them
   against long double libm on 10^6 points per function; measured maxima in
   parentheses): e^x for x <= 0: 1 (0.66) down to x = -708.39, 0 below,
   where e^x is subnormal (absolute error < 2.3e-308); sigmoid: 2 (1.46);
   tanh: 2 (1.49); erf(z/sqrt 2): 3 (2.40); its derivative: 2 (1.35) plus
   the rounding of its argument -z^2/2, z^2/4 (as in the plain libm
   formula); log x (x normal, positive): 2 (1.22); sin and cos of 2 pi u,
   u in [0, 1), absolute: 2 (0.75). The last three make the Box-Muller
   normals of the Langevin noise (rng.c). The truncation of the polynomials is below 2^-60; Cody's
   rational functions are designed to better than double precision. */
#include "vmath.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

/* x = k ln2 + r with k = round(x / ln2), |r| <= ln2/2 (+ rounding): k is
   read from the low bits of x/ln2 + 1.5 2^52, and ln2 is split in a head
   with 32 significant bits and a tail so that k ln2_hi and x - k ln2_hi are
   exact for the k that occur here (|k| <= 1100). Returns 2^k. */
static inline double Reduce(double x, double *r)
{
  const double shift = 0x1.8p52, log2e = 0x1.71547652b82fep0;
  const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
  double       kd = x * log2e + shift, k = kd - shift, scale;
  uint64_t     bits;

  *r = (x - k * ln2hi) - k * ln2lo;
  memcpy(&bits, &kd, sizeof(bits));
  bits = (bits << 52) + ((uint64_t)1023 << 52); /* the biased exponent k + 1023, for k >= -1022 */
  memcpy(&scale, &bits, sizeof(scale));
  return scale;
}

/* e^r - 1 - r for |r| <= 0.35: Taylor terms r^2/2! .. r^14/14!, truncation
   below 0.35^15/15! < 1e-19, i.e. below 2^-60 relative to e^r - 1. */
static inline double Expm1Tail(double r)
{
  static const double c[] = {1. / 2, 1. / 6, 1. / 24, 1. / 120, 1. / 720, 1. / 5040, 1. / 40320, 1. / 362880, 1. / 3628800, 1. / 39916800, 1. / 479001600, 1. / 6227020800, 1. / 87178291200};
  double              p   = c[12];

  for (int k = 11; k >= 0; k--) p = c[k] + r * p;
  return r * r * p;
}

/* e^x for x <= 0, NaN for NaN. */
static inline double ExpNonPositive(double x)
{
  double r, scale = Reduce(x, &r), e = scale * (1 + (r + Expm1Tail(r)));

  return x < -708.3964185322641 ? 0 : e; /* below, 2^k is subnormal: the bits above are wrong */
}

/* e^x - 1 for x <= 0, without cancellation near 0: 2^k (e^r - 1) + (2^k - 1),
   where 2^k - 1 is exact; -1 below -40 (e^-40 < 2^-57). */
static inline double Expm1NonPositive(double x)
{
  double r, scale = Reduce(x, &r), e = scale * (r + Expm1Tail(r)) + (scale - 1);

  return x < -40 ? -1 : e;
}

/* 1/(1 + e^-z) from e = e^-|z| <= 1: 1/(1 + e) or e/(1 + e), no overflow. */
static inline double Sigmoid(double z)
{
  double e = ExpNonPositive(-fabs(z));

  return (z >= 0 ? 1 : e) / (1 + e);
}

/* tanh z = -sign(z) q / (2 + q), q = e^-2|z| - 1. */
static inline double Tanh(double z)
{
  double q = Expm1NonPositive(-2 * fabs(z));

  return copysign(-q / (2 + q), z);
}

PGF_CLONES void PgfSigmoidArray(PetscInt n, const PetscReal *z, PetscReal *s)
{
#pragma omp simd
  for (PetscInt k = 0; k < n; k++) s[k] = Sigmoid(z[k]);
}

PGF_CLONES void PgfTanhArray(PetscInt n, const PetscReal *z, PetscReal *s)
{
#pragma omp simd
  for (PetscInt k = 0; k < n; k++) s[k] = Tanh(z[k]);
}

/* erf(z/sqrt 2) by W. J. Cody's rational Chebyshev approximations ("Rational
   Chebyshev approximations for the error function", Math. Comp. 23, 1969;
   the coefficients of his CALERF): with a = |z|/sqrt 2, a A(a^2)/B(a^2) for
   a <= 0.46875, else 1 - e^(-a^2) C(a)/D(a) up to a = 4 and 1 - e^(-a^2)
   (1/sqrt(pi) - P(1/a^2)/(a^2 Q(1/a^2)))/a beyond. All three are computed
   and the right one selected, with two divisions. *e is e^(-z^2/2), rounded
   like the plain formula, shared with the derivative. */
static inline double Erf(double z, double *e)
{
  static const double A[]     = {3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3, 1.85777706184603153e-1};
  static const double B[]     = {2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3};
  static const double C[]     = {5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2, 1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3, 2.15311535474403846e-8};
  static const double D[]     = {1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3};
  static const double P[]     = {3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2};
  static const double Q[]     = {2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3};
  const double        rsqrtpi = 5.6418958354775628695e-1;
  double              a = fabs(z) * M_SQRT1_2, t = a * a, u = 1 / t, n1 = A[4] * t, d1 = t, n2 = C[8] * a, d2 = a, n3 = P[5] * u, d3 = u, num, den, q;

  for (int i = 0; i < 3; i++) n1 = (n1 + A[i]) * t, d1 = (d1 + B[i]) * t;
  for (int i = 0; i < 7; i++) n2 = (n2 + C[i]) * a, d2 = (d2 + D[i]) * a;
  for (int i = 0; i < 4; i++) n3 = (n3 + P[i]) * u, d3 = (d3 + Q[i]) * u;
  n1 = a * (n1 + A[3]), d1 = d1 + B[3];
  n2 = n2 + C[7], d2 = d2 + D[7];
  n3 = rsqrtpi * (d3 + Q[4]) - u * (n3 + P[4]), d3 = a * (d3 + Q[4]);
  num = a <= 0.46875 ? n1 : a <= 4 ? n2
                                   : n3;
  den = a <= 0.46875 ? d1 : a <= 4 ? d2
                                   : d3;
  q   = num / den;
  *e  = ExpNonPositive(-0.5 * (z * z));
  return copysign(a <= 0.46875 ? q : 1 - *e * q, z);
}

PGF_CLONES void PgfErfArray(PetscInt n, const PetscReal *z, PetscReal *s)
{
  double e;

#pragma omp simd private(e)
  for (PetscInt k = 0; k < n; k++) s[k] = Erf(z[k], &e);
}

PGF_CLONES void PgfErfDerivativeArray(PetscInt n, const PetscReal *z, PetscReal *s, PetscReal *ds)
{
  const double c = 0.79788456080286535588; /* sqrt(2/pi) */
  double       e;

#pragma omp simd private(e)
  for (PetscInt k = 0; k < n; k++) {
    s[k]  = Erf(z[k], &e);
    ds[k] = c * e;
  }
}

PGF_CLONES void PgfExpNonPositiveArray(PetscInt n, const PetscReal *x, PetscReal *y)
{
#pragma omp simd
  for (PetscInt k = 0; k < n; k++) y[k] = ExpNonPositive(x[k]);
}

/* log x for a positive normal x (NaN stays NaN): x = 2^e f with f in
   [sqrt(1/2), sqrt(2)), log f = 2 atanh(s), s = (f - 1)/(f + 1), |s| <=
   0.1716, by its series to s^23 (truncation below 2^-60), and e ln 2 in
   two parts. */
static inline double Log(double x)
{
  const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
  uint64_t     bits, ebits;
  double       f, e, s, s2, p;
  int          big;

  memcpy(&bits, &x, sizeof(bits));
  ebits = (bits >> 52) | 0x4330000000000000ULL; /* the biased exponent as a double, without an integer conversion */
  memcpy(&e, &ebits, sizeof(e));
  e    = e - 0x1p52 - 1023;
  bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
  memcpy(&f, &bits, sizeof(f));
  big = f > 1.41421356237309504880;
  f   = big ? 0.5 * f : f;
  e   = big ? e + 1 : e;
  s   = (f - 1) / (f + 1);
  s2  = s * s;
  p   = 1.0 / 23;
  for (int k = 21; k >= 3; k -= 2) p = p * s2 + 1.0 / k;
  p = p * s2 + 1;
  return x != x ? x : e * ln2hi + (e * ln2lo + 2 * s * p);
}

/* sin(2 pi u) and cos(2 pi u) for u in [0, 1) (NaN stays NaN): 4u = q + f
   exactly, q the quadrant; the angle x = (pi/2) g, g = min(f, 1 - f) <=
   1/2, by Taylor polynomials to x^17 and x^18 (truncation below 2^-60);
   then the symmetries of the quadrant. */
static inline void SinCosTwoPi(double u, double *sn, double *cs)
{
  /* (-1)^k / (2k+1)! and (-1)^k / (2k)! */
  static const double S[9]  = {1, -1.66666666666666666667e-01, 8.33333333333333333333e-03, -1.98412698412698412698e-04, 2.75573192239858906526e-06, -2.50521083854417187751e-08, 1.60590438368216145994e-10, -7.64716373181981647590e-13, 2.81145725434552076320e-15};
  static const double C[10] = {1, -0.5, 4.16666666666666666667e-02, -1.38888888888888888889e-03, 2.48015873015873015873e-05, -2.75573192239858906526e-07, 2.08767569878680989792e-09, -1.14707455977297247139e-11, 4.77947733238738529744e-14, -1.56192069685862264622e-16};
  double              t = 4 * u, q = (double)(int)t, f = t - q, g = f <= 0.5 ? f : 1 - f, x = 1.57079632679489661923 * g, x2 = x * x, sp = S[8], cp = C[9], sf, cf;

  for (int k = 7; k >= 0; k--) sp = sp * x2 + S[k];
  for (int k = 8; k >= 0; k--) cp = cp * x2 + C[k];
  sp *= x;
  sf  = f <= 0.5 ? sp : cp;
  cf  = f <= 0.5 ? cp : sp;
  *sn = q == 0 ? sf : q == 1 ? cf
                  : q == 2   ? -sf
                             : -cf;
  *cs = q == 0 ? cf : q == 1 ? -sf
                  : q == 2   ? -cf
                             : sf;
  if (u != u) *sn = *cs = u;
}

/* Box-Muller: c[k] = r cos(2 pi u1[k]), s[k] = r sin(2 pi u1[k]), r =
   sqrt(-2 log u0[k]), for u0 in (0, 1], u1 in [0, 1). */
PGF_CLONES void PgfBoxMullerArray(PetscInt n, const PetscReal *u0, const PetscReal *u1, PetscReal *c, PetscReal *s)
{
#pragma omp simd
  for (PetscInt k = 0; k < n; k++) {
    double r = sqrt(-2 * Log(u0[k])), sn, cs;

    SinCosTwoPi(u1[k], &sn, &cs);
    c[k] = r * cs;
    s[k] = r * sn;
  }
}

/* y[k] = log x[k] and the pair sin, cos of 2 pi x[k], for the tests. */
PGF_CLONES void PgfLogArray(PetscInt n, const PetscReal *x, PetscReal *y)
{
#pragma omp simd
  for (PetscInt k = 0; k < n; k++) y[k] = Log(x[k]);
}

PGF_CLONES void PgfSinCosTwoPiArray(PetscInt n, const PetscReal *u, PetscReal *s, PetscReal *c)
{
#pragma omp simd
  for (PetscInt k = 0; k < n; k++) SinCosTwoPi(u[k], &s[k], &c[k]);
}
