/* The particle gradient flow u_i' = -v(u_i) (doc/math.md section 2),
   integrated by PETSc TS. After each accepted step the flow applies the
   model's proximal step, records a history row, accumulates the energy
   balance, checks the stopping criteria and writes a snapshot at the first
   step past each snapshot time (so that snapshots never alter the steps). */
#include "flowimpl.h"
#include "options.h"

const char *const PgfStopReasons[] = {"running", "max_time", "max_steps", "stop_loss", "stop_gap", "stop_dissipation", "signal", "nonfinite", "diverged", "stalled", "checkpoint_failed", "step_underflow"};

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

/* Birth-death jumps at the end of the step (doc/math.md section 2.6),
   decided from the first variations at the state the step started from;
   then F and D after them (the evaluation the next step starts from), and
   the first variations there for the next step's jumps. F before them is
   known where the integrator's last stage was the new state, or by one
   evaluation more with -birth_death_balance: their change of F is then
   recorded apart from the flow's, else it is NaN. A jump restarts the
   integrator's history (the state jumped). */
static PetscErrorCode Jump(PgfFlow flow, TS ts, Vec U, PetscInt step, PetscReal dt)
{
  PetscBool known, moved;
  PetscReal F;

  PetscFunctionBegin;
  PetscCall(PgfFlowObserveIfCached(flow, U, flow->bd_balance, &known));
  F           = flow->F;
  flow->Dflow = flow->D;
  PetscCall(PgfFlowBirthDeath(flow, U, step, dt, &moved));
  if (moved) {
    PetscCall(PgfModelReplaced(flow->model));
    PetscCall(TSRestartStep(ts));
  }
  PetscCall(PgfFlowObserve(flow, U));
  if (!moved || !known) flow->Dflow = flow->D;
  flow->jump_change = !moved ? 0 : known ? flow->F - F
                                         : (PetscReal)NAN;
  if (moved && known) flow->jump_total += flow->jump_change;
  if (moved && !known) flow->unmeasured++;
  PetscCall(PgfFlowFirstVariation(flow, U));
  PetscFunctionReturn(0);
}

/* After every accepted step: proximal step, then F and D, history, energy
   balance, progress and stopping criteria. */
