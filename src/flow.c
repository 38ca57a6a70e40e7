/* The particle gradient flow u_i' = -v(u_i) (doc/math.md section 2),
   integrated by PETSc TS. After each accepted step the flow applies the
   model's proximal step, records a history row, accumulates the energy
   balance, checks the stopping criteria and writes a snapshot at the first
   step past each snapshot time (so that snapshots never alter the steps). */
#include "pgfimpl.h"
#include "options.h"
#include <sys/resource.h>

#define HISTORY_BUFFER 4096

const char *const PgfStopReasons[] = {"running", "max_time", "max_steps", "stop_loss", "stop_gap", "stop_dissipation", "signal", "nonfinite", "diverged", "stalled", "checkpoint_failed", "step_underflow"};

/* Above this relative mismatch of the energy balance, a run's summary and
   /stats warn that its steps did not resolve the flow (README "Running"). */
#define ENERGY_WARNING 1e-2

struct _p_PgfFlow {
  PgfModel  model;
  MPI_Comm  comm;
  PetscInt  m, npos, dof, rstart, mloc; /* the model's sizes and this rank's particles */
  TS        ts;
  Vec       U; /* the particles */
  Vec       good; /* last accepted state with finite F and D */
  Vec       ucache, vcache; /* the state of the last evaluation and its velocity */
  PetscReal Fcache, Dcache;
  PetscBool implicitform; /* rosw with an analytic Jacobian: U' + v(U) = 0 as an IFunction */
  PetscReal shift, scale; /* the matrix-free Jacobian applies shift I + scale dv/du */
  Mat       J; /* matrix-free Jacobian of the right-hand side, for implicit types */
  PgfConvex convex; /* baselines, refits and spectra */

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
  PetscReal      restart[PGF_CKPT_FIELDS]; /* the state read by PgfFlowRestart */
  PetscBool      restarted;
  PetscInt       rejected0; /* rejected steps before the restart */
  PgfStopReason  stop;
  PetscBool      nonfinite;
  PetscBool      armijo; /* -ts_adapt_type armijo */
};

/* v and F at U, kept with U for reuse; timed and counted. */
static PetscErrorCode Evaluate(PgfFlow flow, Vec U)
{
  PetscLogDouble t0, t1;
  PetscReal      norm;

  PetscFunctionBegin;
  PetscCall(PetscTime(&t0));

  PetscCall(PgfModelEvaluate(flow->model, U, flow->vcache, &flow->Fcache));
  PetscCall(VecNorm(flow->vcache, NORM_2, &norm));
  flow->Dcache = norm * norm / flow->m;
  PetscCall(VecCopy(U, flow->ucache));
  PetscCall(PetscTime(&t1));
  flow->rhs_time += t1 - t0;
  flow->nrhs++;
  PetscFunctionReturn(0);
}

/* A non-finite objective or velocity ends the integration at once (the
   integrator would otherwise carry it into its error norm and fail with a
   trace): PgfFlowSolve catches this error and keeps the last accepted
   state. F and D are the same on every rank, so all ranks stop together. */
static PetscErrorCode CheckFinite(PgfFlow flow, PetscReal F, PetscReal D)
{
  PetscFunctionBegin;
  if (PetscIsInfOrNanReal(F) || PetscIsInfOrNanReal(D)) {
    flow->nonfinite = PETSC_TRUE;
    SETERRQ(PETSC_COMM_SELF, PGF_ERR_NONFINITE, "the objective or the velocity is not finite");
  }
  PetscFunctionReturn(0);
}

/* Tells the model the integrator's step: a velocity that depends on it
   (mini-batch SGD) makes the cached one stale at another step. */
static PetscErrorCode SetStep(PgfFlow flow)
{
  PetscInt  step;
  PetscBool changed;

  PetscFunctionBegin;
  PetscCall(TSGetStepNumber(flow->ts, &step));
  PetscCall(PgfModelSetStep(flow->model, step, &changed));
  if (changed) PetscCall(VecSet(flow->ucache, PETSC_MAX_REAL));
  PetscFunctionReturn(0);
}

/* G = -v(U). The last evaluated state and its velocity are kept: the
   monitor needs no evaluation of its own after a Runge-Kutta step (whose
   last stage is the new state), and the first stage of an explicit step
   reuses the monitor's evaluation (gradient descent costs one per step). */
static PetscErrorCode RHSFunction(TS ts, PetscReal t, Vec U, Vec G, void *ctx)
{
  PgfFlow   flow = (PgfFlow)ctx;
  PetscBool same;

  PetscFunctionBeginUser;
  PetscCall(SetStep(flow));
  PetscCall(VecEqual(U, flow->ucache, &same));
  if (!same) PetscCall(Evaluate(flow, U));
  PetscCall(CheckFinite(flow, flow->Fcache, flow->Dcache));
  PetscCall(VecAXPBY(G, -1.0, 0.0, flow->vcache));
  flow->ncalls++;
  PetscFunctionReturn(0);
}

/* The right-hand side as the matrix-free Jacobian differentiates it: the
   states are perturbations, so the cache is neither used nor replaced. */
static PetscErrorCode JacobianFunction(void *ctx, Vec U, Vec G)
{
  PgfFlow        flow = (PgfFlow)ctx;
  PetscReal      F, norm;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCall(PetscTime(&t0));

  PetscCall(PgfModelEvaluate(flow->model, U, G, &F));
  PetscCall(VecNorm(G, NORM_2, &norm));
  PetscCall(CheckFinite(flow, F, norm));
  PetscCall(VecScale(G, -1.0));
  PetscCall(PetscTime(&t1));
  flow->rhs_time += t1 - t0;
  flow->nrhs++;
  flow->ncalls++;
  PetscFunctionReturn(0);
}

static PetscErrorCode RHSJacobianMF(TS ts, PetscReal t, Vec U, Mat A, Mat B, void *ctx)
{
  PetscFunctionBeginUser;
  PetscCall(MatMFFDSetBase(A, U, NULL));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* Whether U and the last evaluated state differ by rounding only: the last
   stage of a Runge-Kutta step is the new solution up to the order in which
   the stages were summed. */
static PetscErrorCode SameState(PgfFlow flow, Vec U, PetscBool *same)
{
  const PetscScalar *u, *c;
  PetscInt           n;
  PetscReal          diff = 0, size = 0;

  PetscFunctionBegin;
  PetscCall(VecGetLocalSize(U, &n));
  PetscCall(VecGetArrayRead(U, &u));
  PetscCall(VecGetArrayRead(flow->ucache, &c));
  for (PetscInt k = 0; k < n; k++) {
    diff = PetscMax(diff, PetscAbsReal(u[k] - c[k]));
    size = PetscMax(size, PetscAbsReal(u[k]));
  }
  PetscCall(VecRestoreArrayRead(flow->ucache, &c));
  PetscCall(VecRestoreArrayRead(U, &u));
  diff = diff <= 16 * PETSC_MACHINE_EPSILON * size ? 0 : 1;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &diff, 1, MPIU_REAL, MPI_MAX, flow->comm));
  *same = (PetscBool)(diff == 0);
  PetscFunctionReturn(0);
}

/* F and D = (1/m) sum_i |v(u_i)|^2 at U, reusing the last evaluation when it
   was at this state. */
static PetscErrorCode Observe(PgfFlow flow, Vec U)
{
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(SetStep(flow));
  PetscCall(SameState(flow, U, &same));
  if (!same) PetscCall(Evaluate(flow, U));
  flow->F = flow->Fcache;
  flow->D = flow->Dcache;
  PetscFunctionReturn(0);
}

/* F and D at U for the Armijo adapt: an evaluation unless U is the last
   evaluated state. */
static PetscErrorCode Objective(void *ctx, Vec U, PetscReal *F, PetscReal *D)
{
  PgfFlow flow = (PgfFlow)ctx;

  PetscFunctionBegin;
  PetscCall(Observe(flow, U));
  *F = flow->F;
  *D = flow->D;
  PetscFunctionReturn(0);
}

/* Integral of D dt by Simpson's rule on pairs of (unequal) steps, so the
   quadrature error stays well below the integrator's for smooth D. */
