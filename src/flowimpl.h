/* The flow's private state, shared by its files: the loop (flow.c), the
   evaluation cache (flowcache.c), the integrator's wiring (flowts.c), its
   options (flowoptions.c), the observables (flowobserve.c) and the
   checkpoints and signals (flowcheckpoint.c). */
#pragma once

#include "dynamics.h"

#define HISTORY_BUFFER 4096

/* How the flow moves the particles (flowmotion.c): the model's velocity
   and Jacobian turned by the particle dynamics into the particles'
   velocity, D and the Jacobian the integrator sees. */
PETSC_INTERN PetscErrorCode PgfFlowVelocity(PgfFlow, Vec U, Vec V, PetscReal *F, PetscReal *D);
PETSC_INTERN PetscErrorCode PgfFlowJacobianPrepare(PgfFlow, Vec U);
PETSC_INTERN PetscErrorCode PgfFlowJacobianApply(PgfFlow, Vec X, Vec Y);
PETSC_INTERN PetscErrorCode PgfFlowSolveSetUp(PgfFlow, PetscReal shift, PetscReal scale);

/* How the Jacobian of the velocity reaches the integrator. */
typedef enum {
  PGF_JACOBIAN_ASSEMBLED, /* dense, from the model */
  PGF_JACOBIAN_SHELL, /* the model's, applied matrix-free */
  PGF_JACOBIAN_MFFD /* finite differences of velocities */
} PgfJacobianKind;

struct _p_PgfFlow {
  PgfModel        model;
  PgfDynamics     dyn; /* -dynamics */
  Vec             ujac, vjac; /* another dynamics: the Jacobian's state and its Euclidean velocity */
  PetscReal      *S, *E; /* another dynamics: its blocks at that state, for the model's solve */
  MPI_Comm        comm;
  PetscInt        m, npos, dof, rstart, mloc; /* the model's sizes and this rank's particles */
  TS              ts;
  Vec             U; /* the particles */
  Vec             good; /* last accepted state with finite F and D */
  Vec             ucache, vcache; /* the state of the last evaluation and its velocity */
  PetscReal       Fcache, Dcache;
  PetscBool       modelcached; /* the model's last evaluation is the cached one */
  PgfJacobianKind jkind;
  PetscBool       hasjac; /* the model has an assembled dv/du (not necessarily assembled) */
  PetscBool       implicitform; /* rosw with an analytic Jacobian: U' + v(U) = 0 as an IFunction */
  PetscReal       shift, scale; /* the matrix-free Jacobian applies shift I + scale dv/du */
  Mat             J; /* the MFFD Jacobian of the right-hand side, for implicit types */
  PgfConvex       convex; /* baselines, refits and spectra */
  PgfCheckpoint   ckpt; /* the named state a checkpoint holds */

  /* options */
  PetscInt  nsnap;
  PetscReal stop_loss, stop_dissipation, stop_gap, progress_interval;
  char      checkpoint[PETSC_MAX_PATH_LEN];
  PetscReal checkpoint_interval; /* seconds of wall time; 0: on signals only */
  char      run_id[PGF_RUN_ID_LEN], output[PETSC_MAX_PATH_LEN]; /* the run the checkpoints belong to */
  char      checkpoint_failure[1024]; /* why the last checkpoint could not be written ("": it was) */

  /* run state */
  PgfOutput      out;
  PetscReal     *wloc, *thetaloc;
  PetscReal      tmax, F, D, F0, tgood, gap;
  PetscReal      Fgood, Dgood; /* F and D at the last good state */
  PetscBool      monotone; /* F may not rise over an accepted step (a gradient flow) */
  PetscInt       rises; /* accepted steps undone since F rose */
  PetscInt       next_snap; /* index of the next snapshot time */
  PetscReal      tsnap; /* time of the last snapshot written */
  PetscReal      qt[3], qD[3], integral; /* pending quadrature nodes of the energy balance */
  PetscInt       nq;
  PetscReal     *history;
  PetscInt       nhistory;
  PetscInt64     nrhs, ncalls; /* evaluations; calls by the integrator and the monitor */
  PetscInt64     nrhs0; /* evaluations before a restart (not timed by this process) */
  PetscLogDouble rhs_time, wall_start, last_progress, last_checkpoint;
  PetscBool      restarted;
  PetscInt       nsnap0, nhist0; /* snapshots and history rows of the results file at the last checkpoint written or read */
  PetscInt       rejected0; /* rejected steps before the restart */
  PgfStopReason  stop;
  PetscBool      nonfinite;
  PetscBool      armijo; /* -ts_adapt_type armijo */

