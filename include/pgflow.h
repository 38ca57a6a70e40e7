/* pgflow: particle gradient flows for convex problems over measures.
   The public interface: a model (the problem, doc/math.md sections 3-4),
   a flow (its particles integrated by PETSc TS, section 2) and the HDF5
   results file the flow writes (doc/results-file.md). */
#pragma once

#include <petscts.h>

#define PGFLOW_VERSION "0.1.0"

/* Error codes above PETSc's own: PgfExitStatusFromError() maps them to the
   exit statuses of README.md "Exit status". A PGF_ERR_INPUT error has already been
   reported as one line on stderr, with no stack trace. */
#define PGF_ERR_INPUT 200
/* Raised inside the integrator when the objective or the velocity is not
   finite; caught by PgfFlowSolve, which keeps the last accepted state. */
#define PGF_ERR_NONFINITE 201

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

/* Before PetscInitialize (plain C): checks the command line, PETSC_OPTIONS
   and the options files they name; 1 and a message on a mistake. */
PETSC_EXTERN int PgfCheckCommandLine(int argc, char **argv, char msg[], size_t len);
/* Stop signals raise a flag from the start of the process; crashes print one
   line and exit 1 (unless debug). Not collective. */
PETSC_EXTERN void      PgfSignalsCatch(PetscBool debug);
PETSC_EXTERN PetscBool PgfSignalReceived(void);
/* Collective: whether any rank of comm received a stop signal. */
PETSC_EXTERN PetscErrorCode PgfSignalAgreed(MPI_Comm comm, PetscBool *any);
/* PetscInitialize with pgflow's error handler: for tests and tools (traces
   kept), and for bin/pgflow (one line per failure unless debug). */
PETSC_EXTERN PetscErrorCode PgfInitialize(int *argc, char ***argv, const char help[]);
PETSC_EXTERN PetscErrorCode PgfInitializeApplication(int *argc, char ***argv, const char help[], PetscBool debug);
PETSC_EXTERN PetscErrorCode PgfSetInputPhase(PetscBool);
PETSC_EXTERN int            PgfExitStatusFromError(PetscErrorCode);
PETSC_EXTERN PetscErrorCode PgfBlasCoreName(const char **);

/* Counter-based random numbers (Philox4x32-10): the value depends only on
   (seed, stream, index, k), never on which rank draws it (doc/math.md section 7). */
typedef enum {
  PGF_STREAM_INPUTS = 1,
  PGF_STREAM_NOISE,
  PGF_STREAM_TEACHER,
  PGF_STREAM_PARTICLES,
  PGF_STREAM_BATCH, /* mini-batches of SGD: index = step */
  PGF_STREAM_JUMPS, /* birth-death: index = step m + particle, k = 0 decision, 1 partner */
  PGF_STREAM_LANGEVIN /* Langevin noise: index = step m + particle, k = coordinate */
} PgfStream;
PETSC_EXTERN void PgfPhilox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Not collective: value k of item index of a stream. */
PETSC_EXTERN PetscReal PgfRandUniform(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt k);
PETSC_EXTERN PetscReal PgfRandNormal(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt k);
PETSC_EXTERN void      PgfRandNormals(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt n, PetscReal x[]);
PETSC_EXTERN void      PgfRandNormalBlock(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt count, PetscInt n, PetscReal x[]);
PETSC_EXTERN void      PgfRandSphere(PetscInt64 seed, PgfStream stream, PetscInt64 index, PetscInt dim, PetscReal radius, PetscReal x[]);

/* Results file (doc/results-file.md), written in parallel HDF5. Every call
   is collective on the output's communicator; arrays of particles are
   given by each rank for its rows rstart .. rstart + mloc - 1, root arrays
   and values by rank 0 (the others' are ignored); the caller owns every
   array passed. option names the option that gave a path, for messages. */
typedef struct _p_PgfOutput *PgfOutput;
PETSC_EXTERN PetscErrorCode  PgfOutputCreate(MPI_Comm comm, const char option[], const char path[], PgfOutput *out);
/* Reopens the results file of an interrupted run for appending at nsnap
   snapshots and nhist history rows (the last at tsnap and t); *out is NULL
   when path does not hold that run's results up to there. */