static void QuadratureAdd(PgfFlow flow, PetscReal t, PetscReal D)
{
  flow->qt[flow->nq] = t;
  flow->qD[flow->nq] = D;
  if (++flow->nq < 3) return;
  {
    PetscReal h0 = flow->qt[1] - flow->qt[0], h1 = flow->qt[2] - flow->qt[1], H = h0 + h1;

    if (h0 > 0 && h1 > 0) flow->integral += H / 6 * ((2 - h1 / h0) * flow->qD[0] + H * H / (h0 * h1) * flow->qD[1] + (2 - h0 / h1) * flow->qD[2]);
    else flow->integral += 0.5 * (h0 * (flow->qD[0] + flow->qD[1]) + h1 * (flow->qD[1] + flow->qD[2]));
  }
  flow->qt[0] = flow->qt[2];
  flow->qD[0] = flow->qD[2];
  flow->nq    = 1;
}

static PetscReal QuadratureValue(PgfFlow flow)
{
  PetscReal tail = flow->nq == 2 ? 0.5 * (flow->qt[1] - flow->qt[0]) * (flow->qD[0] + flow->qD[1]) : 0;

  return flow->integral + tail;
}

static PetscErrorCode FlushHistory(PgfFlow flow)
{
  PetscFunctionBegin;
  PetscCall(PgfOutputAppendHistory(flow->out, flow->nhistory, flow->history));
  flow->nhistory = 0;
  PetscFunctionReturn(0);
}

static PetscErrorCode Progress(PgfFlow flow)
{
  PetscInt  step;
  PetscReal t, dt;

  PetscFunctionBegin;
  PetscCall(TSGetStepNumber(flow->ts, &step));
  PetscCall(TSGetTime(flow->ts, &t));
  PetscCall(TSGetTimeStep(flow->ts, &dt));
  PetscCall(PetscPrintf(flow->comm, "t %-10.4e step %-8" PetscInt_FMT " dt %-10.3e F %-14.8e D %.3e\n", (double)t, step, (double)dt, (double)flow->F, (double)flow->D));
  PetscCall(PetscTime(&flow->last_progress));
  PetscFunctionReturn(0);
}

/* Snapshot times: 0, then K - 1 times log-spaced from tmax / 10^4 (or 10^-3
   when smaller) to tmax. */
static PetscReal SnapshotTime(PgfFlow flow, PetscInt k)
{
  PetscReal t0 = PetscMin(1e-3, flow->tmax * 1e-4);

  if (k == 0) return 0;
  if (flow->nsnap == 2) return flow->tmax;
  return t0 * PetscPowReal(flow->tmax / t0, (PetscReal)(k - 1) / (flow->nsnap - 2));
}

static PetscErrorCode WriteSnapshot(PgfFlow flow, Vec U, PetscReal t)
{
  PgfModel  m = flow->model;
  PetscReal gap;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_Snapshot, U, 0, 0, 0));
  PetscCall(PgfModelGap(m, U, &gap));
  PetscCall(PgfModelGetWeights(m, U, flow->wloc));
  PetscCall(PgfModelGetPositions(m, U, flow->thetaloc));
  PetscCall(PgfOutputAppendSnapshot(flow->out, t, flow->F, gap, flow->m, flow->npos, flow->rstart, flow->mloc, flow->wloc, flow->thetaloc));
  PetscCall(PgfConvexSnapshot(flow->convex, U, flow->out));
  PetscCall(FlushHistory(flow));
  PetscCall(PgfOutputFlush(flow->out));
  flow->tsnap = t;
  PetscCall(PetscLogEventEnd(PGF_Snapshot, U, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Steps rejected so far: by the integrator, and undone since F rose,
   before and since a restart. */
static PetscErrorCode Rejected(PgfFlow flow, PetscInt *rejected)
{
  PetscFunctionBegin;
  PetscCall(TSGetStepRejections(flow->ts, rejected));
  *rejected += flow->rejected0 + flow->rises;
  PetscFunctionReturn(0);
}

/* The last good state: accepted, with finite F and D. */
static PetscErrorCode KeepGood(PgfFlow flow, Vec U, PetscReal t)
{
  PetscFunctionBegin;
  PetscCall(VecCopy(U, flow->good));
  flow->tgood = t;
  flow->Fgood = flow->F;
  flow->Dgood = flow->D;
  PetscFunctionReturn(0);
}

/* The complete state after an accepted step, the results file's rows
   written up to it. A checkpoint that cannot be written (its disk full,
   say) ends the run, which still closes its results file with /final: the
   failure is kept in checkpoint_failure and reported at the end. */
static PetscErrorCode WriteCheckpoint(PgfFlow flow, Vec U, PetscReal t)
{
  PetscReal      state[PGF_CKPT_FIELDS], dt;
  PetscInt       step, rejected, nsnap, nhist;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_Checkpoint, U, 0, 0, 0));
  PetscCall(FlushHistory(flow));
  PetscCall(PgfOutputFlush(flow->out));
  PetscCall(PgfOutputGetCounts(flow->out, &nsnap, &nhist));
  PetscCall(TSGetTimeStep(flow->ts, &dt));
  PetscCall(TSGetStepNumber(flow->ts, &step));
  PetscCall(Rejected(flow, &rejected));
  state[PGF_CKPT_T]         = t;
  state[PGF_CKPT_DT]        = dt;
  state[PGF_CKPT_STEP]      = step;
  state[PGF_CKPT_REJECTED]  = rejected;
  state[PGF_CKPT_NRHS]      = (PetscReal)flow->nrhs;
  state[PGF_CKPT_NCALLS]    = (PetscReal)flow->ncalls;
  state[PGF_CKPT_F0]        = flow->F0;
  state[PGF_CKPT_INTEGRAL]  = flow->integral;
  state[PGF_CKPT_NQ]        = flow->nq;
  state[PGF_CKPT_NEXT_SNAP] = flow->next_snap;
  state[PGF_CKPT_TSNAP]     = flow->tsnap;
  state[PGF_CKPT_SNAPSHOTS] = nsnap;
  state[PGF_CKPT_HISTORY]   = nhist;
  for (PetscInt k = 0; k < 3; k++) {
    state[PGF_CKPT_QT0 + k] = flow->qt[k];
    state[PGF_CKPT_QD0 + k] = flow->qD[k];
  }
  ierr = PgfCheckpointWrite(flow->model, flow->checkpoint, U, state, flow->run_id, flow->output);
  if (ierr) {
    char *message;

    PetscCall(PetscErrorMessage(ierr, NULL, &message));
    PetscCall(PetscStrncpy(flow->checkpoint_failure, message ? message : "cannot write the checkpoint", sizeof(flow->checkpoint_failure)));
    if (!flow->stop) flow->stop = PGF_STOP_CHECKPOINT;
  }
  PetscCall(PetscLogEventEnd(PGF_Checkpoint, U, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Stops the run after a signal to any rank: a checkpoint of U at t. */
static PetscErrorCode StopOnSignal(PgfFlow flow, Vec U, PetscReal t)
{
  PetscFunctionBegin;
  flow->stop = PGF_STOP_SIGNAL;
  if (flow->checkpoint[0]) PetscCall(WriteCheckpoint(flow, U, t));
  if (!flow->checkpoint_failure[0]) PetscCall(PetscPrintf(flow->comm, "pgflow: signal received: checkpoint written to %s at t = %g, stopping\n", flow->checkpoint, (double)t));
  PetscFunctionReturn(0);
}

/* Every -checkpoint_interval seconds by rank 0's clock, and on a signal to
   any rank, which then stops the run: all ranks decide together. */
static PetscErrorCode CheckpointIfDue(PgfFlow flow, Vec U, PetscReal t)
{
  PetscMPIInt    rank;
  int            due = PgfSignalReceived() ? 2 : 0;
  PetscLogDouble now;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(flow->comm, &rank));
  PetscCall(PetscTime(&now));
  if (!rank && flow->checkpoint_interval > 0 && now - flow->last_checkpoint >= flow->checkpoint_interval) due = PetscMax(due, 1);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &due, 1, MPI_INT, MPI_MAX, flow->comm));
  if (!due) PetscFunctionReturn(0);
  flow->last_checkpoint = now;
  if (due == 2) {
    PetscCall(StopOnSignal(flow, U, t));
    PetscCall(TSSetConvergedReason(flow->ts, TS_CONVERGED_USER));
  } else if (flow->checkpoint[0]) {
    PetscCall(WriteCheckpoint(flow, U, t));
    if (flow->stop) PetscCall(TSSetConvergedReason(flow->ts, TS_CONVERGED_USER));
  }
  PetscFunctionReturn(0);
}

