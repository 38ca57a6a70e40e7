/* The command line, checked before PETSc reads it. PETSc silently ignores
   words that are not options (an options file given without -options_file
   runs the default job), stops with a long trace on a malformed options
   file, and recurses without end into a file that includes itself. Here
   every such mistake becomes one sentence, said before any work starts.
   This runs before PetscInitialize: plain C, no PETSc calls. */
#include "pgfimpl.h"
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#define MAX_DEPTH 16

typedef struct {
  char  *msg;
  size_t len;
  char  *stack[MAX_DEPTH]; /* options files being read, outermost first */
  int    depth;
} Check;

static int Fail(Check *c, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(c->msg, c->len, fmt, ap);
  va_end(ap);
  return 1;
}

/* A word that PETSc takes as an option name: a dash not followed by a digit
   or a dot (-1e-3 is a value). */
static int IsOption(const char *w)
{
  return w[0] == '-' && w[1] && !(w[1] >= '0' && w[1] <= '9') && w[1] != '.';
}

static int CheckFile(Check *c, const char *path);

/* Words of the command line, of PETSC_OPTIONS or of one line of an options
   file (where says which): options with at most one value each. */
static int CheckWords(Check *c, const char *where, int n, char **w)
{
  for (int i = 0; i < n; i++) {
    if (!IsOption(w[i])) {
      if (i == 0 || !IsOption(w[i - 1])) return Fail(c, "%s: '%s' is not an option: pgflow takes options only (-name value; an options file goes after -options_file)", where, w[i]);
      continue;
    }
    if (w[i][1] == '-' && strcmp(w[i], "--help")) return Fail(c, "%s: '%s': options start with one dash (-%s)", where, w[i], w[i] + 2);
    if (!strcmp(w[i], "-options_file")) {
      if (i + 1 >= n || IsOption(w[i + 1])) return Fail(c, "%s: -options_file needs a file name", where);
      if (CheckFile(c, w[i + 1])) return 1;
    }
  }
  return 0;
}

/* Splits s in place into at most max words; returns their number. */
static int Split(char *s, char **w, int max)
{
  int n = 0;

  for (char *t = strtok(s, " \t\r\n"); t && n < max; t = strtok(NULL, " \t\r\n")) w[n++] = t;
  return n;
}

/* An options file as PETSc reads it: per line, a comment from '#', then an
   option and its value (or several), or "alias -new -old". */
static int CheckFile(Check *c, const char *path)
{
  char        where[PATH_MAX + 64], *line = NULL, *w[256], real[PATH_MAX];
  size_t      cap = 0;
  struct stat st;
  FILE       *f;
  int         lineno = 0, bad = 0;

  if (stat(path, &st)) return Fail(c, "-options_file %s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return Fail(c, "-options_file %s: not a regular file", path);
  if (!realpath(path, real)) return Fail(c, "-options_file %s: %s", path, strerror(errno));
  for (int k = 0; k < c->depth; k++)
    if (!strcmp(c->stack[k], real)) return Fail(c, "-options_file %s: the file includes itself (through -options_file %s)", path, c->stack[c->depth - 1]);
  if (c->depth == MAX_DEPTH) return Fail(c, "-options_file %s: options files nested more than %d deep", path, MAX_DEPTH);
  if (!(f = fopen(path, "r"))) return Fail(c, "-options_file %s: %s", path, strerror(errno));
  c->stack[c->depth++] = real;
  for (ssize_t nread; !bad && (nread = getline(&line, &cap, f)) >= 0;) {
    char *hash;
    int   n;

    lineno++;
    snprintf(where, sizeof(where), "-options_file %s, line %d", path, lineno);
    for (ssize_t k = 0; k < nread && !bad; k++)
      if ((unsigned char)line[k] < 32 && line[k] != '\t' && line[k] != '\r' && line[k] != '\n') bad = Fail(c, "%s: not a text file of options", where);
    if (bad) break;
    if ((hash = strchr(line, '#'))) *hash = 0;
    n = Split(line, w, 256);
    if (n == 3 && !strcmp(w[0], "alias")) continue;
    bad = CheckWords(c, where, n, w);
  }
  free(line);
  fclose(f);
  c->depth--;
  return bad;
}

int PgfCheckCommandLine(int argc, char **argv, char msg[], size_t len)
{
  Check       c   = {msg, len, {NULL}, 0};
  const char *env = getenv("PETSC_OPTIONS"), *home = getenv("HOME");
  char        rc[PATH_MAX];
  struct stat st;

  msg[0] = 0;
  if (CheckWords(&c, "command line", argc - 1, argv + 1)) return 1;
  if (env) {
    char *copy = strdup(env), *w[1024];
    int   bad  = CheckWords(&c, "PETSC_OPTIONS", Split(copy, w, 1024), w);

    free(copy);
    if (bad) return 1;
  }
  /* the files PETSc reads by itself, unless told not to */
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-skip_petscrc")) return 0;
  if (home && snprintf(rc, sizeof(rc), "%s/.petscrc", home) < (int)sizeof(rc) && !stat(rc, &st) && CheckFile(&c, rc)) return 1;
  if (!stat(".petscrc", &st) && CheckFile(&c, ".petscrc")) return 1;
  return 0;
}