PETSC_EXTERN PetscErrorCode PgfOutputOpen(MPI_Comm comm, const char path[], const char problem[], PetscInt m, PetscInt nsnap, PetscReal tsnap, PetscInt nhist, PetscReal t, PgfOutput *out);
PETSC_EXTERN PetscErrorCode PgfOutputGetCounts(PgfOutput out, PetscInt *nsnap, PetscInt *nhist); /* not collective */
PETSC_EXTERN PetscErrorCode PgfOutputSetAttributeString(PgfOutput out, const char name[], const char value[]);
PETSC_EXTERN PetscErrorCode PgfOutputSetAttributeInt(PgfOutput out, const char name[], PetscInt64 value);
PETSC_EXTERN PetscErrorCode PgfOutputWriteRootArray(PgfOutput out, const char path[], PetscInt ndims, const PetscInt dims[], const PetscReal data[]);
PETSC_EXTERN PetscErrorCode PgfOutputWriteParticles(PgfOutput out, const char path[], PetscInt m, PetscInt rstart, PetscInt mloc, PetscInt ncols, const PetscReal data[]);
PETSC_EXTERN PetscErrorCode PgfOutputAppendSnapshot(PgfOutput out, PetscReal t, PetscReal loss, PetscReal gap, PetscInt m, PetscInt npos, PetscInt rstart, PetscInt mloc, const PetscReal w[], const PetscReal theta[]);
PETSC_EXTERN PetscErrorCode PgfOutputSetSnapshotValue(PgfOutput out, const char name[], PetscReal value);
PETSC_EXTERN PetscErrorCode PgfOutputAppendHistory(PgfOutput out, PetscInt nrows, const PetscReal rows[]);
PETSC_EXTERN PetscErrorCode PgfOutputSetGroupAttributes(PgfOutput out, const char group[], PetscInt n, const char *const names[], const PetscReal values[]);
PETSC_EXTERN PetscErrorCode PgfOutputFlush(PgfOutput out);
PETSC_EXTERN PetscErrorCode PgfOutputDestroy(PgfOutput *out);
/* Reading an input file named by option (collective on comm; a missing or
   malformed file is the user's mistake, exit 2): a root string attribute;
   a whole dataset on every rank; its shape; rows row0 .. row0 + nrows - 1
   of it (each rank its own; *data is allocated, the caller frees it). */
PETSC_EXTERN PetscErrorCode PgfReadAttributeString(MPI_Comm comm, const char option[], const char path[], const char name[], char value[], size_t len);
PETSC_EXTERN PetscErrorCode PgfReadArray(MPI_Comm comm, const char option[], const char path[], const char name[], PetscInt ndims, PetscInt dims[], PetscReal **data);
PETSC_EXTERN PetscErrorCode PgfReadArrayShape(MPI_Comm comm, const char option[], const char path[], const char name[], PetscInt ndims, PetscInt dims[]);
PETSC_EXTERN PetscErrorCode PgfReadArrayRows(MPI_Comm comm, const char option[], const char path[], const char name[], PetscInt ndims, PetscInt row0, PetscInt nrows, PetscReal **data);
#define PGF_HISTORY_COLUMNS 8 /* t, dt, loss, dissipation, rhs_evals, births, deaths, jump_change */

/* A problem: its particles' feature map Phi, loss R and regularizer V
   (doc/math.md). Collective on the model's communicator unless said. */
typedef struct _p_PgfModel *PgfModel;
/* The registry of problems: -problem NAME selects the one registered as NAME. */
PETSC_EXTERN PetscFunctionList PgfModelList;
PETSC_EXTERN PetscErrorCode    PgfModelRegister(const char name[], PetscErrorCode (*create)(PgfModel));
PETSC_EXTERN PetscErrorCode    PgfModelRegisterAll(void);
PETSC_EXTERN PetscErrorCode    PgfModelCreate(MPI_Comm comm, const char name[], PgfModel *model);
PETSC_EXTERN PetscErrorCode    PgfModelSetFromOptions(PgfModel model);
/* Not collective: particles m, position coordinates npos, dof = 1 + npos,
   length N of this rank's part of the predictor; this rank's particles. */
