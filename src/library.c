/* Problems from shared libraries: `-dll_append LIB` makes PETSc open LIB
   in PetscInitialize and call its PetscDLLibraryRegister_NAME (NAME: the
   file's name without "lib" and extensions), which registers problems with
   PgfModelRegister (doc/installing.md, Problems outside the tree). PETSc
   accepts a library that registers nothing; pgflow refuses it. */
#include "pgfimpl.h"
#include <dlfcn.h>

/* The loaded objects (executable or library) that hold a registered
   problem's create function, by load address: a handful of problems. */
static const void *holders[64];
static int         nholders;

PetscErrorCode PgfLibraryRegistered(void (*create)(void))
{
  Dl_info info;

  PetscFunctionBegin;
  if (!dladdr(*(void **)&create, &info)) PetscFunctionReturn(0);
  for (int k = 0; k < nholders; k++)
    if (holders[k] == info.dli_fbase) PetscFunctionReturn(0);
  PetscCheck(nholders < (int)PETSC_STATIC_ARRAY_LENGTH(holders), PETSC_COMM_SELF, PETSC_ERR_SUP, "more than %d libraries of problems", (int)PETSC_STATIC_ARRAY_LENGTH(holders));
  holders[nholders++] = info.dli_fbase;
  PetscFunctionReturn(0);
}

/* Collective: every library of -dll_append registered a problem. */
PetscErrorCode PgfLibrariesCheck(MPI_Comm comm)
{
  char    *libs[32];
  PetscInt n = PETSC_STATIC_ARRAY_LENGTH(libs);

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetStringArray(NULL, NULL, "-dll_append", libs, &n, NULL));
  for (PetscInt i = 0; i < n; i++) {
    const char *base = strrchr(libs[i], '/') ? strrchr(libs[i], '/') + 1 : libs[i];
    char        symbol[PETSC_MAX_PATH_LEN];
    void       *reg   = NULL;
    PetscBool   found = PETSC_FALSE;
    Dl_info     info;

    if (!strncmp(base, "lib", 3)) base += 3;
    PetscCall(PetscSNPrintf(symbol, sizeof(symbol), "PetscDLLibraryRegister_%.*s", (int)strcspn(base, "."), base));
    PetscCall(PetscDLLibrarySym(comm, &PetscDLLibrariesLoaded, libs[i], symbol, &reg));
    if (reg && dladdr(reg, &info))
      for (int k = 0; k < nholders; k++) found = (PetscBool)(found || holders[k] == info.dli_fbase);
    PgfCheckInput(comm, found, "-dll_append %s: not a library of pgflow problems: it must define %s and register a problem with PgfModelRegister (doc/installing.md)", libs[i], symbol);
    PetscCall(PetscFree(libs[i]));
  }
  PetscFunctionReturn(0);
}
