/* Reads results files back (doc/results-file.md).
     t_results check FILE            structure, attributes, shapes, consistency
     t_results get FILE DATASET      prints the last value of a dataset
     t_results attr FILE NAME        prints a root attribute
     t_results compare A B DATASET TOL
                                     |a - b|_2 <= TOL |a|_2 (TOL 0: bitwise)
     t_results compare0 A B DATASET TOL   the same for the first row only */
#include <hdf5.h>
#include <petscsys.h>
#include <math.h>

static int failures;

#define EXPECT(cond, ...)           \
  do {                              \
    if (!(cond)) {                  \
      printf("FAIL: " __VA_ARGS__); \
      printf("\n");                 \
      failures++;                   \
    }                               \
  } while (0)

static double *ReadAll(hid_t file, const char *path, int *ndims, hsize_t dims[3])
{
  hid_t   d, s;
  size_t  n = 1;
  double *data;

  if (H5Lexists(file, path, H5P_DEFAULT) <= 0) return NULL;
  d      = H5Dopen2(file, path, H5P_DEFAULT);
  s      = H5Dget_space(d);
  *ndims = H5Sget_simple_extent_dims(s, dims, NULL);
  for (int k = 0; k < *ndims; k++) n *= dims[k];
  data = malloc(sizeof(double) * (n ? n : 1));
  if (n) H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Sclose(s);
  H5Dclose(d);
  return data;
}

static int AttrString(hid_t file, const char *name, char *buf, size_t len)
{
  hid_t a, t;

  if (H5Aexists(file, name) <= 0) return -1;
  a = H5Aopen(file, name, H5P_DEFAULT);
  t = H5Aget_type(a);
  if (H5Tget_class(t) == H5T_STRING) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, len);
    H5Aread(a, mt, buf);
    H5Tclose(mt);
  } else {
    long long v;
    H5Aread(a, H5T_NATIVE_LLONG, &v);
    snprintf(buf, len, "%lld", v);
  }
  H5Tclose(t);
  H5Aclose(a);
  return 0;
}

static int Check(hid_t file)
{
  const char *attrs[] = {"problem", "particles", "ranks", "seed", "version", "options", "completed", "stop_reason"};
  char        buf[65536];
  int         nd;
  hsize_t     dt[3], dw[3], dth[3], dl[3], dfw[3], dft[3], dh[3];
  double     *t, *w, *th, *loss, *fw, *fth, *ht;
  long long   m;

  for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) EXPECT(AttrString(file, attrs[i], buf, sizeof(buf)) == 0, "attribute %s missing", attrs[i]);
  AttrString(file, "particles", buf, sizeof(buf));
  m    = atoll(buf);
  t    = ReadAll(file, "/snapshots/t", &nd, dt);
  w    = ReadAll(file, "/snapshots/w", &nd, dw);
  th   = ReadAll(file, "/snapshots/theta", &nd, dth);
  loss = ReadAll(file, "/snapshots/loss", &nd, dl);
  fw   = ReadAll(file, "/final/w", &nd, dfw);
  fth  = ReadAll(file, "/final/theta", &nd, dft);
  ht   = ReadAll(file, "/history/t", &nd, dh);
  EXPECT(t && w && th && loss && fw && fth && ht, "a dataset of /snapshots, /final or /history is missing");
  if (failures) return failures;
  EXPECT(dt[0] >= 1 && dw[0] == dt[0] && dth[0] == dt[0] && dl[0] == dt[0], "snapshot counts differ");
  EXPECT((long long)dw[1] == m && (long long)dth[1] == m && (long long)dfw[0] == m && (long long)dft[0] == m, "particle counts differ from the attribute");
  EXPECT(dth[2] == dft[1], "position dimensions differ");
  EXPECT(t[0] == 0, "first snapshot not at t = 0");
  for (hsize_t k = 1; k < dt[0]; k++) EXPECT(t[k] > t[k - 1], "snapshot times not increasing at %llu", (unsigned long long)k);
  for (hsize_t k = 1; k < dh[0]; k++) EXPECT(ht[k] > ht[k - 1], "history times not increasing at %llu", (unsigned long long)k);
  {
    size_t K = dt[0] - 1, p = dth[2];
    for (size_t i = 0; i < (size_t)m; i++) {
      EXPECT(fw[i] == w[K * m + i], "final w differs from the last snapshot at particle %zu", i);
      for (size_t c = 0; c < p; c++) EXPECT(fth[i * p + c] == th[(K * m + i) * p + c], "final theta differs from the last snapshot");
    }
  }
  printf("%s: %llu snapshots of %lld particles in dimension %llu, %llu history rows\n", failures ? "FAILED" : "ok", (unsigned long long)dt[0], m, (unsigned long long)dth[2], (unsigned long long)dh[0]);
  return failures;
}

/* Compares whole datasets, or only their first row when first is set. */
static int Compare(hid_t a, hid_t b, const char *path, double tol, int first)
{
  int     na, nb;
  hsize_t da[3], db[3];
  double *x = ReadAll(a, path, &na, da), *y = ReadAll(b, path, &nb, db), diff = 0, norm = 0;
  size_t  n = 1;

  if (!x || !y || na != nb) {
    printf("FAIL: %s missing or of different rank\n", path);
    return 1;
  }
  for (int k = 0; k < na; k++) {
    if (da[k] != db[k]) {
      printf("FAIL: %s shapes differ\n", path);
      return 1;
    }
    if (k || !first) n *= da[k];
  }
  for (size_t i = 0; i < n; i++) {
    diff += (x[i] - y[i]) * (x[i] - y[i]);
    norm += x[i] * x[i];
  }
  diff = sqrt(diff);
  norm = sqrt(norm);
  printf("%s%s: |a - b| = %.3e, |a| = %.3e, relative %.3e (tolerance %.1e)\n", path, first ? "[0]" : "", diff, norm, norm > 0 ? diff / norm : diff, tol);
  return tol == 0 ? diff != 0 : !(diff <= tol * norm);
}

int main(int argc, char **argv)
{
  hid_t file;
  int   rc;

  if (argc < 3) {
    fprintf(stderr, "usage: t_results check|get|attr|compare FILE ...\n");
    return 2;
  }
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  file = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) {
    printf("FAIL: cannot open %s\n", argv[2]);
    return 1;
  }
  if (!strcmp(argv[1], "check")) rc = Check(file);
  else if (!strcmp(argv[1], "get") && argc == 4) {
    int     nd;
    hsize_t d[3];
    size_t  n = 1;
    double *x = ReadAll(file, argv[3], &nd, d);

    for (int k = 0; k < (x ? nd : 0); k++) n *= d[k];
    if (x) printf("%.17g\n", x[n - 1]);
    rc = !x;
  } else if (!strcmp(argv[1], "attr") && argc == 4) {
    char buf[65536];

    rc = AttrString(file, argv[3], buf, sizeof(buf));
    if (!rc) printf("%s\n", buf);
  } else if ((!strcmp(argv[1], "compare") || !strcmp(argv[1], "compare0")) && argc == 6) {
    hid_t other = H5Fopen(argv[3], H5F_ACC_RDONLY, H5P_DEFAULT);

    rc = other < 0 || Compare(file, other, argv[4], atof(argv[5]), !strcmp(argv[1], "compare0"));
    if (other >= 0) H5Fclose(other);
  } else {
    fprintf(stderr, "t_results: unknown command or wrong arguments\n");
    rc = 2;
  }
  H5Fclose(file);
  return rc;
}