PETSC_EXTERN PetscErrorCode PgfModelGetSizes(PgfModel model, PetscInt *m, PetscInt *npos, PetscInt *dof, PetscInt *N);
PETSC_EXTERN PetscErrorCode PgfModelGetOwnership(PgfModel model, PetscInt *rstart, PetscInt *mloc);
PETSC_EXTERN PetscErrorCode PgfModelCreateVec(PgfModel model, Vec *U);
PETSC_EXTERN PetscErrorCode PgfModelInitialize(PgfModel model, Vec U);
/* The velocity field V = v(U) and the objective F at U. */
PETSC_EXTERN PetscErrorCode PgfModelEvaluate(PgfModel model, Vec U, Vec V, PetscReal *F);
PETSC_EXTERN PetscErrorCode PgfModelObjective(PgfModel model, Vec U, PetscReal *F);
PETSC_EXTERN PetscErrorCode PgfModelHasGap(PgfModel model, PetscBool *has); /* not collective */
PETSC_EXTERN PetscErrorCode PgfModelGap(PgfModel model, Vec U, PetscReal *gap);
/* The proximal step after a step of size dt; *changed on every rank. */
PETSC_EXTERN PetscErrorCode PgfModelProx(PgfModel model, PetscReal dt, Vec U, PetscBool *changed);
/* Not collective: this rank's weights (mloc) and positions (mloc x npos). */
PETSC_EXTERN PetscErrorCode PgfModelGetWeights(PgfModel model, Vec U, PetscReal w[]);
PETSC_EXTERN PetscErrorCode PgfModelGetPositions(PgfModel model, Vec U, PetscReal theta[]);
PETSC_EXTERN PetscErrorCode PgfModelWriteProblem(PgfModel model, PgfOutput out);
PETSC_EXTERN PetscErrorCode PgfModelGetCommunicationTime(PgfModel model, PetscReal *seconds); /* not collective */
PETSC_EXTERN PetscErrorCode PgfModelDestroy(PgfModel *model);

/* Why a run stopped: the results file's stop_reason is PgfStopReasons[]. */
typedef enum {
  PGF_STOP_RUNNING, /* not yet */
  PGF_STOP_MAX_TIME,
  PGF_STOP_MAX_STEPS,
  PGF_STOP_STOP_LOSS,
  PGF_STOP_STOP_GAP,
  PGF_STOP_STOP_DISSIPATION,
  PGF_STOP_SIGNAL,
  PGF_STOP_NONFINITE,
  PGF_STOP_DIVERGED,
  PGF_STOP_STALLED,
  PGF_STOP_CHECKPOINT, /* a checkpoint could not be written */
  PGF_STOP_UNDERFLOW /* every step, however short, raised F */
} PgfStopReason;
PETSC_EXTERN const char *const PgfStopReasons[];

/* The gradient flow of a model, integrated by TS. Collective on the
   model's communicator. */
typedef struct _p_PgfFlow  *PgfFlow;
PETSC_EXTERN PetscErrorCode PgfFlowCreate(PgfModel model, PgfFlow *flow);
PETSC_EXTERN PetscErrorCode PgfFlowSetFromOptions(PgfFlow flow);
/* Where checkpoints go, and every how many seconds (0: on signals only). */
PETSC_EXTERN PetscErrorCode PgfFlowSetCheckpoint(PgfFlow flow, const char path[], PetscReal interval);
/* The run the checkpoints belong to: its id (PGF_RUN_ID_LEN - 1 hexadecimal
   digits, also in its results file) and its results file. */
#define PGF_RUN_ID_LEN 33
PETSC_EXTERN PetscErrorCode PgfFlowSetOwner(PgfFlow flow, const char run_id[], const char output[]);
/* Continue from a checkpoint: gives the results file's counts and times at it. */
PETSC_EXTERN PetscErrorCode PgfFlowRestart(PgfFlow flow, const char path[], PetscInt *nsnap, PetscReal *tsnap, PetscInt *nhist, PetscReal *t);
/* The starting state (initial or restarted) and its objective, checked finite. */
PETSC_EXTERN PetscErrorCode PgfFlowSetUp(PgfFlow flow);
PETSC_EXTERN PetscErrorCode PgfFlowSolve(PgfFlow flow, PgfOutput out, PgfExitStatus *status);
PETSC_EXTERN PetscErrorCode PgfFlowDestroy(PgfFlow *flow);

/* The whole application, as bin/pgflow runs it. */
PETSC_EXTERN PetscErrorCode PgfRun(MPI_Comm comm, PgfExitStatus *status);