static PetscErrorCode PostStep(TS ts)
{
  TSConvergedReason reason;
  PgfFlow           flow;
  Vec               U;
  PetscReal         t, tprev;
  PetscBool         changed, undone;
  PetscInt          step;

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
  /* a dynamics' own update in place of the Euler step (conic: mirror) */
  if (PgfDynamicsRetracts(flow->dyn)) PetscCall(PgfDynamicsRetract(flow->dyn, flow->good, U));
  PetscCall(PgfModelProx(flow->model, t - tprev, U, &changed));
  if (changed) PetscCall(TSRestartStep(ts));
  PetscCall(TSGetStepNumber(ts, &step));
  if (flow->temperature > 0) PetscCall(PgfFlowLangevinNoise(flow, U, step, t - tprev));
  if (flow->bd_rate > 0) PetscCall(Jump(flow, ts, U, step, t - tprev));
  else {
    PetscCall(PgfFlowObserve(flow, U));
    flow->Dflow = flow->D;
  }
  if (PetscIsInfOrNanReal(flow->F) || PetscIsInfOrNanReal(flow->D)) {
    flow->nonfinite = PETSC_TRUE;
    flow->stop      = PGF_STOP_NONFINITE;
    PetscCall(TSSetConvergedReason(ts, TS_DIVERGED_STEP_REJECTED));
    PetscFunctionReturn(0);
  }
  PetscCall(UndoRise(flow, ts, U, t, tprev, &undone));
  if (undone) PetscFunctionReturn(0);
  PetscCall(KeepGood(flow, U, t));
  PetscCall(PgfFlowRecordStep(flow, t, tprev));
  if (flow->stop_gap > 0) PetscCall(PgfModelGap(flow->model, U, &flow->gap));
  if (flow->F < flow->stop_loss) flow->stop = PGF_STOP_STOP_LOSS;
  else if (flow->gap < flow->stop_gap) flow->stop = PGF_STOP_STOP_GAP;
  else if (flow->D < flow->stop_dissipation) flow->stop = PGF_STOP_STOP_DISSIPATION;
  if (flow->stop) PetscCall(TSSetConvergedReason(ts, TS_CONVERGED_USER));
  else PetscCall(PgfFlowSnapshotIfDue(flow, U, t));
  PetscCall(PgfFlowCheckpointIfDue(flow, U, t));
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

/* The flow of model, with pgflow's integrator defaults; the integrator's
   form and the state follow from the options (PgfFlowSetFromOptions). */
PetscErrorCode PgfFlowCreate(PgfModel model, PgfFlow *flow)
{
  PgfFlow   f;
  PetscBool hasapply, hassolve, hasacceptable;
  PetscInt  nmax;

  PetscFunctionBegin;
  PetscCall(PetscNew(&f));
  f->model = model;
  PetscCall(PgfModelGetComm(model, &f->comm));
  PetscCall(PgfModelGetSizes(model, &f->m, &f->npos, &f->dof, NULL));
  PetscCall(PgfModelGetOwnership(model, &f->rstart, &f->mloc));
  PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN, &f->hasjac));
  PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN_APPLY, &hasapply));
  PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN_SOLVE, &hassolve));
  PetscCall(PgfModelHasOperation(model, PGF_OP_ACCEPTABLE, &hasacceptable));
  nmax = hassolve ? 0 : 6000;
  PetscOptionsBegin(f->comm, NULL, "Jacobian", NULL);
  /* a model's direct solve of the Newton systems beats dense LU at every
     size and does not depend on the rank count: matrix-free by default */
  PetscCall(PgfOptionsInt(f->comm, "-jacobian_assemble_max", "Assemble an analytic Jacobian when m dof is at most this (else matrix-free; deconv)", nmax, 0, PETSC_MAX_INT, &nmax));
  PetscOptionsEnd();
  f->jkind = f->hasjac && f->m * f->dof <= nmax ? PGF_JACOBIAN_ASSEMBLED : hasapply ? PGF_JACOBIAN_SHELL
                                                                                    : PGF_JACOBIAN_MFFD;
  PetscCall(PgfTSAdaptRegisterArmijo());
  PetscCall(PetscMalloc3(f->mloc, &f->wloc, f->mloc * f->npos, &f->thetaloc, HISTORY_BUFFER * PGF_HISTORY_COLUMNS, &f->history));

  PetscCall(TSCreate(f->comm, &f->ts));
  PetscCall(TSSetApplicationContext(f->ts, f));
  PetscCall(TSSetProblemType(f->ts, TS_NONLINEAR));
  PetscCall(TSSetPostStep(f->ts, PostStep));
  if (hasacceptable) PetscCall(TSSetFunctionDomainError(f->ts, DomainCheck));
  PetscCall(TSSetErrorIfStepFails(f->ts, PETSC_FALSE));
  PetscCall(TSSetExactFinalTime(f->ts, TS_EXACTFINALTIME_MATCHSTEP));
  PetscCall(PgfFlowSetTSDefaults(f));

  /* what a checkpoint holds, in the order of its datasets */
  PetscCall(PgfCheckpointCreate(model, "flow", &f->ckpt));
  PetscCall(PgfFlowRegisterState(f));
  PetscCall(PgfFlowRegisterObservables(f));
  *flow = f;
  PetscFunctionReturn(0);
}

/* The starting state, before the results file exists: the model's initial
   particles, or those of the checkpoint PgfFlowRestart read (with the
   flow's state). F and D must
   be finite there: inputs that overflow are refused as the user's. */