/* Along a gradient flow F decreases (dF/dt = -D), so a step that raised it
   beyond the rounding of F (doc/math.md section 2, "Steps that raise F")
   went wrong however the integrator judged its error: it is undone and
   retried at a quarter of its length (fewer evaluations than a half where
   an explicit method's steps keep reaching its stability limit), and the
   run ends (status 3) once the step is below 1e-12 max(1, t). *undone says
   whether it was. */
static PetscErrorCode UndoRise(PgfFlow flow, TS ts, Vec U, PetscReal t, PetscReal tprev, PetscBool *undone)
{
  PetscReal dt  = (t - tprev) / 4;
  PetscReal tol = 256 * PETSC_MACHINE_EPSILON * PetscMax(PetscAbsReal(flow->Fgood), PetscAbsReal(flow->F0));
  PetscInt  step;

  PetscFunctionBegin;
  *undone = (PetscBool)(flow->monotone && flow->F - flow->Fgood > tol);
  if (!*undone) PetscFunctionReturn(0);
  flow->rises++;
  PetscCall(VecCopy(flow->good, U));
  flow->F = flow->Fgood;
  flow->D = flow->Dgood;
  PetscCall(TSSetTime(ts, tprev));
  PetscCall(TSGetStepNumber(ts, &step));
  PetscCall(TSSetStepNumber(ts, step - 1));
  if (dt < 1e-12 * PetscMax(1, PetscAbsReal(tprev))) {
    flow->stop = PGF_STOP_UNDERFLOW;
    PetscCall(TSSetConvergedReason(ts, TS_DIVERGED_STEP_REJECTED));
    PetscFunctionReturn(0);
  }
  PetscCall(TSSetTimeStep(ts, dt));
  PetscCall(TSRestartStep(ts));
  /* the undone step may have reached the final time or step count */
  PetscCall(TSSetConvergedReason(ts, TS_CONVERGED_ITERATING));
  PetscFunctionReturn(0);
}

/* After every accepted step: proximal step, then F and D, history, energy
   balance, progress and stopping criteria. */
static PetscErrorCode PostStep(TS ts)
{
  TSConvergedReason reason;
  PgfFlow           flow;
  Vec               U;
  PetscReal         t, tprev, *row;
  PetscBool         changed, undone;
  PetscLogDouble    now;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &flow));
  PetscCall(TSGetSolution(ts, &U));
  PetscCall(TSGetTime(ts, &t));
  PetscCall(TSGetPrevTime(ts, &tprev));
  PetscCall(TSGetConvergedReason(ts, &reason));
  if (reason < 0) PetscFunctionReturn(0); /* TS calls this after a failed step too */
  if (!(t > tprev)) { /* a step below the resolution of t: no progress, ever */
    flow->stop = PGF_STOP_STALLED;
    PetscCall(TSSetConvergedReason(ts, TS_DIVERGED_STEP_REJECTED));
    PetscFunctionReturn(0);
  }
  if (flow->armijo) {
    TSAdapt adapt;

    PetscCall(TSGetAdapt(ts, &adapt));
    PetscCall(PgfTSAdaptArmijoAccepted(adapt, U));
  }
  PetscCall(PgfModelProx(flow->model, t - tprev, U, &changed));
  if (changed) PetscCall(TSRestartStep(ts));
  PetscCall(Observe(flow, U));
  if (PetscIsInfOrNanReal(flow->F) || PetscIsInfOrNanReal(flow->D)) {
    flow->nonfinite = PETSC_TRUE;
    flow->stop      = PGF_STOP_NONFINITE;
    PetscCall(TSSetConvergedReason(ts, TS_DIVERGED_STEP_REJECTED));
    PetscFunctionReturn(0);
  }
  PetscCall(UndoRise(flow, ts, U, t, tprev, &undone));
  if (undone) PetscFunctionReturn(0);
  PetscCall(KeepGood(flow, U, t));
  row    = &flow->history[flow->nhistory++ * PGF_HISTORY_COLUMNS];
  row[0] = t;
  row[1] = t - tprev;
  row[2] = flow->F;
  row[3] = flow->D;
  row[4] = (PetscReal)flow->nrhs;
  if (flow->nhistory == HISTORY_BUFFER) PetscCall(FlushHistory(flow));
  QuadratureAdd(flow, t, flow->D);
  PetscCall(PetscTime(&now));
  if (now - flow->last_progress > flow->progress_interval) PetscCall(Progress(flow));
  if (flow->stop_gap > 0) PetscCall(PgfModelGap(flow->model, U, &flow->gap));
  if (flow->F < flow->stop_loss) flow->stop = PGF_STOP_STOP_LOSS;
  else if (flow->gap < flow->stop_gap) flow->stop = PGF_STOP_STOP_GAP;
  else if (flow->D < flow->stop_dissipation) flow->stop = PGF_STOP_STOP_DISSIPATION;
  if (flow->stop) PetscCall(TSSetConvergedReason(ts, TS_CONVERGED_USER));
  else if (flow->next_snap < flow->nsnap && t >= SnapshotTime(flow, flow->next_snap)) {
    while (flow->next_snap < flow->nsnap && t >= SnapshotTime(flow, flow->next_snap)) flow->next_snap++;
    PetscCall(Progress(flow));
    PetscCall(WriteSnapshot(flow, U, t));
  }
  PetscCall(CheckpointIfDue(flow, U, t));
  PetscFunctionReturn(0);
}

/* The assembled Jacobian of the right-hand side -v, for models that provide one. */
static PetscErrorCode RHSJacobian(TS ts, PetscReal t, Vec U, Mat A, Mat B, void *ctx)
{
  PgfFlow flow = (PgfFlow)ctx;

  PetscFunctionBeginUser;
  PetscCall(PgfModelJacobian(flow->model, U, B));
  PetscCall(MatScale(B, -1.0));
  if (A != B) {
    PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  }
  PetscFunctionReturn(0);
}

/* The analytic Jacobian of -v applied matrix-free: prepared at U here,
   applied by ShellMult. */
