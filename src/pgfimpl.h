/* pgflow internals shared by its layers: the model's accessors and
   capability queries (the model's struct and operations table are private
   to the model layer, modelimpl.h), the parameters, the convex baselines,
   dense products and checkpoints. */
#pragma once

#include <pgflow.h>
#include <petscblaslapack.h>

/* pgflow's events in -log_view (registered with the problems). */
PETSC_INTERN PetscLogEvent PGF_Evaluate, PGF_Reduce, PGF_JacobianAssemble, PGF_JacobianApply, PGF_Gap, PGF_Snapshot, PGF_Checkpoint, PGF_Ridge, PGF_Spectrum;
/* The set-up's phases: the problem (within it, where a problem logs them,
   its data, drawn or read, and its workspace, reserved and first touched),
   the initial particles, and the first snapshot (also in PGF_Snapshot). */
PETSC_INTERN PetscLogEvent PGF_SetUpProblem, PGF_SetUpData, PGF_SetUpWork, PGF_SetUpParticles, PGF_SetUpSnapshot;
/* The stochastic dynamics' own work after a step (jumps.c). */
PETSC_INTERN PetscLogEvent PGF_BirthDeath, PGF_Langevin;

/* Accessors and capability queries of a model (model.c); not collective
   unless said. */
PETSC_INTERN PetscErrorCode PgfModelGetComm(PgfModel, MPI_Comm *);
PETSC_INTERN PetscErrorCode PgfModelGetType(PgfModel, const char **);
PETSC_INTERN PetscErrorCode PgfModelGetSeed(PgfModel, PetscInt64 *);
PETSC_INTERN PetscErrorCode PgfModelGetSampleGroups(PgfModel, PetscInt *);
PETSC_INTERN PetscErrorCode PgfModelGetMemoryLimit(PgfModel, PetscReal *);
/* The optional operations of a model that the flow and the baselines
   adapt to (modelimpl.h describes each). */
typedef enum {
  PGF_OP_JACOBIAN, /* dv/du assembled */
  PGF_OP_JACOBIAN_APPLY, /* dv/du applied matrix-free */
  PGF_OP_JACOBIAN_SOLVE, /* a direct solve of the Newton systems */
  PGF_OP_HJACOBIAN, /* dh/du (baselines and spectra) */
  PGF_OP_ACCEPTABLE, /* may judge a state unacceptable (PgfModelAcceptable) */
  PGF_OP_SETSTEP, /* velocities depend on the integrator's step (SGD) */
  PGF_OP_FIRSTVARIATION /* the first variation of F at the particles (birth-death) */
} PgfModelOperation;
PETSC_INTERN PetscErrorCode PgfModelHasOperation(PgfModel, PgfModelOperation, PetscBool *);
/* How a model's particle splits into a radius r and a direction, for the
   dynamics that move them apart (doc/math.md section 2.5). */
typedef enum {
  PGF_RADIAL_NONE, /* no such split: a dynamics that needs one is refused */
  PGF_RADIAL_FIRST, /* u = (r, theta): r = u_0 (signed), theta on a flat space with metric r^2 */
  PGF_RADIAL_NORM /* r = |u|, direction u / |u| (a 2-homogeneous feature map) */
} PgfRadial;
/* The model's split; why is the reason when there is none (model.c); the particle dynamics (dynamics.h) read it. */
PETSC_INTERN PetscErrorCode PgfModelGetRadial(PgfModel, PgfRadial *, const char **);

/* V_i = Phi(u_i) . rho + V(u_i) at the local particles, from the last
   evaluation, which must have been PgfModelEvaluate at U (collective). */
PETSC_INTERN PetscErrorCode PgfModelFirstVariation(PgfModel, Vec U, PetscReal V[]);
/* The particles were replaced between steps (birth-death; not collective). */
PETSC_INTERN PetscErrorCode PgfModelReplaced(PgfModel);
/* The labels of the square loss (NULL for another loss) and the l2
   strength on the weights. */
PETSC_INTERN PetscErrorCode PgfModelGetRidge(PgfModel, const PetscReal **, PetscReal *);
/* Rows j0 .. j0 + nj - 1 of dh/du for the local particles (see modelimpl.h). */
PETSC_INTERN PetscErrorCode PgfModelHJacobian(PgfModel, const PetscScalar[], PetscInt, PetscInt, PetscInt, PetscReal[]);
/* The problem's default TS type (NULL: pgflow's default, rk) and its
   integrator settings, before TSSetFromOptions. */
