/* Checked option readers for PetscOptionsBegin/End blocks (options.c). */
#pragma once

#include <petscsys.h>

PETSC_INTERN PetscErrorCode PgfOptionsInt(PetscOptionItems *, const char[], const char[], PetscInt, PetscInt, PetscInt, PetscInt *);
PETSC_INTERN PetscErrorCode PgfOptionsReal(PetscOptionItems *, const char[], const char[], PetscReal, PetscReal, PetscReal, PetscReal *);
PETSC_INTERN PetscErrorCode PgfOptionsBool(PetscOptionItems *, const char[], const char[], PetscBool, PetscBool *);
PETSC_INTERN PetscErrorCode PgfOptionsEList(PetscOptionItems *, const char[], const char[], const char *const[], PetscInt, PetscInt, PetscInt *);
PETSC_INTERN PetscErrorCode PgfOptionsString(PetscOptionItems *, const char[], const char[], const char[], char[], size_t);
PETSC_INTERN PetscErrorCode PgfOptionsBytes(PetscOptionItems *, const char[], const char[], PetscReal, PetscReal *);