static PetscErrorCode RHSJacobianShell(TS ts, PetscReal t, Vec U, Mat A, Mat B, void *ctx)
{
  PgfFlow flow = (PgfFlow)ctx;

  PetscFunctionBeginUser;
  PetscCall(PgfModelJacobianPrepare(flow->model, U));
  /* a new operator for the preconditioner's setup */
  PetscCall(MatAssemblyBegin(B, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(B, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* For Rosenbrock-W, which linearizes only an IFunction and treats a
   right-hand side explicitly: the whole flow F = U' + v(U) as an IFunction,
   with the analytic Jacobian shift I + dv/du. */
static PetscErrorCode IFunctionFull(TS ts, PetscReal t, Vec U, Vec Udot, Vec F, void *ctx)
{
  PetscFunctionBeginUser;
  PetscCall(RHSFunction(ts, t, U, F, ctx));
  PetscCall(VecAYPX(F, -1.0, Udot));
  PetscFunctionReturn(0);
}

static PetscErrorCode IJacobianFull(TS ts, PetscReal t, Vec U, Vec Udot, PetscReal shift, Mat A, Mat B, void *ctx)
{
  PgfFlow   flow = (PgfFlow)ctx;
  PetscBool shell;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectTypeCompare((PetscObject)B, MATSHELL, &shell));
  if (shell) {
    PetscCall(PgfModelJacobianPrepare(flow->model, U));
    flow->shift = shift;
    flow->scale = 1;
    /* a new operator for the preconditioner's setup */
    PetscCall(MatAssemblyBegin(B, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(B, MAT_FINAL_ASSEMBLY));
  } else {
    PetscCall(PgfModelJacobian(flow->model, U, B));
    PetscCall(MatShift(B, shift));
  }
  if (A != B) {
    PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  }
  PetscFunctionReturn(0);
}

/* The matrix-free analytic Jacobian shift I + scale dv/du: -dv/du for the
   right-hand side, which TS then scales and shifts through the two
   operations below (so that the preconditioner knows the Newton matrix),
   shift I + dv/du for the IFunction. */
static PetscErrorCode ShellMult(Mat A, Vec X, Vec Y)
{
  PgfFlow flow;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(A, &flow));
  PetscCall(PgfModelJacobianApply(flow->model, X, Y));
  PetscCall(VecAXPBY(Y, flow->shift, flow->scale, X));
  PetscFunctionReturn(0);
}

static PetscErrorCode ShellShift(Mat A, PetscScalar a)
{
  PgfFlow flow;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(A, &flow));
  flow->shift += a;
  PetscFunctionReturn(0);
}

static PetscErrorCode ShellScale(Mat A, PetscScalar a)
{
  PgfFlow flow;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(A, &flow));
  flow->shift *= a;
  flow->scale *= a;
  PetscFunctionReturn(0);
}

/* The model's direct solve of the Newton systems as GMRES's preconditioner. */
static PetscErrorCode PCSetUpModel(PC pc)
{
  PgfFlow flow;

  PetscFunctionBeginUser;
  PetscCall(PCShellGetContext(pc, &flow));
  PetscCall(PgfModelJacobianSolveSetUp(flow->model, flow->shift, flow->scale, NULL, NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode PCApplyModel(PC pc, Vec X, Vec Y)
{
  PgfFlow flow;

  PetscFunctionBeginUser;
  PetscCall(PCShellGetContext(pc, &flow));
  PetscCall(PgfModelJacobianSolve(flow->model, X, Y));
  PetscFunctionReturn(0);
}

/* A stage or solution the model rejects makes TS retry a smaller step. */
static PetscErrorCode DomainCheck(TS ts, PetscReal t, Vec U, PetscBool *accept)
{
  PgfFlow flow;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &flow));
  PetscCall(PgfModelAcceptable(flow->model, U, accept));
  PetscFunctionReturn(0);
}

/* State-sized vectors the integrator of type (from -ts_type) keeps, about:
   explicit Runge-Kutta its stages and their derivatives, implicit types
   Newton's vectors and GMRES's 30 Krylov vectors; plus pgflow's own four
   (the state, the last good one, the cached evaluation and velocity). */
static PetscReal StateVectors(const char type[])
{
  char      rk[64] = "5dp";
  PetscBool set;
  struct {
    const char *name;
    int         stages;
  } const tableaus[] = {{"1fe", 1}, {"2a", 2}, {"2b", 2}, {"3", 3}, {"3bs", 4}, {"4", 4}, {"5f", 6}, {"5dp", 7}, {"5bs", 8}, {"6vr", 10}, {"7vr", 13}, {"8vr", 16}};

  if (!type[0] || !strcmp(type, TSRK)) {
    int stages = 16;

    if (PetscOptionsGetString(NULL, NULL, "-ts_rk_type", rk, sizeof(rk), &set)) return 40;
    for (size_t k = 0; k < sizeof(tableaus) / sizeof(tableaus[0]); k++)
      if (!strcmp(rk, tableaus[k].name)) stages = tableaus[k].stages;
    return 4 + 2 * stages + 3;
  }
  if (!strcmp(type, TSEULER)) return 4 + 3;
  if (!strcmp(type, TSSSP)) return 4 + 8;
  return 4 + 50;
}

PetscErrorCode PgfFlowCreate(PgfModel model, PgfFlow *flow)
{
  PgfFlow     f;
  TSAdapt     adapt;
  SNES        snes;
  KSP         ksp;
  PC          pc;
  PetscMPIInt size;
  PetscBool   assembled, hasjac, hasapply, hassolve, hasacceptable;
  MPI_Comm    comm;
  PetscInt    m, npos, dof, rstart, mloc;
  PetscInt    nmax, n, N;
  char        type[64] = "";
  const char *deftype;
  PetscBool   typegiven;

  PetscFunctionBegin;
  PetscCall(PgfModelGetComm(model, &comm));
  PetscCall(PgfModelGetSizes(model, &m, &npos, &dof, NULL));
  PetscCall(PgfModelGetOwnership(model, &rstart, &mloc));
  PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN, &hasjac));
  PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN_APPLY, &hasapply));
  PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN_SOLVE, &hassolve));
  PetscCall(PgfModelHasOperation(model, PGF_OP_ACCEPTABLE, &hasacceptable));
  nmax = hassolve ? 0 : 6000;
  PetscOptionsBegin(comm, NULL, "Jacobian", NULL);
  /* a model's direct solve of the Newton systems beats dense LU at every
     size and does not depend on the rank count: matrix-free by default */
  PetscCall(PgfOptionsInt(comm, "-jacobian_assemble_max", "Assemble an analytic Jacobian when m dof is at most this (else matrix-free; deconv)", nmax, 0, PETSC_MAX_INT, &nmax));
  PetscOptionsEnd();
  assembled = (PetscBool)(hasjac && m * dof <= nmax);
  PetscCall(PetscOptionsGetString(NULL, NULL, "-ts_type", type, sizeof(type), &typegiven));
  PetscCall(PgfModelGetDefaultTSType(model, &deftype));
  if (!typegiven && deftype) PetscCall(PetscStrncpy(type, deftype, sizeof(type)));
  {
    PetscReal state = sizeof(PetscScalar) * (PetscReal)mloc * dof, nvec = StateVectors(type);
    char      what[128];

    PetscCall(PetscSNPrintf(what, sizeof(what), "the integrator's %d state vectors of %" PetscInt_FMT " x %" PetscInt_FMT " values", (int)nvec, mloc, dof));
    PetscCall(PgfModelReserve(model, nvec * state, what));
    /* the assembled Jacobian: its rows of the local particles, and its LU factor */
    if (assembled) PetscCall(PgfModelReserve(model, 2 * state * m * dof, "the assembled Jacobian"));
  }
  PetscCall(PgfTSAdaptRegisterArmijo());
  PetscCall(PetscNew(&f));
  f->model  = model;
  f->comm   = comm;
  f->m      = m;
  f->npos   = npos;
  f->dof    = dof;
  f->rstart = rstart;
  f->mloc   = mloc;
  PetscCall(PgfModelCreateVec(model, &f->U));
  PetscCall(VecDuplicate(f->U, &f->good));
  PetscCall(VecDuplicate(f->U, &f->ucache));
  PetscCall(VecDuplicate(f->U, &f->vcache));
  PetscCall(VecSet(f->ucache, PETSC_MAX_REAL)); /* matches no state */
  PetscCall(PetscMalloc3(mloc, &f->wloc, mloc * npos, &f->thetaloc, HISTORY_BUFFER * PGF_HISTORY_COLUMNS, &f->history));

  PetscCall(TSCreate(comm, &f->ts));
  PetscCall(TSSetApplicationContext(f->ts, f));
  PetscCall(TSSetProblemType(f->ts, TS_NONLINEAR));
  f->implicitform = (PetscBool)(hasjac && !strcmp(type, TSROSW));
  if (f->implicitform) PetscCall(TSSetIFunction(f->ts, NULL, IFunctionFull, f));
  else PetscCall(TSSetRHSFunction(f->ts, NULL, RHSFunction, f));
  PetscCall(TSSetPostStep(f->ts, PostStep));
  if (hasacceptable) PetscCall(TSSetFunctionDomainError(f->ts, DomainCheck));
  PetscCall(TSSetErrorIfStepFails(f->ts, PETSC_FALSE));
  PetscCall(TSSetExactFinalTime(f->ts, TS_EXACTFINALTIME_MATCHSTEP));

  /* Defaults (README.md, Running): RK 5(4) Dormand-Prince with the dsp
     controller and tolerances 1e-6, refined below by the model's own default
     or else the default for trajectories;
     implicit types get Newton with a matrix-free Jacobian and no
     preconditioner (or, with -snes_mf, SNES's own matrix-free operator), and retry a failed nonlinear solve with a smaller step. */
  PetscCall(TSSetType(f->ts, TSRK));
  PetscCall(TSRKSetType(f->ts, TSRK5DP));
  PetscCall(TSGetAdapt(f->ts, &adapt));
  PetscCall(TSAdaptSetType(adapt, TSADAPTDSP));
  PetscCall(TSSetTolerances(f->ts, 1e-6, NULL, 1e-6, NULL));
  PetscCall(TSSetTimeStep(f->ts, 1e-3));
  PetscCall(TSSetMaxTime(f->ts, 100));
  PetscCall(TSSetMaxSteps(f->ts, PETSC_MAX_INT));
  PetscCall(TSSetMaxSNESFailures(f->ts, -1));
  PetscCall(TSGetSNES(f->ts, &snes));
  PetscCall(SNESGetKSP(snes, &ksp));
  PetscCall(KSPGetPC(ksp, &pc));
  if (assembled) {
    /* An analytic Jacobian, dense (m dof at most a few thousand): solved
       by LAPACK LU on one rank; on several, by GMRES with Jacobi (PETSc
       3.18 has no parallel LU for MATMPIDENSE). */
    Mat J;

    PetscCall(MatCreateDense(comm, mloc * dof, mloc * dof, PETSC_DECIDE, PETSC_DECIDE, NULL, &J));
    if (f->implicitform) PetscCall(TSSetIJacobian(f->ts, J, J, IJacobianFull, f));
    else PetscCall(TSSetRHSJacobian(f->ts, J, J, RHSJacobian, f));
    PetscCall(MatDestroy(&J)); /* TS keeps a reference */
    PetscCallMPI(MPI_Comm_size(comm, &size));
    PetscCall(KSPSetType(ksp, size > 1 ? KSPGMRES : KSPPREONLY));
    PetscCall(PCSetType(pc, size > 1 ? PCJACOBI : PCLU));
  } else if (hasapply) {
    /* The analytic Jacobian, applied matrix-free, and the model's direct
       solve of the Newton systems when it has one (else GMRES) */
    Mat S;

    PetscCall(VecGetLocalSize(f->U, &n));
    PetscCall(VecGetSize(f->U, &N));
    PetscCall(MatCreateShell(comm, n, n, N, N, f, &S));
    PetscCall(MatShellSetOperation(S, MATOP_MULT, (void (*)(void))ShellMult));
    PetscCall(MatShellSetManageScalingShifts(S));
    PetscCall(MatShellSetOperation(S, MATOP_SHIFT, (void (*)(void))ShellShift));
    PetscCall(MatShellSetOperation(S, MATOP_SCALE, (void (*)(void))ShellScale));
    f->scale = f->implicitform ? 1 : -1;
    if (f->implicitform) PetscCall(TSSetIJacobian(f->ts, S, S, IJacobianFull, f));
    else {
      PetscCall(TSSetRHSJacobian(f->ts, S, S, RHSJacobianShell, f));
      /* TS shifts and scales the shell for implicit stages; undo that
         before each new Jacobian, which only replaces what the shell applies */
      PetscCall(TSRHSJacobianSetReuse(f->ts, PETSC_TRUE));
    }
    PetscCall(MatDestroy(&S)); /* TS keeps a reference */
    if (hassolve) {
      /* an exact solve up to rounding (inexact only where it regularized a
         singular block, which Newton and W-methods tolerate): applied once */
      PetscCall(KSPSetType(ksp, KSPPREONLY));
      PetscCall(PCSetType(pc, PCSHELL));
      PetscCall(PCShellSetContext(pc, f));
      PetscCall(PCShellSetSetUp(pc, PCSetUpModel));
      PetscCall(PCShellSetApply(pc, PCApplyModel));
      PetscCall(PCShellSetName(pc, "pgflow model Jacobian solve"));
    } else PetscCall(PCSetType(pc, PCNONE));
  } else {
    PetscCall(VecGetLocalSize(f->U, &n));
    PetscCall(VecGetSize(f->U, &N));
    PetscCall(MatCreateMFFD(comm, n, n, N, N, &f->J));
    PetscCall(MatMFFDSetFunction(f->J, JacobianFunction, f));
    PetscCall(PCSetType(pc, PCNONE));
  }
  PetscCall(PgfModelSetTSDefaults(model, f->ts));
  if (!typegiven && deftype) PetscCall(TSSetType(f->ts, deftype));
  {
    PetscBool rk;

    /* Trajectories, unless the model chose its own integrator (deconv):
       RK 3(2) Bogacki-Shampine, dsp with the PI33 filter, tolerances 1e-5,
       chosen by measurement on E3 (README "Running"); the steps are mostly
       limited by stability, where three stages per step cost less than
       5dp's seven at the same distance to a tight run */
    PetscCall(PetscObjectTypeCompare((PetscObject)f->ts, TSRK, &rk));
    if (rk) {
      PetscCall(TSRKSetType(f->ts, TSRK3BS));
      PetscCall(TSAdaptDSPSetFilter(adapt, "PI33"));
      PetscCall(TSSetTolerances(f->ts, 1e-5, NULL, 1e-5, NULL));
    }
  }
  *flow = f;
  PetscFunctionReturn(0);
}

