/* Armijo step control for gradient descent: a TSAdapt of pgflow's own,
   -ts_type euler -ts_adapt_type armijo. The flow u' = -v has the energy
   identity dF/dt = -D with D = (1/m) sum_i |v_i|^2 (see doc/math.md,
   section 2), so an Euler step of size h is accepted when it decreases F by
   at least the fraction c of what the identity predicts:

     F(u - h v) <= F(u) - c h D(u)                       (Armijo)

   otherwise it is retried from u with h shrunk; after a step accepted at
   once the next one is tried larger. Gradient descent then runs at about the
   largest step that still decreases F, without a scan of step sizes. It is
   a minimizer, not a time-accurate integrator: t is the sum of the steps.

   PETSc's Euler ends the solve when an adapt rejects a step, so the
   backtracking happens inside TSAdaptChoose: the trial states are formed
   here, from u and v(u) (the right-hand side Euler has just evaluated), and
   the accepted step replaces ts->time_step; when it is shorter than the one
   Euler formed its update with, the flow takes the accepted state from
   PgfTSAdaptArmijoAccepted after the step. This is the only file that sees
   PETSc's private TSAdapt structure. */
#include <petsc/private/tsimpl.h>
#include "pgfimpl.h"
#include "options.h"

typedef struct {
  PetscReal c, grow, shrink; /* sufficient decrease, factors after an accepted and a rejected trial */
  PetscErrorCode (*objective)(void *, Vec, PetscReal *, PetscReal *);
  void     *ctx;
  Vec       G, W; /* -v(u), the trial state */
  PetscBool shortened; /* the last step was accepted shorter than Euler's */
} TSAdapt_Armijo;

/* F at a trial state counts as an evaluation; rounding in F is tolerated so
   that a run at its minimum is not stopped by noise in the last digits. */
static PetscErrorCode TSAdaptChoose_Armijo(TSAdapt adapt, TS ts, PetscReal h, PetscInt *next_sc, PetscReal *next_h, PetscBool *accept, PetscReal *wlte, PetscReal *wltea, PetscReal *wlter)
{
  TSAdapt_Armijo *a = (TSAdapt_Armijo *)adapt->data;
  Vec             U;
  PetscReal       t, F0, D0, F1, D1;
  PetscInt        k;

  PetscFunctionBegin;
  PetscCheck(a->objective, PetscObjectComm((PetscObject)adapt), PETSC_ERR_ORDER, "the Armijo adapt needs an objective (PgfTSAdaptArmijoSetObjective)");
  PetscCall(TSGetSolution(ts, &U));
  PetscCall(TSGetTime(ts, &t));
  if (!a->G) PetscCall(VecDuplicate(U, &a->G));
  if (!a->W) PetscCall(VecDuplicate(U, &a->W));
  PetscCall(a->objective(a->ctx, U, &F0, &D0));
  PetscCall(TSComputeRHSFunction(ts, t, U, a->G));
  *accept = PETSC_FALSE;
  for (k = 0;; k++) {
    /* the same operations as Euler's update, so the first trial is it bitwise */
    PetscCall(VecCopy(a->G, a->W));
    PetscCall(VecAYPX(a->W, h, U));
    PetscCall(a->objective(a->ctx, a->W, &F1, &D1));
    if (F1 <= F0 - a->c * h * D0 + 8 * PETSC_MACHINE_EPSILON * PetscAbsReal(F0)) {
      *accept = PETSC_TRUE;
      break;
    }
    PetscCall(PetscInfo(adapt, "step %g rejected: F %g -> %g, D %g\n", (double)h, (double)F0, (double)F1, (double)D0));
    if (ts->max_reject >= 0 && k >= ts->max_reject) break;
    ts->reject++;
    h *= a->shrink;
  }
  *next_sc = 0;
  *wlte = *wltea = *wlter = -1;
  if (!*accept) {
    *next_h = h * a->shrink;
    PetscFunctionReturn(0);
  }
  a->shortened  = (PetscBool)(k > 0);
  ts->time_step = h;
  /* grow only after a step accepted at once: right after a rejection the
     step found is close to the largest that works */
  *next_h = PetscMin(k ? h : h * a->grow, adapt->dt_max);
  PetscFunctionReturn(0);
}