PetscErrorCode PgfFlowSetUp(PgfFlow flow)
{
  MPI_Comm comm = flow->comm;

  PetscFunctionBegin;
  /* TS has no derivative of a previous step to reuse */
  if (flow->restarted) PetscCall(TSRestartStep(flow->ts));
  else {
    PetscCall(PgfModelInitialize(flow->model, flow->U));
    PetscCall(TSSetTime(flow->ts, 0));
  }
  PetscCall(PgfFlowObserve(flow, flow->U));
  PgfCheckInput(comm, !PetscIsInfOrNanReal(flow->F) && !PetscIsInfOrNanReal(flow->D), "the objective is not finite at the %s particles (F = %g, D = %g): the inputs overflow; lower -lambda, -noise, -init_scale or the scale of -data", flow->restarted ? "checkpoint's" : "initial", (double)flow->F, (double)flow->D);
  if (!flow->restarted) flow->F0 = flow->F;
  if (flow->bd_rate > 0) PetscCall(PgfFlowFirstVariation(flow, flow->U));
  PetscFunctionReturn(0);
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
  PetscCall(PgfFlowProgress(flow));
  /* a new results file starts with the state it continues from */
  PetscCall(PgfOutputGetCounts(out, &nsnap, &nhist));
  if (!nsnap) {
    PetscCall(PgfConvexBaseline(flow->convex, out));
    PetscCall(PetscLogEventBegin(PGF_SetUpSnapshot, U, 0, 0, 0));
    PetscCall(PgfFlowWriteSnapshot(flow, U, t));
    PetscCall(PetscLogEventEnd(PGF_SetUpSnapshot, U, 0, 0, 0));
  }
  if (!flow->restarted) {
    PgfFlowQuadratureAdd(flow, 0, flow->D);
    flow->next_snap = 1;
  }
  PetscCall(KeepGood(flow, U, t));
  PetscCall(PgfFlowStopIfSignalled(flow, U, t));
  if (!PgfFlowSignalled(flow)) {
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
    PetscCall(PgfFlowObserve(flow, U));
  }
  if (flow->tsnap < t) {
    PetscCall(PgfFlowProgress(flow));
    PetscCall(PgfFlowWriteSnapshot(flow, U, t));
  }
  PetscCall(PgfFlowFlushHistory(flow));
  PetscCall(PgfFlowWriteFinal(flow, U, t));
  /* the spectrum needs time a signal's grace period may not leave: a signal
     before it skips it, one during it is acted on after it */
  if (reason >= 0) PetscCall(PgfFlowStopIfSignalled(flow, U, t));
  if (!PgfFlowSignalled(flow)) PetscCall(PgfConvexFinal(flow->convex, U, out));
  if (reason >= 0) PetscCall(PgfFlowStopIfSignalled(flow, U, t));
  PetscCall(PgfOutputSetAttributeString(out, "stop_reason", PgfStopReasons[flow->stop]));
  PetscCall(PgfFlowSummary(flow, t));
  if (reason < 0) *status = flow->nonfinite || flow->stop == PGF_STOP_UNDERFLOW ? PGF_EXIT_NONFINITE : PGF_EXIT_FAILURE;
  else *status = PgfFlowSignalled(flow) ? PGF_EXIT_SIGNAL : PGF_EXIT_OK;
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
  PetscCall(PgfDynamicsDestroy(&f->dyn));
  PetscCall(VecDestroy(&f->ujac));
  PetscCall(VecDestroy(&f->vjac));
  PetscCall(PetscFree2(f->S, f->E));
  PetscCall(PgfCheckpointDestroy(&f->ckpt));
  PetscCall(PetscFree(f->fvar));
  PetscCall(PetscFree3(f->wloc, f->thetaloc, f->history));
  PetscCall(VecDestroy(&f->vcache));
  PetscCall(VecDestroy(&f->ucache));
  PetscCall(VecDestroy(&f->good));
  PetscCall(VecDestroy(&f->U));
  PetscCall(PetscFree(f));
  *flow = NULL;
  PetscFunctionReturn(0);
}
