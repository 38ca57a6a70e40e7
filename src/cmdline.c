/* The command line, checked before PETSc reads it. PETSc silently ignores
   words that are not options (an options file given without -options_file
   runs the default job), stops with a long trace on a malformed options
   file, and recurses without end into a file that includes itself. Here
   every such mistake becomes one sentence, said before any work starts.
   An options file is read line by line as PETSc 3.18's
   PetscOptionsInsertFile reads it (src/sys/objects/options.c), so that
   what passes here is what PETSc accepts.
   This runs before PetscInitialize: plain C, no PETSc calls. */
#include "pgfimpl.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* PETSc's PetscOptionsValidKey: one or two dashes, a letter, and not a
   number (-1e-3 and -inf are values, -info is an option). */
static int IsOption(const char *w)
{
  char *end;

  if (!w || w[0] != '-') return 0;
  if (w[1] == '-') w++;
  if (!isalpha((unsigned char)w[1])) return 0;
  (void)strtod(w, &end);
  return end == w || *end == '_' || isalnum((unsigned char)*end);
}

/* PETSc's PetscTokenFind with a blank as separator: the next word of *s, or
   NULL at the end; a word opened by '"' runs to the next '"' and may hold
   blanks. A line starting with blanks gives one empty word first, which
   PETSc's file reader skips. */
static char *Token(char **s)
{
  char *w = *s, *p = w, sep = ' ';

  if (!w || !*w) return NULL;
  if (*p == '"') {
    sep = '"';
    w++;
    p++;
  }
  for (;; p++) {
    if (*p == sep) {
      *p++ = 0;
      while (*p == ' ') p++;
      *s = p;
      return w;
    }
    if (!*p) {
      *s = NULL;
      return w;
    }
  }
}

static int CheckFile(Check *c, const char *path);

/* Words of the command line or of PETSC_OPTIONS (where says which): options
   with at most one value each. */
static int CheckWords(Check *c, const char *where, int n, char **w)
{
  for (int i = 0; i < n; i++) {
    if (!IsOption(w[i])) {
      if (i == 0 || !IsOption(w[i - 1])) return Fail(c, "%s: '%s' is not an option: pgflow takes options only (-name value; an options file goes after -options_file)", where, w[i]);
      continue;
    }
    if (w[i][1] == '-' && strcmp(w[i], "--help")) return Fail(c, "%s: '%s': options start with one dash (-%s)", where, w[i], w[i] + 2);
    if (!strcasecmp(w[i], "-options_file")) {
      if (i + 1 >= n || w[i + 1][0] == '-') return Fail(c, "%s: -options_file needs a file name", where);
      if (CheckFile(c, w[i + 1])) return 1;
    }
  }
  return 0;
}

/* One line of an options file, comment and line end removed, as PETSc
   takes it: nothing, "-name" or "-name value", or "alias -new -old". */
static int CheckLine(Check *c, const char *where, char *line)
{
  char *w[4], *s = line;

  for (char *p = line; *p; p++)
    if (*p == '\t' || *p == '\r' || *p == '\n') *p = ' ';
  w[0] = Token(&s);
  if (w[0] && !w[0][0]) w[0] = Token(&s);
  if (!w[0]) return 0;
  for (int i = 1; i < 4; i++) w[i] = Token(&s);
  if (!strcasecmp(w[0], "alias")) {
    if (!IsOption(w[1])) return Fail(c, "%s: alias needs two option names (alias -new -old)", where);
    if (!IsOption(w[2])) return Fail(c, "%s: alias %s needs the option it stands for (alias -new -old)", where, w[1]);
    if (w[3]) return Fail(c, "%s: '%s' after alias %s %s: one alias per line", where, w[3], w[1], w[2]);
    return 0;
  }
  if (w[0][0] != '-') return Fail(c, "%s: '%s' is not an option: a line holds one option and its value (-name value), 'alias -new -old' or a comment after #", where, w[0]);
  if (!IsOption(w[0])) return Fail(c, "%s: '%s' is not an option name (a dash, a letter, then letters, digits or underscores)", where, w[0]);
  if (w[0][1] == '-') return Fail(c, "%s: '%s': options start with one dash (-%s)", where, w[0], w[0] + 2);
  if (IsOption(w[1])) return Fail(c, "%s: two options on one line (%s and %s): one option per line", where, w[0], w[1]);
  if (IsOption(w[2])) return Fail(c, "%s: two options on one line (%s and %s): one option per line", where, w[0], w[2]);
  if (w[2]) return Fail(c, "%s: %s has more than one value ('%s' and '%s'): one option and its value per line", where, w[0], w[1], w[2]);
  if (!strcasecmp(w[0], "-options_file")) {
    if (!w[1]) return Fail(c, "%s: -options_file needs a file name", where);
    return CheckFile(c, w[1]);
  }
  return 0;
}