/* The implicit part of an IMEX method when the whole right-hand side is
   explicit: F(t, U, U') = U', whose Jacobian is shift I. */
static PetscErrorCode IFunctionExplicit(TS ts, PetscReal t, Vec U, Vec Udot, Vec F, void *ctx)
{
  PetscFunctionBeginUser;
  PetscCall(VecCopy(Udot, F));
  PetscFunctionReturn(0);
}

static PetscErrorCode IJacobianExplicit(TS ts, PetscReal t, Vec U, Vec Udot, PetscReal shift, Mat A, Mat B, void *ctx)
{
  PetscFunctionBeginUser;
  PetscCall(MatZeroEntries(B));
  PetscCall(MatShift(B, shift));
  PetscFunctionReturn(0);
}

/* Implicit types without an assembled Jacobian. IMEX types (arkimex, rosw)
   treat the right-hand side explicitly and get the trivial implicit part
   above. The others run Newton on the whole implicit function with SNES's
   matrix-free operator (as -snes_mf) and no preconditioner: the right-hand
   side's MFFD Jacobian is set only so that SNES does not form a dense
   finite-difference Jacobian column by column (-snes_mf_operator uses it). */
static PetscErrorCode SetUpMatrixFree(PgfFlow flow)
{
  TS          ts = flow->ts;
  SNES        snes;
  const char *prefix;
  PetscBool   imex, mfop;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompareAny((PetscObject)ts, &imex, TSARKIMEX, TSROSW, ""));
  if (imex) {
    Mat      D;
    PetscInt n;

    PetscCall(VecGetLocalSize(flow->U, &n));
    PetscCall(MatCreateAIJ(flow->comm, n, n, PETSC_DETERMINE, PETSC_DETERMINE, 1, NULL, 0, NULL, &D));
    PetscCall(MatZeroEntries(D));
    PetscCall(MatAssemblyBegin(D, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(D, MAT_FINAL_ASSEMBLY));
    PetscCall(TSSetIFunction(ts, NULL, IFunctionExplicit, flow));
    PetscCall(TSSetIJacobian(ts, D, D, IJacobianExplicit, flow));
    PetscCall(MatDestroy(&D)); /* TS keeps a reference */
    PetscFunctionReturn(0);
  }
  PetscCall(TSSetRHSJacobian(ts, flow->J, flow->J, RHSJacobianMF, flow));
  PetscCall(TSGetSNES(ts, &snes));
  PetscCall(SNESGetOptionsPrefix(snes, &prefix));
  PetscCall(PetscOptionsHasName(NULL, prefix, "-snes_mf_operator", &mfop));
  if (!mfop) PetscCall(SNESSetUseMatrixFree(snes, PETSC_TRUE, PETSC_FALSE));
  PetscFunctionReturn(0);
}

