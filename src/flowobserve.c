/* What a run shows of the flow: the history rows, the energy balance
   (the integral of D dt against the drop of F), progress lines, snapshots
   at log-spaced times, the final state and the summary with /stats. */
#include "flowimpl.h"
#include <sys/resource.h>

/* Above this relative mismatch of the energy balance, a run's summary and
   /stats warn that its steps did not resolve the flow (README "Running"). */
#define ENERGY_WARNING 1e-2

/* Integral of D dt by Simpson's rule on pairs of (unequal) steps, so the
   quadrature error stays well below the integrator's for smooth D. */
void PgfFlowQuadratureAdd(PgfFlow flow, PetscReal t, PetscReal D)
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

/* A jump at t: the pending interval closes by the trapezoidal rule and the
   quadrature starts again from (t, D). */
static void QuadratureBreak(PgfFlow flow, PetscReal t, PetscReal D)
{
  if (flow->nq == 2) flow->integral += 0.5 * (flow->qt[1] - flow->qt[0]) * (flow->qD[0] + flow->qD[1]);
  flow->qt[0] = t;
  flow->qD[0] = D;
  flow->nq    = 1;
}

static PetscReal QuadratureValue(PgfFlow flow)
{
  PetscReal tail = flow->nq == 2 ? 0.5 * (flow->qt[1] - flow->qt[0]) * (flow->qD[0] + flow->qD[1]) : 0;

  return flow->integral + tail;
}

