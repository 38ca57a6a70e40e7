/* The flow's checkpoints and signals: a checkpoint every
   -checkpoint_interval seconds and on a stop signal, which then ends the
   run; the loop's share of the checkpointed state and the restart from
   one (the file itself: checkpoint.c). */
#include "flowimpl.h"

/* The complete state after an accepted step, the results file's rows
   written up to it. A checkpoint that cannot be written (its disk full,
   say) ends the run, which still closes its results file with /final: the
   failure is kept in checkpoint_failure and reported at the end. */
static PetscErrorCode WriteCheckpoint(PgfFlow flow, Vec U)
{
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_Checkpoint, U, 0, 0, 0));
  PetscCall(PgfFlowFlushHistory(flow));
  PetscCall(PgfOutputFlush(flow->out));
  PetscCall(PgfOutputGetCounts(flow->out, &flow->nsnap0, &flow->nhist0));
  ierr = PgfCheckpointWrite(flow->ckpt, flow->checkpoint, U, flow->run_id, flow->output);
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
  if (flow->checkpoint[0]) PetscCall(WriteCheckpoint(flow, U));
  if (!flow->checkpoint_failure[0]) PetscCall(PetscPrintf(flow->comm, "pgflow: signal received: checkpoint written to %s at t = %g, stopping\n", flow->checkpoint, (double)t));
  PetscFunctionReturn(0);
}

/* Every -checkpoint_interval seconds by rank 0's clock, and on a signal to
   any rank, which then stops the run: all ranks decide together. */
PetscErrorCode PgfFlowCheckpointIfDue(PgfFlow flow, Vec U, PetscReal t)
{
  int due;

  PetscFunctionBegin;
  PetscCall(PgfCheckpointDue(flow->comm, flow->checkpoint_interval, &flow->last_checkpoint, &due));
  if (!due) PetscFunctionReturn(0);
  if (due == 2) {
    PetscCall(StopOnSignal(flow, U, t));
    PetscCall(TSSetConvergedReason(flow->ts, TS_CONVERGED_USER));
  } else if (flow->checkpoint[0]) {
    PetscCall(WriteCheckpoint(flow, U));
    if (flow->stop) PetscCall(TSSetConvergedReason(flow->ts, TS_CONVERGED_USER));
  }
  PetscFunctionReturn(0);
}

/* Outside the steps (set-up, baseline, final spectrum), a signal is acted
   on at the next of these points. */
PetscErrorCode PgfFlowStopIfSignalled(PgfFlow flow, Vec U, PetscReal t)
{
  PetscBool any;

  PetscFunctionBegin;
  if (flow->stop == PGF_STOP_SIGNAL) PetscFunctionReturn(0);
  PetscCall(PgfSignalAgreed(flow->comm, &any));
  if (any) PetscCall(StopOnSignal(flow, U, t));
  PetscFunctionReturn(0);
}

PetscBool PgfFlowSignalled(PgfFlow flow)
{
  return (PetscBool)(flow->stop == PGF_STOP_SIGNAL);
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
  PetscCall(PgfCheckpointRead(flow->ckpt, path, flow->U));
  flow->restarted = PETSC_TRUE;
  *nsnap          = flow->nsnap0;
  *nhist          = flow->nhist0;
  *tsnap          = flow->tsnap;
  PetscCall(TSGetTime(flow->ts, t));
  PetscFunctionReturn(0);
}

/* The loop's part of a checkpoint: the integrator's time, next step and
   counts, the evaluations and F(0) of the energy balance. */
static PetscErrorCode GetTime(void *ctx, PetscReal *v)
{
  PetscFunctionBegin;
  PetscCall(TSGetTime(((PgfFlow)ctx)->ts, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetTime(void *ctx, PetscReal v)
{
  PetscFunctionBegin;
  PetscCall(TSSetTime(((PgfFlow)ctx)->ts, v));
  PetscFunctionReturn(0);
}

/* the step TS will try next */
static PetscErrorCode GetTimeStep(void *ctx, PetscReal *v)
{
  PetscFunctionBegin;
  PetscCall(TSGetTimeStep(((PgfFlow)ctx)->ts, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetTimeStep(void *ctx, PetscReal v)
{
  PetscFunctionBegin;
  PetscCall(TSSetTimeStep(((PgfFlow)ctx)->ts, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode GetStep(void *ctx, PetscReal *v)
{
  PetscInt step;

  PetscFunctionBegin;
  PetscCall(TSGetStepNumber(((PgfFlow)ctx)->ts, &step));
  *v = step;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetStep(void *ctx, PetscReal v)
{
  PetscFunctionBegin;
  PetscCall(TSSetStepNumber(((PgfFlow)ctx)->ts, (PetscInt)v));
  PetscFunctionReturn(0);
}

static PetscErrorCode GetRejected(void *ctx, PetscReal *v)
{
  PetscInt rejected;

  PetscFunctionBegin;
  PetscCall(PgfFlowRejected((PgfFlow)ctx, &rejected));
  *v = rejected;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetRejected(void *ctx, PetscReal v)
{
  PetscFunctionBegin;
  ((PgfFlow)ctx)->rejected0 = (PetscInt)v;
  PetscFunctionReturn(0);
}

/* evaluations before the restart are not timed by this process */
static PetscErrorCode GetEvaluations(void *ctx, PetscReal *v)
{
  PetscFunctionBegin;
  *v = (PetscReal)((PgfFlow)ctx)->nrhs;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetEvaluations(void *ctx, PetscReal v)
{
  PgfFlow flow = (PgfFlow)ctx;

  PetscFunctionBegin;
  flow->nrhs  = (PetscInt64)v;
  flow->nrhs0 = flow->nrhs;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfFlowRegisterState(PgfFlow flow)
{
  PetscFunctionBegin;
  PetscCall(PgfCheckpointAdd(flow->ckpt, "t", PGF_STATE_NONNEGATIVE, GetTime, SetTime, flow));
  PetscCall(PgfCheckpointAdd(flow->ckpt, "dt", PGF_STATE_POSITIVE, GetTimeStep, SetTimeStep, flow));
  PetscCall(PgfCheckpointAdd(flow->ckpt, "step", PGF_STATE_NONNEGATIVE, GetStep, SetStep, flow));
  PetscCall(PgfCheckpointAdd(flow->ckpt, "rejected", PGF_STATE_NONNEGATIVE, GetRejected, SetRejected, flow));
  PetscCall(PgfCheckpointAdd(flow->ckpt, "rhs_evals", PGF_STATE_NONNEGATIVE, GetEvaluations, SetEvaluations, flow));
  PetscCall(PgfCheckpointAddInt64(flow->ckpt, "rhs_calls", &flow->ncalls));
  PetscCall(PgfCheckpointAddReal(flow->ckpt, "F0", PGF_STATE_SIGNED, &flow->F0));
  PetscFunctionReturn(0);
}