/* PETSc reads these TS options without checking them: a step of 0 or NaN,
   a negative tolerance or a NaN final time made runs that never end or
   that fail deep inside the integrator. Each is checked here, before any
   work, as pgflow's own options are. */
static const struct {
  const char *name, *accepted;
  PetscReal   lo;
  PetscBool   open, integer; /* lo excluded; an integer */
} ts_options[] = {
    {"-ts_dt", "a positive number", 0, PETSC_TRUE, PETSC_FALSE},
    {"-ts_max_time", "a positive number", 0, PETSC_TRUE, PETSC_FALSE},
    {"-ts_rtol", "a number >= 0", 0, PETSC_FALSE, PETSC_FALSE},
    {"-ts_atol", "a number >= 0", 0, PETSC_FALSE, PETSC_FALSE},
    {"-ts_adapt_dt_min", "a number >= 0", 0, PETSC_FALSE, PETSC_FALSE},
    {"-ts_adapt_dt_max", "a positive number", 0, PETSC_TRUE, PETSC_FALSE},
    {"-ts_max_steps", "an integer >= 0", 0, PETSC_FALSE, PETSC_TRUE},
    {"-ts_max_reject", "an integer >= -1 (-1: unlimited)", -1, PETSC_FALSE, PETSC_TRUE},
    {"-ts_max_snes_failures", "an integer >= -1 (-1: unlimited)", -1, PETSC_FALSE, PETSC_TRUE},
};

static PetscErrorCode CheckTSOptions(MPI_Comm comm)
{
  PetscReal tol[2] = {1, 1};

  PetscFunctionBegin;
  for (size_t k = 0; k < sizeof(ts_options) / sizeof(ts_options[0]); k++) {
    char      buf[256], *end;
    PetscBool set;
    double    v;

    PetscCall(PetscOptionsGetString(NULL, NULL, ts_options[k].name, buf, sizeof(buf), &set));
    if (!set) continue;
    v = strtod(buf, &end);
    PgfCheckInput(comm, buf[0] && !*end && !PetscIsInfOrNanReal(v) && (ts_options[k].open ? v > ts_options[k].lo : v >= ts_options[k].lo) && (!ts_options[k].integer || (v == PetscFloorReal(v) && v < PETSC_MAX_INT)), "%s must be %s (got '%s')", ts_options[k].name, ts_options[k].accepted, buf);
    if (k == 2 || k == 3) tol[k - 2] = v;
  }
  PgfCheckInput(comm, tol[0] > 0 || tol[1] > 0, "-ts_rtol and -ts_atol cannot both be 0 (an adaptive step would never be accepted)");
  PetscFunctionReturn(0);
}

/* The integrator's settings as resolved, for the results file's
   /parameters (PETSc reads them itself). Those that change the trajectory
   (the type, the step control and its tolerances, a fixed step) are
   recorded in checkpoints too, and a restart must give the same: the
   continued results file would otherwise hold two integrators' steps under
   one set of parameters. The final time and the step count may change. */
static PetscErrorCode RecordTS(TS ts)
{
  TSType      type;
  TSAdaptType atype;
  TSAdapt     adapt;
  PetscReal   rtol, atol, tmax, dt;
  PetscInt    steps;
  PetscBool   rk, fixed;

  PetscFunctionBegin;
  PetscCall(TSGetType(ts, &type));
  PetscCall(TSGetAdapt(ts, &adapt));
  PetscCall(TSAdaptGetType(adapt, &atype));
  PetscCall(TSGetTolerances(ts, &atol, NULL, &rtol, NULL));
  PetscCall(TSGetMaxTime(ts, &tmax));
  PetscCall(TSGetMaxSteps(ts, &steps));
  PetscCall(TSGetTimeStep(ts, &dt));
  PetscCall(PetscObjectTypeCompare((PetscObject)ts, TSRK, &rk));
  PetscCall(PetscObjectTypeCompare((PetscObject)adapt, TSADAPTNONE, &fixed));
  PetscCall(PgfParamsAddReal("-ts_max_time", tmax));
  PetscCall(PgfParamsAddInt("-ts_max_steps", steps));
  if (!fixed) PetscCall(PgfParamsAddReal("-ts_dt", dt));
  PgfParamsModelScope(PETSC_TRUE);
  PetscCall(PgfParamsAdd("-ts_type", type));
  PetscCall(PgfParamsAdd("-ts_adapt_type", atype));
  PetscCall(PgfParamsAddReal("-ts_rtol", rtol));
  PetscCall(PgfParamsAddReal("-ts_atol", atol));
  if (fixed) PetscCall(PgfParamsAddReal("-ts_dt", dt));
  if (rk) {
    TSRKType rktype;

    PetscCall(TSRKGetType(ts, &rktype));
    PetscCall(PgfParamsAdd("-ts_rk_type", rktype));
  }
  PgfParamsModelScope(PETSC_FALSE);
  PetscFunctionReturn(0);
}

PetscErrorCode PgfFlowSetFromOptions(PgfFlow flow)
{
  MPI_Comm  comm = flow->comm;
  PetscBool hasgap, usesstep, nonsmooth;

  PetscFunctionBegin;
  flow->nsnap             = 30;
  flow->progress_interval = 5;
  PetscOptionsBegin(comm, NULL, "Flow", NULL);
  PetscCall(PgfOptionsInt(comm, "-snapshots", "Snapshots: t = 0 and K - 1 log-spaced times up to -ts_max_time", flow->nsnap, 2, 100000, &flow->nsnap));
  PetscCall(PgfOptionsReal(comm, "-stop_loss", "Stop when F falls below this (0: never)", 0, 0, PETSC_MAX_REAL, &flow->stop_loss));
  PetscCall(PgfOptionsReal(comm, "-stop_dissipation", "Stop when D falls below this (0: never)", 0, 0, PETSC_MAX_REAL, &flow->stop_dissipation));
  PetscCall(PgfOptionsReal(comm, "-stop_gap", "Stop when the duality gap falls below this (0: never; deconv)", 0, 0, PETSC_MAX_REAL, &flow->stop_gap));
  PetscCall(PgfOptionsReal(comm, "-progress_interval", "Seconds of wall time between progress lines", flow->progress_interval, 0, PETSC_MAX_REAL, &flow->progress_interval));
  PetscOptionsEnd();
  PetscCall(PgfModelHasGap(flow->model, &hasgap));
  PgfCheckInput(comm, hasgap || flow->stop_gap == 0, "-stop_gap needs a problem with a duality gap (-problem deconv)");
  {
    char      type[256];
    PetscBool set;
    PetscErrorCode (*create)(TS) = NULL;

    PetscCall(PetscOptionsGetString(NULL, NULL, "-ts_type", type, sizeof(type), &set));
    PetscCall(TSInitializePackage());
    if (set) PetscCall(PetscFunctionListFind(TSList, type, &create));
    PgfCheckInput(comm, !set || create, "-ts_type must be a PETSc TS type such as rk, euler, bdf, beuler, cn, theta, arkimex, rosw (got '%s')", type);
  }
  PetscCall(CheckTSOptions(comm));
  {
    TSAdapt   adapt;
    PetscBool euler, fixed;

    /* mini-batch SGD: fixed steps of forward Euler only (none is its
       default step control); Armijo: gradient descent only */
    PetscCall(PgfModelHasOperation(flow->model, PGF_OP_SETSTEP, &usesstep));
    PetscCall(TSGetAdapt(flow->ts, &adapt));
    if (usesstep) PetscCall(TSAdaptSetType(adapt, TSADAPTNONE));
    PetscCall(TSSetFromOptions(flow->ts));
    PetscCall(PetscObjectTypeCompare((PetscObject)flow->ts, TSEULER, &euler));
    PetscCall(PetscObjectTypeCompare((PetscObject)adapt, TSADAPTNONE, &fixed));
    PetscCall(PetscObjectTypeCompare((PetscObject)adapt, PGF_TSADAPT_ARMIJO, &flow->armijo));
    PgfCheckInput(comm, !usesstep || (euler && fixed), "-batch_size needs -ts_type euler with a fixed step (-ts_adapt_type none, the default with it)");
    PgfCheckInput(comm, !flow->armijo || euler, "-ts_adapt_type armijo is a line search for gradient descent: it needs -ts_type euler");
    /* forward Euler has no error estimate: its steps are fixed unless
       Armijo chooses them, and /parameters says so */
    if (euler && !flow->armijo) PetscCall(TSAdaptSetType(adapt, TSADAPTNONE));
    if (flow->armijo) PetscCall(PgfTSAdaptArmijoSetObjective(adapt, Objective, flow));
    /* mini-batches and proximal steps may raise F: they are exempt */
    PetscCall(PgfModelNonsmooth(flow->model, &nonsmooth));
    flow->monotone = (PetscBool)(!usesstep && !nonsmooth);
  }
  if (flow->J) PetscCall(SetUpMatrixFree(flow));
  PetscCall(PgfConvexCreate(flow->model, &flow->convex));
  PetscCall(TSGetMaxTime(flow->ts, &flow->tmax));
  PetscCall(RecordTS(flow->ts));
  PetscFunctionReturn(0);
}