PetscErrorCode PgfFlowFlushHistory(PgfFlow flow)
{
  PetscFunctionBegin;
  PetscCall(PgfOutputAppendHistory(flow->out, flow->nhistory, flow->history));
  flow->nhistory = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfFlowProgress(PgfFlow flow)
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

PetscErrorCode PgfFlowWriteSnapshot(PgfFlow flow, Vec U, PetscReal t)
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
  PetscCall(PgfFlowFlushHistory(flow));
  PetscCall(PgfOutputFlush(flow->out));
  flow->tsnap = t;
  PetscCall(PetscLogEventEnd(PGF_Snapshot, U, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Steps rejected so far: by the integrator, and undone since F rose,
   before and since a restart. */
PetscErrorCode PgfFlowRejected(PgfFlow flow, PetscInt *rejected)
{
  PetscFunctionBegin;
  PetscCall(TSGetStepRejections(flow->ts, rejected));
  *rejected += flow->rejected0 + flow->rises;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfFlowWriteFinal(PgfFlow flow, Vec U, PetscReal t)
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
PetscErrorCode PgfFlowSummary(PgfFlow flow, PetscReal t)
{
  MPI_Comm       comm = flow->comm;
  PetscInt       steps, rejected;
  PetscReal      drop = flow->F0 - flow->F + flow->jump_total, integral = QuadratureValue(flow), mismatch, most[3];
  PetscLogDouble now, peak                                              = 0;
  struct rusage  usage;
  PetscInt64     timed   = flow->nrhs - flow->nrhs0; /* evaluations this process timed */
  PetscReal      each    = timed ? flow->rhs_time / timed : 0;
  const char    *names[] = {"wall_seconds", "steps", "rejected_steps", "rhs_evals", "seconds_per_rhs", "mpi_fraction", "energy_mismatch", "peak_memory_bytes", "energy_warning", "jump_change"};
  PetscReal      values[10];
  PetscBool      nonsmooth, warn;

  PetscFunctionBegin;
  PetscCall(TSGetStepNumber(flow->ts, &steps));
  PetscCall(PgfFlowRejected(flow, &rejected));
  PetscCall(PetscTime(&now));
  if (!getrusage(RUSAGE_SELF, &usage)) peak = 1024.0 * usage.ru_maxrss;
  PetscCall(PetscPrintf(comm, "stopped at t = %g (%s) after %" PetscInt_FMT " accepted and %" PetscInt_FMT " rejected steps\n", (double)t, PgfStopReasons[flow->stop], steps, rejected));
  PetscCall(PetscPrintf(comm, "objective F = %.10e, dissipation D = %.3e\n", (double)flow->F, (double)flow->D));
  /* a proximal step that changed F is no part of the integral of D */
  PetscCall(PgfModelNonsmooth(flow->model, &nonsmooth));
  /* the jumps' change of F is no part of the flow's: F(0) - F(t) + jumps = integral of D dt */
  if (flow->unmeasured) drop = (PetscReal)NAN;
  mismatch = nonsmooth || flow->temperature > 0 ? (PetscReal)NAN : drop != 0 ? PetscAbsReal(drop - integral) / PetscAbsReal(drop)
                                                                             : 0;
  if (flow->unmeasured) PetscCall(PetscPrintf(comm, "energy balance: F(0) - F(t) = %.10e, integral of D dt = %.10e; not applicable: the jumps' change of F is not measured (%" PetscInt_FMT " steps with jumps; -birth_death_balance measures it at one evaluation more per such step)\n", (double)(flow->F0 - flow->F), (double)integral, flow->unmeasured));
  else if (flow->bd_rate > 0) PetscCall(PetscPrintf(comm, "energy balance: F(0) - F(t) = %.10e, of which the jumps' change -(%.10e); the flow's drop %.10e, integral of D dt = %.10e, relative mismatch = %.3e%s\n", (double)(flow->F0 - flow->F), (double)flow->jump_total, (double)drop, (double)integral, (double)mismatch, nonsmooth ? " (not applicable: proximal steps of the non-smooth regularizer changed F)" : ""));
  else PetscCall(PetscPrintf(comm, "energy balance: F(0) - F(t) = %.10e, integral of D dt = %.10e, relative mismatch = %.3e%s\n", (double)drop, (double)integral, (double)mismatch, nonsmooth ? " (not applicable: proximal steps of the non-smooth regularizer changed F)" : flow->temperature > 0 ? " (not applicable: the Langevin noise changes F)"
                                                                                                                                                                                                                                                                                                    : ""));
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
  values[9] = flow->unmeasured ? (PetscReal)NAN : flow->jump_total;
  PetscCall(PgfOutputSetGroupAttributes(flow->out, "/stats", 10, names, values));
  PetscFunctionReturn(0);
}

/* After an accepted step from tprev to t: its history row and the energy
   balance's node, and a progress line when one is due. */
PetscErrorCode PgfFlowRecordStep(PgfFlow flow, PetscReal t, PetscReal tprev)
{
  PetscReal     *row = &flow->history[flow->nhistory++ * PGF_HISTORY_COLUMNS];
  PetscLogDouble now;

  PetscFunctionBegin;
  row[0] = t;
  row[1] = t - tprev;
  row[2] = flow->F;
  row[3] = flow->D;
  row[4] = (PetscReal)flow->nrhs;
  row[5] = flow->births;
  row[6] = flow->deaths;
  row[7] = flow->jump_change;
  if (flow->nhistory == HISTORY_BUFFER) PetscCall(PgfFlowFlushHistory(flow));
  /* D jumps with the particles: the flow's integral closes at the D the
     step's flow reached and restarts from the D after the jumps */
  PgfFlowQuadratureAdd(flow, t, flow->Dflow);
  if (flow->births || flow->deaths) QuadratureBreak(flow, t, flow->D);
  PetscCall(PetscTime(&now));
  if (now - flow->last_progress > flow->progress_interval) PetscCall(PgfFlowProgress(flow));
  PetscFunctionReturn(0);
}

/* A snapshot at the first step past each snapshot time. */
PetscErrorCode PgfFlowSnapshotIfDue(PgfFlow flow, Vec U, PetscReal t)
{
  PetscFunctionBegin;
  if (flow->next_snap < flow->nsnap && t >= SnapshotTime(flow, flow->next_snap)) {
    while (flow->next_snap < flow->nsnap && t >= SnapshotTime(flow, flow->next_snap)) flow->next_snap++;
    PetscCall(PgfFlowProgress(flow));
    PetscCall(PgfFlowWriteSnapshot(flow, U, t));
  }
  PetscFunctionReturn(0);
}

/* The observables' part of a checkpoint: the energy balance's integral and
   pending nodes, the snapshot schedule, the results file's rows. */
PetscErrorCode PgfFlowRegisterObservables(PgfFlow flow)
{
  const char *qt[] = {"qt0", "qt1", "qt2"}, *qD[] = {"qD0", "qD1", "qD2"};

  PetscFunctionBegin;
  PetscCall(PgfCheckpointAddReal(flow->ckpt, "integral", PGF_STATE_SIGNED, &flow->integral));
  for (PetscInt k = 0; k < 3; k++) PetscCall(PgfCheckpointAddReal(flow->ckpt, qt[k], PGF_STATE_NONNEGATIVE, &flow->qt[k]));
  for (PetscInt k = 0; k < 3; k++) PetscCall(PgfCheckpointAddReal(flow->ckpt, qD[k], PGF_STATE_NONNEGATIVE, &flow->qD[k]));
  PetscCall(PgfCheckpointAddInt(flow->ckpt, "nq", &flow->nq));
  PetscCall(PgfCheckpointAddReal(flow->ckpt, "jump_total", PGF_STATE_SIGNED, &flow->jump_total));
  PetscCall(PgfCheckpointAddInt(flow->ckpt, "next_snapshot", &flow->next_snap));
  PetscCall(PgfCheckpointAddReal(flow->ckpt, "tsnap", PGF_STATE_NONNEGATIVE, &flow->tsnap));
  PetscCall(PgfCheckpointAddInt(flow->ckpt, "snapshots", &flow->nsnap0));
  PetscCall(PgfCheckpointAddInt(flow->ckpt, "history", &flow->nhist0));
  PetscFunctionReturn(0);
}
