/* The vectorized activations of src/vmath.c against long double libm
   (about 11 more bits than double) on many points of every range: the
   largest relative error of each, in units of 2^-52, must stay within the
   bound stated in vmath.c; special values (0, -0, +-inf, NaN, underflow) as
   libm gives them; and the same bits whether an element is computed in the
   vector body or alone (what makes recomputed activations equal stored
   ones). Usage: t_vmath [-points N] */
#include <pgflow.h>
#include "../src/vmath.h"
#include <math.h>
#include <string.h>

typedef void (*ArrayFn)(PetscInt, const PetscReal *, PetscReal *);

typedef struct {
  const char *name;
  ArrayFn     fn;
  long double (*ref)(long double);
  double lo, hi, bound; /* points in [lo, hi]; bound in units of 2^-52 */
  int    absolute; /* the bound on the absolute error (values within [-1, 1]) */
} Case;

static long double RefExp(long double x) { return expl(x); }
static long double RefSigmoid(long double z) { return z >= 0 ? 1 / (1 + expl(-z)) : expl(z) / (1 + expl(z)); }
static long double RefTanh(long double z) { return tanhl(z); }
/* at the double argument -z^2/2 of the formula (its rounding alone is z^2/2 2^-53 relative) */
static long double RefErfDerivative(long double z) { return 0.797884560802865355879892119868763737L * expl(-0.5 * ((double)z * (double)z)); }
static long double RefErf(long double z) { return erfl(z * 0.707106781186547524400844362104849039L); }
static long double RefLog(long double x) { return logl(x); }
static long double RefSinTwoPi(long double u) { return sinl(6.28318530717958647692528676655900577L * u); }
static long double RefCosTwoPi(long double u) { return cosl(6.28318530717958647692528676655900577L * u); }
static void        SinCosTwoPi(PetscInt n, const PetscReal *u, PetscReal *y, int cosine)
{
  PetscReal *other = malloc(n * sizeof(PetscReal));

  if (cosine) PgfSinCosTwoPiArray(n, u, other, y);
  else PgfSinCosTwoPiArray(n, u, y, other);
  free(other);
}
static void SinTwoPi(PetscInt n, const PetscReal *u, PetscReal *y) { SinCosTwoPi(n, u, y, 0); }
static void CosTwoPi(PetscInt n, const PetscReal *u, PetscReal *y) { SinCosTwoPi(n, u, y, 1); }
static void ErfDerivative(PetscInt n, const PetscReal *z, PetscReal *ds)
{
  PetscReal *s = malloc(n * sizeof(PetscReal));

  PgfErfDerivativeArray(n, z, s, ds);
  free(s);
}

/* Point k of n: half spread uniformly over [lo, hi], half log-uniformly in
   magnitude from 1e-300 to max(|lo|, |hi|) with either sign, clipped. */
static double Point(PetscInt k, PetscInt n, double lo, double hi)
{
  double u = PgfRandUniform(11, PGF_STREAM_INPUTS, k, 0), big = fmax(fabs(lo), fabs(hi)), x;

  if (k % 2) return lo + (hi - lo) * u;
  x = exp(log(1e-300) + (log(big) - log(1e-300)) * u);
  x = PgfRandUniform(11, PGF_STREAM_INPUTS, k, 1) < 0.5 ? -x : x;
  return fmin(fmax(x, lo), hi);
}

static int Check(const Case *c, PetscInt n)
{
  const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-310, -1e-310, 708.3964185322641, -708.3964185322641, -708.4, -745.2, 20, -20, 40, -40};
  const int    ns        = (int)(sizeof(special) / sizeof(special[0]));
  double      *x, *y, maxerr = 0, worst = 0;
  int          fails = 0;

  x = malloc((n + ns) * sizeof(double));
  y = malloc((n + ns) * sizeof(double));
  for (int k = 0; k < ns; k++) x[k] = special[k];
  for (PetscInt k = 0; k < n; k++) x[ns + k] = Point(k, n, c->lo, c->hi);
  for (PetscInt k = 0; k < n + ns; k++) x[k] = fmin(fmax(x[k], c->lo), c->hi) == x[k] || isnan(x[k]) ? x[k] : c->lo; /* keep the domain */
  c->fn(n + ns, x, y);
  for (PetscInt k = 0; k < n + ns; k++) {
    long double r = c->ref(x[k]);
    double      one, err;

    c->fn(1, &x[k], &one);
    if (memcmp(&one, &y[k], sizeof(one))) {
      if (fails < 5) printf("%s(%.17g): %.17g alone, %.17g in the array\n", c->name, x[k], one, y[k]);
      fails++;
    }
    if (isnan(r) || isnan(y[k])) {
      if (isnan(r) != isnan(y[k])) fails++, printf("%s(%.17g) = %.17g, libm %.17Lg\n", c->name, x[k], y[k], r);
      continue;
    }
    if (fabsl(r) < 0x1p-1022L) { /* subnormal: absolute error */
      if (fabsl(y[k] - r) > 0x1p-1021L) fails++, printf("%s(%.17g) = %.17g, libm %.17Lg\n", c->name, x[k], y[k], r);
      continue;
    }
    err = (double)(fabsl((long double)y[k] - r) / (c->absolute ? 1 : fabsl(r))) * 0x1p52;
    if (err > maxerr) maxerr = err, worst = x[k];
  }
  printf("%-16s on %" PetscInt_FMT " points in [%g, %g]: max %s error %.3f x 2^-52 (at %.17g), bound %g\n", c->name, n + ns, c->lo, c->hi, c->absolute ? "absolute" : "relative", maxerr, worst, c->bound);
  free(x);
  free(y);
  return fails + (maxerr > c->bound);
}

int main(int argc, char **argv)
{
  PetscInt   n       = 1000000;
  const Case cases[] = {
      {"exp(x <= 0)", PgfExpNonPositiveArray, RefExp, -800, 0, 1, 0},
      {"sigmoid", PgfSigmoidArray, RefSigmoid, -800, 800, 2, 0},
      {"tanh", PgfTanhArray, RefTanh, -50, 50, 2, 0},
      {"erf", PgfErfArray, RefErf, -50, 50, 3, 0},
      {"erf'", ErfDerivative, RefErfDerivative, -50, 50, 2, 0},
      {"log", PgfLogArray, RefLog, 1e-300, 1e300, 2, 0},
      {"sin(2 pi u)", SinTwoPi, RefSinTwoPi, 0, 0x1.fffffffffffffp-1, 2, 1},
      {"cos(2 pi u)", CosTwoPi, RefCosTwoPi, 0, 0x1.fffffffffffffp-1, 2, 1},
  };
  int fails = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-points", &n, NULL));
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) fails += Check(&cases[c], n);
  PetscCall(PetscFinalize());
  return fails != 0;
}

/*TEST
libm/error-bounds: vectorized exp, sigmoid, tanh, erf, erf', log and sin, cos of 2 pi u within their error bounds of libm, same bits alone or in arrays
TEST*/
