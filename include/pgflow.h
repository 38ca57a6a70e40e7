/* pgflow: particle gradient flows for convex problems over measures.
   The public interface: a model (the problem, shared/spec/MATH.md sections 3-4),
   a flow (its particles integrated by PETSc TS, section 2) and the HDF5
   results file the flow writes (shared/spec/INTERFACE.md). */
#pragma once

#include <petscts.h>

#define PGFLOW_VERSION "0.1.0"

/* Error codes above PETSc's own: PgfExitStatusFromError() maps them to the
   exit statuses of INTERFACE.md. A PGF_ERR_INPUT error has already been
   reported as one line on stderr, with no stack trace. */
#define PGF_ERR_INPUT 200

typedef enum {
  PGF_EXIT_OK        = 0,
  PGF_EXIT_FAILURE   = 1,
  PGF_EXIT_INPUT     = 2,
  PGF_EXIT_NONFINITE = 3,
  PGF_EXIT_SIGNAL    = 4
} PgfExitStatus;

/* Report a user mistake: one sentence naming the option or file and what is
   accepted. Every rank of comm must raise it (inputs are checked collectively). */
#define PgfInputError(comm, ...) SETERRQ((comm), PGF_ERR_INPUT, __VA_ARGS__)
#define PgfCheckInput(comm, cond, ...)                              \
  do {                                                              \
    if (PetscUnlikely(!(cond))) PgfInputError((comm), __VA_ARGS__); \
  } while (0)

PETSC_EXTERN PetscErrorCode PgfInitialize(int *, char ***, const char[]);
PETSC_EXTERN PetscErrorCode PgfSetInputPhase(PetscBool);
PETSC_EXTERN int            PgfExitStatusFromError(PetscErrorCode);
PETSC_EXTERN PetscErrorCode PgfBlasCoreName(const char **);

/* Counter-based random numbers (Philox4x32-10): the value depends only on
   (seed, stream, index, k), never on which rank draws it (MATH.md section 7). */
typedef enum {
  PGF_STREAM_INPUTS = 1,
  PGF_STREAM_NOISE,
  PGF_STREAM_TEACHER,
  PGF_STREAM_PARTICLES,
  PGF_STREAM_BATCH /* mini-batches of SGD: index = step */
} PgfStream;
PETSC_EXTERN void      PgfPhilox4x32(const uint32_t[4], const uint32_t[2], uint32_t[4]);
PETSC_EXTERN PetscReal PgfRandUniform(PetscInt64, PgfStream, PetscInt64, PetscInt);
PETSC_EXTERN PetscReal PgfRandNormal(PetscInt64, PgfStream, PetscInt64, PetscInt);
PETSC_EXTERN void      PgfRandSphere(PetscInt64, PgfStream, PetscInt64, PetscInt, PetscReal, PetscReal[]);

/* Results file. */
typedef struct _p_PgfOutput *PgfOutput;
PETSC_EXTERN PetscErrorCode  PgfOutputCreate(MPI_Comm, const char[], const char[], PgfOutput *);
PETSC_EXTERN PetscErrorCode  PgfOutputOpen(MPI_Comm, const char[], const char[], PetscInt, PetscInt, PetscReal, PetscInt, PetscReal, PgfOutput *);
PETSC_EXTERN PetscErrorCode  PgfOutputGetCounts(PgfOutput, PetscInt *, PetscInt *);
PETSC_EXTERN PetscErrorCode  PgfOutputSetAttributeString(PgfOutput, const char[], const char[]);
PETSC_EXTERN PetscErrorCode  PgfOutputSetAttributeInt(PgfOutput, const char[], PetscInt64);
PETSC_EXTERN PetscErrorCode  PgfOutputWriteRootArray(PgfOutput, const char[], PetscInt, const PetscInt[], const PetscReal[]);
PETSC_EXTERN PetscErrorCode  PgfOutputWriteParticles(PgfOutput, const char[], PetscInt, PetscInt, PetscInt, PetscInt, const PetscReal[]);
PETSC_EXTERN PetscErrorCode  PgfOutputAppendSnapshot(PgfOutput, PetscReal, PetscReal, PetscReal, PetscInt, PetscInt, PetscInt, PetscInt, const PetscReal[], const PetscReal[]);
PETSC_EXTERN PetscErrorCode  PgfOutputSetSnapshotValue(PgfOutput, const char[], PetscReal);
PETSC_EXTERN PetscErrorCode  PgfOutputAppendHistory(PgfOutput, PetscInt, const PetscReal[]);
PETSC_EXTERN PetscErrorCode  PgfOutputFlush(PgfOutput);
PETSC_EXTERN PetscErrorCode  PgfOutputDestroy(PgfOutput *);
PETSC_EXTERN PetscErrorCode  PgfReadAttributeString(MPI_Comm, const char[], const char[], const char[], char[], size_t);
PETSC_EXTERN PetscErrorCode  PgfReadArray(MPI_Comm, const char[], const char[], const char[], PetscInt, PetscInt[], PetscReal **);
PETSC_EXTERN PetscErrorCode  PgfReadArrayShape(MPI_Comm, const char[], const char[], const char[], PetscInt, PetscInt[]);
PETSC_EXTERN PetscErrorCode  PgfReadArrayRows(MPI_Comm, const char[], const char[], const char[], PetscInt, PetscInt, PetscInt, PetscReal **);
#define PGF_HISTORY_COLUMNS 5 /* t, dt, loss, dissipation, rhs_evals */