  /* stochastic dynamics (jumps.c) */
  PetscReal  bd_rate, temperature; /* -birth_death_rate, -temperature */
  PetscBool  bd_balance; /* -birth_death_balance: evaluate F before the jumps when the integrator did not */
  PetscReal *fvar, Vbar; /* the local particles' first variations at the state the next step starts from, and their mean */
  PetscInt   births, deaths; /* of the last step's jumps */
  PetscReal  jump_change, jump_total; /* F's change by the last step's jumps (NaN: not measured), and by all measured so far */
  PetscInt   unmeasured; /* steps whose jumps moved particles with F before them unknown */
  PetscReal  Dflow; /* D at the end of the last step's flow, before its jumps */
};

/* The evaluation cache (flowcache.c): F, D and v at the last evaluated
   state, reused by the integrator, the monitor and the Armijo search. */
PETSC_INTERN PetscErrorCode PgfFlowObserve(PgfFlow, Vec);
PETSC_INTERN PetscErrorCode PgfFlowObserveIfCached(PgfFlow, Vec, PetscBool evaluate, PetscBool *known);
PETSC_INTERN PetscErrorCode PgfFlowModelAtCache(PgfFlow, Vec);
PETSC_INTERN PetscErrorCode PgfFlowObjective(void *, Vec, PetscReal *, PetscReal *);
PETSC_INTERN PetscErrorCode PgfFlowRHSFunction(TS, PetscReal, Vec, Vec, void *);
PETSC_INTERN PetscErrorCode PgfFlowJacobianFunction(void *, Vec, Vec);

/* The integrator (flowts.c): defaults before TSSetFromOptions, then the
   function form, the Jacobian and the memory they take, decided from the
   integrator TSSetFromOptions chose. */
PETSC_INTERN PetscErrorCode PgfFlowSetTSDefaults(PgfFlow);
PETSC_INTERN PetscErrorCode PgfFlowSetUpTS(PgfFlow);

/* Observables (flowobserve.c). */
PETSC_INTERN PetscErrorCode PgfFlowRejected(PgfFlow, PetscInt *);
PETSC_INTERN PetscErrorCode PgfFlowRecordStep(PgfFlow, PetscReal, PetscReal);
PETSC_INTERN PetscErrorCode PgfFlowFlushHistory(PgfFlow);
PETSC_INTERN PetscErrorCode PgfFlowProgress(PgfFlow);
PETSC_INTERN PetscErrorCode PgfFlowSnapshotIfDue(PgfFlow, Vec, PetscReal);
PETSC_INTERN PetscErrorCode PgfFlowWriteSnapshot(PgfFlow, Vec, PetscReal);
PETSC_INTERN PetscErrorCode PgfFlowWriteFinal(PgfFlow, Vec, PetscReal);
PETSC_INTERN PetscErrorCode PgfFlowSummary(PgfFlow, PetscReal);
PETSC_INTERN PetscErrorCode PgfFlowRegisterObservables(PgfFlow);
PETSC_INTERN void           PgfFlowQuadratureAdd(PgfFlow, PetscReal, PetscReal);

/* Stochastic dynamics (jumps.c): options, birth-death jumps after an
   accepted step, Langevin noise after a fixed Euler step. */
PETSC_INTERN PetscErrorCode PgfFlowJumpsSetFromOptions(PgfFlow, PetscBool euler, PetscBool fixed);
PETSC_INTERN PetscErrorCode PgfFlowBirthDeath(PgfFlow, Vec, PetscInt step, PetscReal dt, PetscBool *moved);
PETSC_INTERN PetscErrorCode PgfFlowFirstVariation(PgfFlow, Vec);
PETSC_INTERN PetscErrorCode PgfFlowLangevinNoise(PgfFlow, Vec, PetscInt step, PetscReal dt);

/* Checkpoints and signals (flowcheckpoint.c). */
PETSC_INTERN PetscErrorCode PgfFlowRegisterState(PgfFlow);
PETSC_INTERN PetscErrorCode PgfFlowCheckpointIfDue(PgfFlow, Vec, PetscReal);
PETSC_INTERN PetscErrorCode PgfFlowStopIfSignalled(PgfFlow, Vec, PetscReal);
PETSC_INTERN PetscBool      PgfFlowSignalled(PgfFlow);
