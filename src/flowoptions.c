/* The flow's options: pgflow's own (snapshots, stopping criteria,
   progress), PETSc's TS options checked before PETSc reads them, the
   combinations of integrator and step control a problem allows, and the
   integrator's settings recorded as resolved. */
#include "flowimpl.h"
#include "options.h"

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

/* pgflow's options of the flow, the integrator's as PETSc reads them
   (checked first), then the integrator's set-up for the type they chose. */
PetscErrorCode PgfFlowSetFromOptions(PgfFlow flow)
{
  MPI_Comm  comm = flow->comm;
  PetscBool hasgap, usesstep, nonsmooth, monotone;

  PetscFunctionBegin;
  flow->nsnap             = 30;
  flow->progress_interval = 5;
  PetscOptionsBegin(comm, NULL, "Flow", NULL);
  PetscCall(PgfOptionsInt(comm, "-snapshots", "Snapshots: t = 0 and K - 1 log-spaced times up to -ts_max_time", flow->nsnap, 2, 100000, &flow->nsnap));
  PetscCall(PgfOptionsReal(comm, "-stop_loss", "Stop when F falls below this (0: never)", 0, 0, PETSC_MAX_REAL, &flow->stop_loss));
  PetscCall(PgfOptionsReal(comm, "-stop_dissipation", "Stop when D falls below this (0: never)", 0, 0, PETSC_MAX_REAL, &flow->stop_dissipation));
  PetscCall(PgfOptionsReal(comm, "-stop_gap", "Stop when the duality gap falls below this (0: never; deconv)", 0, 0, PETSC_MAX_REAL, &flow->stop_gap));
  PetscCall(PgfOptionsReal(comm, "-progress_interval", "Seconds of wall time between progress lines", flow->progress_interval, 0, PETSC_MAX_REAL, &flow->progress_interval));
  /* a published algorithm's iterations replayed exactly may raise F */
  PgfParamsModelScope(PETSC_TRUE);
  PetscCall(PgfOptionsBool(comm, "-monotone", "Undo and retry shorter an accepted step that raised F beyond rounding (doc/math.md section 2.4)", PETSC_TRUE, &monotone));
  PgfParamsModelScope(PETSC_FALSE);
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
    if (flow->armijo) PetscCall(PgfTSAdaptArmijoSetObjective(adapt, PgfFlowObjective, flow));
    /* mini-batches and proximal steps may raise F: they are exempt */
    PetscCall(PgfModelNonsmooth(flow->model, &nonsmooth));
    flow->monotone = (PetscBool)(monotone && !usesstep && !nonsmooth);
    /* the dynamics, once the integrator is known: fixed Euler steps may take
       its own update (a retraction) */
    PetscCall(PetscObjectTypeCompare((PetscObject)adapt, TSADAPTNONE, &fixed));
    PetscCall(PgfDynamicsCreate(flow->model, (PetscBool)(euler && fixed), &flow->dyn));
    PetscCall(PgfFlowJumpsSetFromOptions(flow, euler, fixed));
    if (!PgfDynamicsIsIdentity(flow->dyn) && flow->jkind == PGF_JACOBIAN_ASSEMBLED) {
      PetscBool hasapply;

      /* the assembled Jacobian is the model's own: another dynamics scales
         it matrix-free */
      PetscCall(PgfModelHasOperation(flow->model, PGF_OP_JACOBIAN_APPLY, &hasapply));
      flow->jkind = hasapply ? PGF_JACOBIAN_SHELL : PGF_JACOBIAN_MFFD;
    }
  }
  PetscCall(PgfFlowSetUpTS(flow));
  PetscCall(PgfConvexCreate(flow->model, &flow->convex));
  PetscCall(TSGetMaxTime(flow->ts, &flow->tmax));
  PetscCall(RecordTS(flow->ts));
  PetscFunctionReturn(0);
}