/* A problem: its particles' feature map Phi, loss R and regularizer V. */
typedef struct _p_PgfModel *PgfModel;
PETSC_EXTERN PetscErrorCode PgfModelCreate(MPI_Comm, const char[], PgfModel *);
PETSC_EXTERN PetscErrorCode PgfModelSetFromOptions(PgfModel);
PETSC_EXTERN PetscErrorCode PgfModelGetSizes(PgfModel, PetscInt *, PetscInt *, PetscInt *, PetscInt *);
PETSC_EXTERN PetscErrorCode PgfModelGetOwnership(PgfModel, PetscInt *, PetscInt *);
PETSC_EXTERN PetscErrorCode PgfModelCreateVec(PgfModel, Vec *);
PETSC_EXTERN PetscErrorCode PgfModelInitialize(PgfModel, Vec);
PETSC_EXTERN PetscErrorCode PgfModelEvaluate(PgfModel, Vec, Vec, PetscReal *);
PETSC_EXTERN PetscErrorCode PgfModelObjective(PgfModel, Vec, PetscReal *);
PETSC_EXTERN PetscErrorCode PgfModelHasGap(PgfModel, PetscBool *);
PETSC_EXTERN PetscErrorCode PgfModelGap(PgfModel, Vec, PetscReal *);
PETSC_EXTERN PetscErrorCode PgfModelProx(PgfModel, PetscReal, Vec, PetscBool *);
PETSC_EXTERN PetscErrorCode PgfModelGetWeights(PgfModel, Vec, PetscReal[]);
PETSC_EXTERN PetscErrorCode PgfModelGetPositions(PgfModel, Vec, PetscReal[]);
PETSC_EXTERN PetscErrorCode PgfModelWriteProblem(PgfModel, PgfOutput);
PETSC_EXTERN PetscErrorCode PgfModelGetEvaluations(PgfModel, PetscInt64 *);
PETSC_EXTERN PetscErrorCode PgfModelGetCommunicationTime(PgfModel, PetscReal *);
PETSC_EXTERN PetscErrorCode PgfModelDestroy(PgfModel *);

/* The gradient flow of a model, integrated by TS. */
typedef struct _p_PgfFlow  *PgfFlow;
PETSC_EXTERN PetscErrorCode PgfFlowCreate(PgfModel, PgfFlow *);
PETSC_EXTERN PetscErrorCode PgfFlowSetFromOptions(PgfFlow);
PETSC_EXTERN PetscErrorCode PgfFlowGetTS(PgfFlow, TS *);
PETSC_EXTERN PetscErrorCode PgfFlowGetSolution(PgfFlow, Vec *);
PETSC_EXTERN PetscErrorCode PgfFlowSetCheckpoint(PgfFlow, const char[], PetscReal);
PETSC_EXTERN PetscErrorCode PgfFlowRestart(PgfFlow, const char[], PetscInt *, PetscReal *, PetscInt *, PetscReal *);
PETSC_EXTERN PetscErrorCode PgfFlowSolve(PgfFlow, PgfOutput, PgfExitStatus *);
PETSC_EXTERN PetscErrorCode PgfFlowDestroy(PgfFlow *);

/* The whole application, as bin/pgflow runs it. */
PETSC_EXTERN PetscErrorCode PgfRun(MPI_Comm, PgfExitStatus *);
