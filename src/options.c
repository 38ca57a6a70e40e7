/* Typed option readers that check what the user wrote and name the option
   when it is wrong. They are used inside PetscOptionsBegin/End blocks, so
   -help still lists every option with its default. */
#include "pgfimpl.h"
#include "options.h"
#include <errno.h>

/* The text the user wrote for an option (empty when given without a value),
   checked here before PETSc's reader would reject it with a traceback. */
static PetscErrorCode RawValue(const char opt[], char buf[], size_t len, PetscBool *set)
{
  PetscFunctionBegin;
  buf[0] = 0;
  PetscCall(PetscOptionsGetString(NULL, NULL, opt, buf, len, set));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfOptionsInt_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], PetscInt def, PetscInt lo, PetscInt hi, PetscInt *value)
{
  char      buf[256], *end;
  PetscBool set;
  long long v;

  PetscFunctionBegin;
  *value = def;
  PetscCall(RawValue(opt, buf, sizeof(buf), &set));
  if (set) {
    errno = 0;
    v     = strtoll(buf, &end, 10);
    PgfCheckInput(comm, buf[0] && !*end && !errno && v >= lo && v <= hi, "%s must be an integer in [%" PetscInt_FMT ", %" PetscInt_FMT "] (got '%s')", opt, lo, hi, buf);
  }
  PetscCall(PetscOptionsInt(opt, text, NULL, def, value, NULL));
  PetscCall(PgfParamsAddInt(opt, *value));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfOptionsReal_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], PetscReal def, PetscReal lo, PetscReal hi, PetscReal *value)
{
  char      buf[256], *end;
  PetscBool set;
  double    v;

  PetscFunctionBegin;
  *value = def;
  PetscCall(RawValue(opt, buf, sizeof(buf), &set));
  if (set) {
    v = strtod(buf, &end);
    PgfCheckInput(comm, buf[0] && !*end && !PetscIsInfOrNanReal(v) && v >= lo && v <= hi, "%s must be a number in [%g, %g] (got '%s')", opt, (double)lo, (double)hi, buf);
  }
  PetscCall(PetscOptionsReal(opt, text, NULL, def, value, NULL));
  PetscCall(PgfParamsAddReal(opt, *value));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfOptionsBool_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], PetscBool def, PetscBool *value)
{
  const char *names[] = {"false", "true", "0", "1", "no", "yes", "off", "on"};
  char        buf[256];
  PetscBool   set, known = PETSC_FALSE;

  PetscFunctionBegin;
  *value = def;
  PetscCall(RawValue(opt, buf, sizeof(buf), &set));
  if (set && buf[0]) {
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
      PetscBool eq;

      PetscCall(PetscStrcasecmp(buf, names[i], &eq));
      known = (PetscBool)(known || eq);
    }
    PgfCheckInput(comm, known, "%s must be true or false (got '%s')", opt, buf);
  }
  PetscCall(PetscOptionsBool(opt, text, NULL, def, value, NULL));
  PetscCall(PgfParamsAdd(opt, *value ? "true" : "false"));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfOptionsEList_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], const char *const names[], PetscInt n, PetscInt def, PetscInt *value)
{
  char      buf[256], accepted[512] = "";
  PetscBool set;

  PetscFunctionBegin;
  PetscCall(RawValue(opt, buf, sizeof(buf), &set));
  *value = def;
  if (set) {
    *value = -1;
    for (PetscInt i = 0; i < n; i++) {
      PetscBool eq;

      PetscCall(PetscStrcmp(buf, names[i], &eq));
      if (eq) *value = i;
      PetscCall(PetscStrlcat(accepted, i ? ", " : "", sizeof(accepted)));
      PetscCall(PetscStrlcat(accepted, names[i], sizeof(accepted)));
    }
    PgfCheckInput(comm, *value >= 0, "%s must be one of %s (got '%s')", opt, accepted, buf);
  }
  PetscCall(PetscOptionsEList(opt, text, NULL, names, n, names[def], value, NULL));
  PetscCall(PgfParamsAdd(opt, names[*value]));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfOptionsString_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], const char def[], char value[], size_t len)
{
  PetscBool set;

  PetscFunctionBegin;
  PetscCall(PetscOptionsString(opt, text, NULL, def, value, len, &set));
  PgfCheckInput(comm, !set || value[0], "%s needs a value", opt);
  if (!set) PetscCall(PetscStrncpy(value, def, len));
  PgfCheckInput(comm, strlen(value) + 1 < len, "%s: the value is longer than %zu characters", opt, len - 2);
  PetscCall(PgfParamsAdd(opt, value));
  PetscFunctionReturn(0);
}

/* A size in bytes: a number with an optional binary suffix k, M, G or T. */
PetscErrorCode PgfOptionsBytes_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], PetscReal def, PetscReal *value)
{
  const char *units = "kMGT", *u;
  char        buf[256], defstr[64], *end;
  PetscBool   set;
  double      v;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(defstr, sizeof(defstr), "%.4gG", (double)(def / (1 << 30))));
  PetscCall(PetscOptionsString(opt, text, NULL, defstr, buf, sizeof(buf), &set));
  *value = def;
  if (!set) {
    PetscCall(PgfParamsAddReal(opt, *value));
    PetscFunctionReturn(0);
  }
  v = strtod(buf, &end);
  if (*end && !end[1] && (u = strchr(units, *end))) {
    v *= PetscPowReal(1024, (PetscReal)(u - units + 1));
    end++;
  }
  PgfCheckInput(comm, buf[0] && !*end && !PetscIsInfOrNanReal(v) && v > 0, "%s must be a positive number of bytes, optionally with a suffix k, M, G or T (got '%s')", opt, buf);
  *value = v;
  PetscCall(PgfParamsAddReal(opt, *value));
  PetscFunctionReturn(0);
}