static PetscErrorCode TSAdaptReset_Armijo(TSAdapt adapt)
{
  TSAdapt_Armijo *a = (TSAdapt_Armijo *)adapt->data;

  PetscFunctionBegin;
  PetscCall(VecDestroy(&a->G));
  PetscCall(VecDestroy(&a->W));
  PetscFunctionReturn(0);
}

static PetscErrorCode TSAdaptDestroy_Armijo(TSAdapt adapt)
{
  PetscFunctionBegin;
  PetscCall(TSAdaptReset_Armijo(adapt));
  PetscCall(PetscFree(adapt->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode TSAdaptSetFromOptions_Armijo(TSAdapt adapt, PetscOptionItems *PetscOptionsObject)
{
  TSAdapt_Armijo *a    = (TSAdapt_Armijo *)adapt->data;
  MPI_Comm        comm = PetscObjectComm((PetscObject)adapt);

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Armijo step control for gradient descent (-ts_type euler; largest step: -ts_adapt_dt_max)");
  PetscCall(PgfOptionsReal(comm, "-ts_adapt_armijo_c", "Accept a step h when F decreases by at least c h D", a->c, 0, 1, &a->c));
  PetscCall(PgfOptionsReal(comm, "-ts_adapt_armijo_grow", "Factor on the next step after a step accepted at once", a->grow, 1, 100, &a->grow));
  PetscCall(PgfOptionsReal(comm, "-ts_adapt_armijo_shrink", "Factor on a rejected step before it is retried", a->shrink, 0.01, 0.99, &a->shrink));
  PetscOptionsHeadEnd();
  PetscFunctionReturn(0);
}

static PetscErrorCode TSAdaptView_Armijo(TSAdapt adapt, PetscViewer viewer)
{
  TSAdapt_Armijo *a = (TSAdapt_Armijo *)adapt->data;
  PetscBool       ascii;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)viewer, PETSCVIEWERASCII, &ascii));
  if (ascii) PetscCall(PetscViewerASCIIPrintf(viewer, "  Armijo: c %g, grow %g, shrink %g\n", (double)a->c, (double)a->grow, (double)a->shrink));
  PetscFunctionReturn(0);
}

static PetscErrorCode TSAdaptCreate_Armijo(TSAdapt adapt)
{
  TSAdapt_Armijo *a;

  PetscFunctionBegin;
  PetscCall(PetscNew(&a));
  a->c                       = 0.5;
  a->grow                    = 1.5;
  a->shrink                  = 0.3;
  adapt->data                = a;
  adapt->ops->choose         = TSAdaptChoose_Armijo;
  adapt->ops->reset          = TSAdaptReset_Armijo;
  adapt->ops->destroy        = TSAdaptDestroy_Armijo;
  adapt->ops->setfromoptions = TSAdaptSetFromOptions_Armijo;
  adapt->ops->view           = TSAdaptView_Armijo;
  PetscFunctionReturn(0);
}

/* Makes -ts_adapt_type armijo known to TSSetFromOptions. */
PetscErrorCode PgfTSAdaptRegisterArmijo(void)
{
  PetscFunctionBegin;
  PetscCall(TSAdaptRegister(PGF_TSADAPT_ARMIJO, TSAdaptCreate_Armijo));
  PetscFunctionReturn(0);
}

/* objective(ctx, U, &F, &D): F and D at U, collective, reusing the last
   evaluation when it was at U. */
PetscErrorCode PgfTSAdaptArmijoSetObjective(TSAdapt adapt, PetscErrorCode (*objective)(void *, Vec, PetscReal *, PetscReal *), void *ctx)
{
  TSAdapt_Armijo *a = (TSAdapt_Armijo *)adapt->data;

  PetscFunctionBegin;
  a->objective = objective;
  a->ctx       = ctx;
  PetscFunctionReturn(0);
}

/* After an accepted step: U becomes the accepted trial state when the step
   was shortened (Euler's update was formed with the longer step). */
PetscErrorCode PgfTSAdaptArmijoAccepted(TSAdapt adapt, Vec U)
{
  TSAdapt_Armijo *a = (TSAdapt_Armijo *)adapt->data;

  PetscFunctionBegin;
  if (a->shortened) PetscCall(VecCopy(a->W, U));
  a->shortened = PETSC_FALSE;
  PetscFunctionReturn(0);
}