/* A file PETSc reads as YAML (by its name or its first bytes): checked by
   PETSc alone. */
static int IsYaml(const char *path)
{
  const char *ext[]   = {".yaml", ".yml", ".json"};
  size_t      len     = strlen(path);
  char        head[7] = "";
  FILE       *f;

  for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
    if (len >= strlen(ext[i]) && !strcmp(path + len - strlen(ext[i]), ext[i])) return 1;
  if (!(f = fopen(path, "r"))) return 0;
  if (!fread(head, 1, 6, f)) head[0] = 0;
  fclose(f);
  return !strncmp(head, "%YAML ", 6) || !strncmp(head, "---", 3);
}

/* An options file as PETSc reads it: per line, a comment from '#', then the
   rest as CheckLine says. */
static int CheckFile(Check *c, const char *path)
{
  char        where[PATH_MAX + 64], *line = NULL, real[PATH_MAX];
  size_t      cap = 0, len = strlen(path);
  struct stat st;
  FILE       *f;
  int         lineno = 0, bad = 0;

  /* names PETSc rewrites (${VAR}, a ":yaml" suffix) and YAML files are left
     to PETSc, whose errors still end in one line (src/error.c) */
  if (strstr(path, "${") || (len > 5 && !strcmp(path + len - 5, ":yaml"))) return 0;
  if (stat(path, &st)) return Fail(c, "-options_file %s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return Fail(c, "-options_file %s: not a regular file", path);
  if (!realpath(path, real)) return Fail(c, "-options_file %s: %s", path, strerror(errno));
  if (IsYaml(path)) return 0;
  for (int k = 0; k < c->depth; k++)
    if (!strcmp(c->stack[k], real)) return Fail(c, "-options_file %s: the file includes itself (through -options_file %s)", path, c->stack[c->depth - 1]);
  if (c->depth == MAX_DEPTH) return Fail(c, "-options_file %s: options files nested more than %d deep", path, MAX_DEPTH);
  if (!(f = fopen(path, "r"))) return Fail(c, "-options_file %s: %s", path, strerror(errno));
  c->stack[c->depth++] = real;
  for (ssize_t nread; !bad && (nread = getline(&line, &cap, f)) >= 0;) {
    char *hash;

    lineno++;
    snprintf(where, sizeof(where), "-options_file %s, line %d", path, lineno);
    /* PETSc would take other control characters as part of a word */
    for (ssize_t k = 0; k < nread && !bad; k++)
      if ((unsigned char)line[k] < 32 && line[k] != '\t' && line[k] != '\r' && line[k] != '\n') bad = Fail(c, "%s: not a text file of options", where);
    if (bad) break;
    if ((hash = strchr(line, '#'))) *hash = 0;
    bad = CheckLine(c, where, line);
  }
  free(line);
  fclose(f);
  c->depth--;
  return bad;
}

static int Readable(const char *path)
{
  struct stat st;

  return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, R_OK);
}

int PgfCheckCommandLine(int argc, char **argv, char msg[], size_t len)
{
  Check       c   = {msg, len, {NULL}, 0};
  const char *env = getenv("PETSC_OPTIONS"), *home = getenv("HOME");
  char        rc[PATH_MAX];

  msg[0] = 0;
  if (CheckWords(&c, "command line", argc - 1, argv + 1)) return 1;
  if (env) {
    char *copy = strdup(env), *s = copy, *w[1024];
    int   n = 0, bad;

    /* PETSc splits PETSC_OPTIONS at blanks only, a quoted word whole */
    while (n < 1024 && (w[n] = Token(&s))) n += w[n][0] != 0;
    bad = CheckWords(&c, "PETSC_OPTIONS", n, w);
    free(copy);
    if (bad) return 1;
  }
  /* the files PETSc reads by itself, unless told not to; it skips those it
     cannot read (a directory, no permission) without a word */
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-skip_petscrc")) return 0;
  if (home && snprintf(rc, sizeof(rc), "%s/.petscrc", home) < (int)sizeof(rc) && Readable(rc) && CheckFile(&c, rc)) return 1;
  if (Readable(".petscrc") && CheckFile(&c, ".petscrc")) return 1;
  if (Readable("petscrc") && CheckFile(&c, "petscrc")) return 1;
  return 0;
}