PETSC_INTERN PetscErrorCode PgfModelGetDefaultTSType(PgfModel, const char **);
PETSC_INTERN PetscErrorCode PgfModelSetTSDefaults(PgfModel, TS);
PETSC_INTERN PetscErrorCode PgfModelRisk(PgfModel, Vec, PetscReal *);
/* The integrator's step before its evaluations (mini-batch SGD); *changed
   when the velocities at a state change with it. */
PETSC_INTERN PetscErrorCode PgfModelSetStep(PgfModel, PetscInt, PetscBool *);
/* Exported, as the option readers of options.h and the declarations of
   modelimpl.h: problems built as shared libraries call them. */
PETSC_EXTERN PetscErrorCode PgfModelReserve(PgfModel, PetscReal, const char[]);
PETSC_INTERN PetscErrorCode PgfModelAvailableMemory(PgfModel, PetscReal *);
PETSC_INTERN PetscErrorCode PgfModelJacobian(PgfModel, Vec, Mat);
PETSC_INTERN PetscErrorCode PgfModelJacobianPrepare(PgfModel, Vec);
PETSC_INTERN PetscErrorCode PgfModelJacobianApply(PgfModel, Vec, Vec);
PETSC_INTERN PetscErrorCode PgfModelJacobianSolveSetUp(PgfModel, PetscReal, PetscReal, const PetscReal[], const PetscReal[]);
PETSC_INTERN PetscErrorCode PgfModelJacobianSolve(PgfModel, Vec, Vec);
PETSC_INTERN PetscErrorCode PgfModelNonsmooth(PgfModel, PetscBool *);
PETSC_INTERN PetscErrorCode PgfModelAcceptable(PgfModel, Vec, PetscBool *);

/* Problems from -dll_append libraries (library.c): PgfModelRegister notes
   where each create function lives; after PetscInitialize, a library that
   registered none is refused. */
PETSC_INTERN PetscErrorCode PgfLibraryRegistered(void (*)(void));
PETSC_INTERN PetscErrorCode PgfLibrariesCheck(MPI_Comm);

/* Convex baselines and spectra (convex.c, doc/math.md section 6): options
   -baseline, -refit and -spectrum; each call does nothing when its option
   is off. */
typedef struct _p_PgfConvex *PgfConvex;
PETSC_INTERN PetscErrorCode  PgfConvexCreate(PgfModel, PgfConvex *);
PETSC_INTERN PetscErrorCode  PgfConvexBaseline(PgfConvex, PgfOutput);
PETSC_INTERN PetscErrorCode  PgfConvexSnapshot(PgfConvex, Vec, PgfOutput);
PETSC_INTERN PetscErrorCode  PgfConvexFinal(PgfConvex, Vec, PgfOutput);
PETSC_INTERN PetscErrorCode  PgfConvexDestroy(PgfConvex *);

/* The run's parameters (params.c): every option read, as resolved. */
PETSC_INTERN void           PgfParamsModelScope(PetscBool);
PETSC_INTERN PetscErrorCode PgfParamsAdd(const char[], const char[]);
PETSC_INTERN PetscErrorCode PgfParamsAddReal(const char[], PetscReal);
PETSC_INTERN PetscErrorCode PgfParamsAddInt(const char[], PetscInt64);
PETSC_INTERN PetscInt       PgfParamsCount(void);
PETSC_INTERN void           PgfParamsGet(PetscInt, const char **, const char **, char *, PetscBool *);
/* /parameters (one attribute per parameter, named without the dash), of
   the problem-defining ones only when model_only (checkpoints). */
PETSC_INTERN PetscErrorCode PgfOutputWriteParameters(PgfOutput, PetscBool);
/* A parameter recorded in the /parameters of an HDF5 file, as text; *found
   is false when the file has none of that name. */
PETSC_INTERN PetscErrorCode PgfReadAttributeStringIfAny(MPI_Comm, const char[], const char[], char[], size_t, PetscBool *);
PETSC_INTERN PetscErrorCode PgfReadParameter(MPI_Comm, const char[], const char[], const char[], char[], size_t, PetscBool *);
PETSC_INTERN PetscErrorCode PgfParamsCheckUnused(MPI_Comm, const char[]);
PETSC_INTERN PetscErrorCode PgfParamsDestroy(void);

/* Column-major dense products through BLAS, with PetscBLASInt conversion. */
PETSC_INTERN PetscErrorCode PgfGemm(const char *, const char *, PetscInt, PetscInt, PetscInt, PetscReal, const PetscReal *, PetscInt, const PetscReal *, PetscInt, PetscReal, PetscReal *, PetscInt);

/* Armijo step control for gradient descent (adapt.c): -ts_type euler
   -ts_adapt_type armijo. The flow gives it F and D at a state and, after
   each accepted step, lets it replace a step it shortened. */