/* Where checkpoints go (path) and how often (seconds of wall time; 0: on
   stop signals only). */
PetscErrorCode PgfFlowSetCheckpoint(PgfFlow flow, const char path[], PetscReal interval)
{
  PetscFunctionBegin;
  PetscCall(PetscStrncpy(flow->checkpoint, path, sizeof(flow->checkpoint)));
  flow->checkpoint_interval = interval;
  PetscFunctionReturn(0);
}

/* The run that the checkpoints belong to: its id and results file. */
PetscErrorCode PgfFlowSetOwner(PgfFlow flow, const char run_id[], const char output[])
{
  PetscFunctionBegin;
  PetscCall(PetscStrncpy(flow->run_id, run_id, sizeof(flow->run_id)));
  PetscCall(PetscStrncpy(flow->output, output, sizeof(flow->output)));
  PetscFunctionReturn(0);
}

/* Makes PgfFlowSolve continue from the checkpoint at path; gives the
   snapshots and history rows the results file held at that point, and the
   times of the last of each. */
PetscErrorCode PgfFlowRestart(PgfFlow flow, const char path[], PetscInt *nsnap, PetscReal *tsnap, PetscInt *nhist, PetscReal *t)
{
  PetscFunctionBegin;
  PetscCall(PgfCheckpointRead(flow->model, path, flow->U, flow->restart));
  flow->restarted = PETSC_TRUE;
  *nsnap          = (PetscInt)flow->restart[PGF_CKPT_SNAPSHOTS];
  *nhist          = (PetscInt)flow->restart[PGF_CKPT_HISTORY];
  *tsnap          = flow->restart[PGF_CKPT_TSNAP];
  *t              = flow->restart[PGF_CKPT_T];
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteFinal(PgfFlow flow, Vec U, PetscReal t)
{
  PgfModel  m   = flow->model;
  PetscInt  one = 1;
  PetscReal F   = flow->F;

  PetscFunctionBegin;
  PetscCall(PgfModelGetWeights(m, U, flow->wloc));
  PetscCall(PgfModelGetPositions(m, U, flow->thetaloc));
  PetscCall(PgfOutputWriteParticles(flow->out, "/final/w", flow->m, flow->rstart, flow->mloc, 0, flow->wloc));
  PetscCall(PgfOutputWriteParticles(flow->out, "/final/theta", flow->m, flow->rstart, flow->mloc, flow->npos, flow->thetaloc));
  PetscCall(PgfOutputWriteRootArray(flow->out, "/final/loss", 1, &one, &F));
  PetscCall(PgfOutputWriteRootArray(flow->out, "/final/t", 1, &one, &t));
  PetscFunctionReturn(0);
}

/* The lines a run ends with, and the same numbers as /stats for scripts
   (never parse the text). Collective. */
static PetscErrorCode Summary(PgfFlow flow, PetscReal t)
{
  MPI_Comm       comm = flow->comm;
  PetscInt       steps, rejected;
  PetscReal      drop = flow->F0 - flow->F, integral = QuadratureValue(flow), mismatch, most[3];
  PetscLogDouble now, peak                           = 0;
  struct rusage  usage;
  PetscInt64     timed   = flow->nrhs - flow->nrhs0; /* evaluations this process timed */
  PetscReal      each    = timed ? flow->rhs_time / timed : 0;
  const char    *names[] = {"wall_seconds", "steps", "rejected_steps", "rhs_evals", "seconds_per_rhs", "mpi_fraction", "energy_mismatch", "peak_memory_bytes", "energy_warning"};
  PetscReal      values[9];
  PetscBool      nonsmooth, warn;

  PetscFunctionBegin;
  PetscCall(TSGetStepNumber(flow->ts, &steps));
  PetscCall(Rejected(flow, &rejected));
  PetscCall(PetscTime(&now));
  if (!getrusage(RUSAGE_SELF, &usage)) peak = 1024.0 * usage.ru_maxrss;
  PetscCall(PetscPrintf(comm, "stopped at t = %g (%s) after %" PetscInt_FMT " accepted and %" PetscInt_FMT " rejected steps\n", (double)t, PgfStopReasons[flow->stop], steps, rejected));
  PetscCall(PetscPrintf(comm, "objective F = %.10e, dissipation D = %.3e\n", (double)flow->F, (double)flow->D));
  /* a proximal step that changed F is no part of the integral of D */
  PetscCall(PgfModelNonsmooth(flow->model, &nonsmooth));
  mismatch = nonsmooth ? (PetscReal)NAN : drop != 0 ? PetscAbsReal(drop - integral) / PetscAbsReal(drop)
                                                    : 0;
  PetscCall(PetscPrintf(comm, "energy balance: F(0) - F(t) = %.10e, integral of D dt = %.10e, relative mismatch = %.3e%s\n", (double)drop, (double)integral, (double)mismatch, nonsmooth ? " (not applicable: proximal steps of the non-smooth regularizer changed F)" : ""));
  /* only a gradient flow keeps the balance (mini-batches do not) */
  warn = (PetscBool)(flow->monotone && mismatch > ENERGY_WARNING);
  if (warn) PetscCall(PetscPrintf(comm, "pgflow: warning: the energy balance is off by %.1e (more than %g): the steps did not resolve the flow; lower -ts_rtol, or -ts_dt with fixed steps\n", (double)mismatch, ENERGY_WARNING));
  PetscCall(PetscPrintf(comm, "right-hand side: %" PetscInt64_FMT " evaluations for %" PetscInt64_FMT " calls (integrator, Jacobian products, monitor), %.3e s each\n", flow->nrhs, flow->ncalls, (double)each));
  /* each rank's MPI time against its own right-hand-side time (both timed
     on that rank), the largest over the ranks; and the largest peak memory */
  PetscCall(PgfModelGetCommunicationTime(flow->model, &most[0]));
  most[1] = flow->rhs_time > 0 ? most[0] / flow->rhs_time : 0;
  most[2] = peak;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, most, 3, MPIU_REAL, MPI_MAX, comm));
  PetscCall(PetscPrintf(comm, "MPI in the right-hand side: %.3e s each, fraction %.4f\n", (double)(timed ? most[0] / timed : 0), (double)most[1]));
  values[0] = now - flow->wall_start;
  values[1] = steps;
  values[2] = rejected;
  values[3] = (PetscReal)flow->nrhs;
  values[4] = each;
  values[5] = most[1];
  values[6] = mismatch;
  values[7] = most[2];
  values[8] = warn;
  PetscCall(PgfOutputSetGroupAttributes(flow->out, "/stats", 9, names, values));
  PetscFunctionReturn(0);
}

