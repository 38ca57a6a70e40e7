/* Checked option readers for PetscOptionsBegin/End blocks (options.c).

   Used like PETSc's own PetscOptionsInt() and friends, inside a block opened
   by PetscOptionsBegin(comm, NULL, ...), with the block's communicator first:

     PetscCall(PgfOptionsInt(comm, "-particles", "Number of particles m", m, 1, PETSC_MAX_INT, &m));

   A value the user wrote that is not accepted is one input error naming the
   option and what it accepts (exit status 2); -help lists every option with
   its default through PETSc's public PetscOptionsInt(), PetscOptionsReal(), ...
   The options are read from the global database without a prefix. */
#pragma once

#include <petscsys.h>

/* The public PetscOptions*() macros name the block's PetscOptionItems
   PetscOptionsObject; these readers take it the same way, as PETSc's own
   XXXSetFromOptions_YYY(PetscOptionItems *PetscOptionsObject, ...) do. */
#define PgfOptionsInt(comm, ...) PgfOptionsInt_Private(PetscOptionsObject, comm, __VA_ARGS__)
#define PgfOptionsReal(comm, ...) PgfOptionsReal_Private(PetscOptionsObject, comm, __VA_ARGS__)
#define PgfOptionsBool(comm, ...) PgfOptionsBool_Private(PetscOptionsObject, comm, __VA_ARGS__)
#define PgfOptionsEList(comm, ...) PgfOptionsEList_Private(PetscOptionsObject, comm, __VA_ARGS__)
#define PgfOptionsString(comm, ...) PgfOptionsString_Private(PetscOptionsObject, comm, __VA_ARGS__)
#define PgfOptionsBytes(comm, ...) PgfOptionsBytes_Private(PetscOptionsObject, comm, __VA_ARGS__)

/* Exported: problems built as shared libraries read their options with them.
   An integer, or a real, in [lo, hi]; def is the default and *value the result. */
PETSC_EXTERN PetscErrorCode PgfOptionsInt_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], PetscInt def, PetscInt lo, PetscInt hi, PetscInt *value);
PETSC_EXTERN PetscErrorCode PgfOptionsReal_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], PetscReal def, PetscReal lo, PetscReal hi, PetscReal *value);
/* true/false, 1/0, yes/no, on/off; the option alone means true. */
PETSC_EXTERN PetscErrorCode PgfOptionsBool_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], PetscBool def, PetscBool *value);
/* One of the n names; def and *value are indices into names. */
PETSC_EXTERN PetscErrorCode PgfOptionsEList_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], const char *const names[], PetscInt n, PetscInt def, PetscInt *value);
/* A non-empty string of at most len - 1 characters. */
PETSC_EXTERN PetscErrorCode PgfOptionsString_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], const char def[], char value[], size_t len);
/* A positive size in bytes with an optional binary suffix k, M, G or T. */
PETSC_EXTERN PetscErrorCode PgfOptionsBytes_Private(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char opt[], const char text[], PetscReal def, PetscReal *value);