#define PGF_TSADAPT_ARMIJO "armijo"
PETSC_INTERN PetscErrorCode PgfTSAdaptRegisterArmijo(void);
PETSC_INTERN PetscErrorCode PgfTSAdaptArmijoSetObjective(TSAdapt, PetscErrorCode (*)(void *, Vec, PetscReal *, PetscReal *), void *);
PETSC_INTERN PetscErrorCode PgfTSAdaptArmijoAccepted(TSAdapt, Vec);

/* Checkpoints (checkpoint.c): the particles and the named state that
   each component registers once at set-up (as PETSc's TSTrajectory holds a
   solver's), each value stored as the dataset /state/NAME. A value is a
   PetscReal, PetscInt or PetscInt64 the component owns, or one it gets and
   sets through a pair of functions; it is never negative unless signed. */
typedef struct _p_PgfCheckpoint *PgfCheckpoint;
typedef enum {
  PGF_STATE_NONNEGATIVE,
  PGF_STATE_SIGNED,
  PGF_STATE_POSITIVE /* a step */
} PgfStateRange;
PETSC_INTERN PetscErrorCode PgfCheckpointCreate(PgfModel, const char[], PgfCheckpoint *);
PETSC_INTERN PetscErrorCode PgfCheckpointAddReal(PgfCheckpoint, const char[], PgfStateRange, PetscReal *);
PETSC_INTERN PetscErrorCode PgfCheckpointAddInt(PgfCheckpoint, const char[], PetscInt *);
PETSC_INTERN PetscErrorCode PgfCheckpointAddInt64(PgfCheckpoint, const char[], PetscInt64 *);
PETSC_INTERN PetscErrorCode PgfCheckpointAdd(PgfCheckpoint, const char[], PgfStateRange, PetscErrorCode (*get)(void *, PetscReal *), PetscErrorCode (*set)(void *, PetscReal), void *);
/* A checkpoint records the run id and results file of its run, so that a
   restart continues that run's own results file. */
PETSC_INTERN PetscErrorCode PgfCheckpointWrite(PgfCheckpoint, const char[], Vec, const char[], const char[]);
PETSC_INTERN PetscErrorCode PgfCheckpointRead(PgfCheckpoint, const char[], Vec);
/* 2 after a stop signal, 1 every interval seconds since *last, else 0;
   collective. */
PETSC_INTERN PetscErrorCode PgfCheckpointDue(MPI_Comm, PetscReal, PetscLogDouble *, int *);
PETSC_INTERN PetscErrorCode PgfCheckpointDestroy(PgfCheckpoint *);

/* Deconvolution on spikes rather than particles (problems/deconv/certificate.c, doc/math.md
   sections 4-5), for sfw.c; the model must be deconv; not collective. */
PETSC_INTERN PetscErrorCode PgfDeconvGetProblem(PgfModel, PetscInt *q, PetscInt *K, PetscReal *lambda, const PetscReal **y);
PETSC_INTERN PetscErrorCode PgfDeconvAtom(PgfModel, const PetscReal theta[], PetscReal phi[]);
PETSC_INTERN PetscErrorCode PgfDeconvCorrelation(PgfModel, const PetscReal rho[], const PetscReal theta[], PetscReal *g, PetscReal grad[]);
PETSC_INTERN PetscErrorCode PgfDeconvCertificate(PgfModel, const PetscReal rho[], PetscReal F, PetscReal *gap, PetscReal *gmax, PetscReal theta[]);

/* Sliding Frank-Wolfe (sfw.c, doc/math.md section 6.3): -baseline sfw runs
   it instead of the flow. PgfSfwCreate gives NULL without -baseline sfw;
   collective. */
typedef struct _p_PgfSfw   *PgfSfw;
PETSC_INTERN PetscErrorCode PgfSfwCreate(PgfModel, PgfSfw *);
/* Checkpoints as the flow's (PgfFlowSetCheckpoint, PgfFlowSetOwner,
   PgfFlowRestart), of SFW's state. */
PETSC_INTERN PetscErrorCode PgfSfwSetCheckpoint(PgfSfw, const char[], PetscReal);
PETSC_INTERN PetscErrorCode PgfSfwSetOwner(PgfSfw, const char[], const char[]);
PETSC_INTERN PetscErrorCode PgfSfwRestart(PgfSfw, const char[], PetscInt *, PetscReal *, PetscInt *, PetscReal *);
PETSC_INTERN PetscErrorCode PgfSfwSolve(PgfSfw, PgfOutput, PgfExitStatus *);
PETSC_INTERN PetscErrorCode PgfSfwDestroy(PgfSfw *);