/* The flow's state from the checkpoint that PgfFlowRestart read. */
static PetscErrorCode Resume(PgfFlow flow)
{
  PetscReal *s = flow->restart;

  PetscFunctionBegin;
  PetscCall(TSSetTime(flow->ts, s[PGF_CKPT_T]));
  PetscCall(TSSetTimeStep(flow->ts, s[PGF_CKPT_DT]));
  PetscCall(TSSetStepNumber(flow->ts, (PetscInt)s[PGF_CKPT_STEP]));
  /* TS has no derivative of a previous step to reuse */
  PetscCall(TSRestartStep(flow->ts));
  flow->rejected0 = (PetscInt)s[PGF_CKPT_REJECTED];
  flow->nrhs      = (PetscInt64)s[PGF_CKPT_NRHS];
  flow->nrhs0     = flow->nrhs;
  flow->ncalls    = (PetscInt64)s[PGF_CKPT_NCALLS];
  flow->F0        = s[PGF_CKPT_F0];
  flow->integral  = s[PGF_CKPT_INTEGRAL];
  flow->nq        = (PetscInt)s[PGF_CKPT_NQ];
  flow->next_snap = (PetscInt)s[PGF_CKPT_NEXT_SNAP];
  flow->tsnap     = s[PGF_CKPT_TSNAP];
  for (PetscInt k = 0; k < 3; k++) {
    flow->qt[k] = s[PGF_CKPT_QT0 + k];
    flow->qD[k] = s[PGF_CKPT_QD0 + k];
  }
  PetscFunctionReturn(0);
}

/* The starting state, before the results file exists: the model's initial
   particles, or those of the checkpoint PgfFlowRestart read. F and D must
   be finite there: inputs that overflow are refused as the user's. */
PetscErrorCode PgfFlowSetUp(PgfFlow flow)
{
  MPI_Comm comm = flow->comm;

  PetscFunctionBegin;
  if (flow->restarted) PetscCall(Resume(flow));
  else {
    PetscCall(PgfModelInitialize(flow->model, flow->U));
    PetscCall(TSSetTime(flow->ts, 0));
  }
  PetscCall(Observe(flow, flow->U));
  PgfCheckInput(comm, !PetscIsInfOrNanReal(flow->F) && !PetscIsInfOrNanReal(flow->D), "the objective is not finite at the %s particles (F = %g, D = %g): the inputs overflow; lower -lambda, -noise, -init_scale or the scale of -data", flow->restarted ? "checkpoint's" : "initial", (double)flow->F, (double)flow->D);
  if (!flow->restarted) flow->F0 = flow->F;
  PetscFunctionReturn(0);
}

/* Outside the steps (set-up, baseline, final spectrum), a signal is acted
   on at the next of these points. */
static PetscErrorCode StopIfSignalled(PgfFlow flow, Vec U, PetscReal t)
{
  PetscBool any;

  PetscFunctionBegin;
  if (flow->stop == PGF_STOP_SIGNAL) PetscFunctionReturn(0);
  PetscCall(PgfSignalAgreed(flow->comm, &any));
  if (any) PetscCall(StopOnSignal(flow, U, t));
  PetscFunctionReturn(0);
}

static PetscBool Signalled(PgfFlow flow)
{
  return (PetscBool)(flow->stop == PGF_STOP_SIGNAL);
}

/* Integrates from the state of PgfFlowSetUp to -ts_max_time or a stopping
   criterion, writing snapshots, history and the final state to out. */
PetscErrorCode PgfFlowSolve(PgfFlow flow, PgfOutput out, PgfExitStatus *status)
{
  TS                ts     = flow->ts;
  PetscReal         t      = 0;
  TSConvergedReason reason = TS_CONVERGED_ITERATING;
  Vec               U      = flow->U;
  MPI_Comm          comm   = flow->comm;
  PetscInt          nsnap, nhist;
  PetscErrorCode    ierr;

  PetscFunctionBegin;
  flow->out = out;
  PetscCall(PetscTime(&flow->wall_start));
  flow->last_progress   = flow->wall_start;
  flow->last_checkpoint = flow->wall_start;
  PetscCall(TSGetTime(ts, &t));
  PetscCall(Progress(flow));
  /* a new results file starts with the state it continues from */
  PetscCall(PgfOutputGetCounts(out, &nsnap, &nhist));
  if (!nsnap) {
    PetscCall(PgfConvexBaseline(flow->convex, out));
    PetscCall(WriteSnapshot(flow, U, t));
  }
  if (!flow->restarted) {
    QuadratureAdd(flow, 0, flow->D);
    flow->next_snap = 1;
  }
  PetscCall(KeepGood(flow, U, t));
  PetscCall(StopIfSignalled(flow, U, t));
  if (!Signalled(flow)) {
    ierr = TSSolve(ts, U);
    if (ierr != PGF_ERR_NONFINITE) PetscCall(ierr);
    PetscCall(TSGetConvergedReason(ts, &reason));
    if (ierr) reason = TS_DIVERGED_STEP_REJECTED;
    PetscCall(TSGetTime(ts, &t));
  }
  if (flow->nonfinite) flow->stop = PGF_STOP_NONFINITE;
  if (reason < 0 && !flow->stop) flow->stop = PGF_STOP_DIVERGED;
  if (reason == TS_CONVERGED_ITS) flow->stop = PGF_STOP_MAX_STEPS;
  if (!flow->stop) flow->stop = PGF_STOP_MAX_TIME;
  if (reason < 0) {
    /* the last good state is the final one */
    if (flow->stop == PGF_STOP_STALLED) PetscCall(PetscFPrintf(comm, PETSC_STDERR, "pgflow: time stopped advancing at t = %g: the step is below the resolution of t; the state at t = %g is kept as the final one\n", (double)t, (double)flow->tgood));
    else if (flow->stop == PGF_STOP_UNDERFLOW) PetscCall(PetscFPrintf(comm, PETSC_STDERR, "pgflow: at t = %g every step, down to %g, raised the objective F, which the flow decreases: the step underflowed; the state at t = %g is kept as the final one\n", (double)t, (double)(1e-12 * PetscMax(1, PetscAbsReal(t))), (double)flow->tgood));
    else PetscCall(PetscFPrintf(comm, PETSC_STDERR, "pgflow: the %s at t = %g; the last good state, at t = %g, is kept as the final one\n", flow->nonfinite ? "state became non-finite" : "integrator diverged", (double)t, (double)flow->tgood));
    U = flow->good;
    t = flow->tgood;
    PetscCall(Observe(flow, U));
  }
  if (flow->tsnap < t) {
    PetscCall(Progress(flow));
    PetscCall(WriteSnapshot(flow, U, t));
  }
  PetscCall(FlushHistory(flow));
  PetscCall(WriteFinal(flow, U, t));
  /* the spectrum needs time a signal's grace period may not leave: a signal
     before it skips it, one during it is acted on after it */
  if (reason >= 0) PetscCall(StopIfSignalled(flow, U, t));
  if (!Signalled(flow)) PetscCall(PgfConvexFinal(flow->convex, U, out));
  if (reason >= 0) PetscCall(StopIfSignalled(flow, U, t));
  PetscCall(PgfOutputSetAttributeString(out, "stop_reason", PgfStopReasons[flow->stop]));
  PetscCall(Summary(flow, t));
  if (reason < 0) *status = flow->nonfinite || flow->stop == PGF_STOP_UNDERFLOW ? PGF_EXIT_NONFINITE : PGF_EXIT_FAILURE;
  else *status = Signalled(flow) ? PGF_EXIT_SIGNAL : PGF_EXIT_OK;
  if (flow->checkpoint_failure[0]) {
    PetscCall(PetscFPrintf(comm, PETSC_STDERR, "pgflow: error: no checkpoint written to %s (%s); the results file %s holds the run up to t = %g\n", flow->checkpoint, flow->checkpoint_failure, flow->output, (double)t));
    *status = PGF_EXIT_FAILURE;
  }
  flow->out = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfFlowDestroy(PgfFlow *flow)
{
  PgfFlow f = *flow;

  PetscFunctionBegin;
  if (!f) PetscFunctionReturn(0);
  PetscCall(PgfConvexDestroy(&f->convex));
  PetscCall(TSDestroy(&f->ts));
  PetscCall(MatDestroy(&f->J));
  PetscCall(PetscFree3(f->wloc, f->thetaloc, f->history));
  PetscCall(VecDestroy(&f->vcache));
  PetscCall(VecDestroy(&f->ucache));
  PetscCall(VecDestroy(&f->good));
  PetscCall(VecDestroy(&f->U));
  PetscCall(PetscFree(f));
  *flow = NULL;
  PetscFunctionReturn(0);
}
