/* The integrator's wiring: PETSc TS defaults, the function form, the
   Jacobian of the right-hand side (assembled, the model's applied
   matrix-free, or finite differences) and the preconditioner, and the
   memory they take. Defaults are set before TSSetFromOptions so that the
   command line wins; the function form and the Jacobian are decided after
   it, from the integrator it chose. The velocity and its Jacobian come
   from the flow's dynamics. */
#include "flowimpl.h"

static PetscErrorCode RHSJacobianMF(TS ts, PetscReal t, Vec U, Mat A, Mat B, void *ctx)
{
  PetscFunctionBeginUser;
  PetscCall(MatMFFDSetBase(A, U, NULL));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
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
  PetscCall(PgfFlowJacobianPrepare(flow, U));
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
  PetscCall(PgfFlowRHSFunction(ts, t, U, F, ctx));
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
    PetscCall(PgfFlowJacobianPrepare(flow, U));
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
  PetscCall(PgfFlowJacobianApply(flow, X, Y));
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
  PetscCall(PgfFlowSolveSetUp(flow, flow->shift, flow->scale));
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

/* State-sized vectors the integrator of type keeps, about:
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

/* Defaults (README.md, Running): RK 5(4) Dormand-Prince with the dsp
   controller and tolerances 1e-6, refined below by the model's own default
   or else the default for trajectories; implicit types get Newton with a
   matrix-free Jacobian and no preconditioner (or, with -snes_mf, SNES's own
   matrix-free operator), and retry a failed nonlinear solve with a smaller
   step. The linear solver's defaults follow the kind of Jacobian. */
PetscErrorCode PgfFlowSetTSDefaults(PgfFlow f)
{
  TSAdapt     adapt;
  SNES        snes;
  KSP         ksp;
  PC          pc;
  PetscMPIInt size;
  PetscBool   hassolve, rk, typegiven;
  const char *deftype;

  PetscFunctionBegin;
  PetscCall(PgfModelHasOperation(f->model, PGF_OP_JACOBIAN_SOLVE, &hassolve));
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
  if (f->jkind == PGF_JACOBIAN_ASSEMBLED) {
    /* An analytic Jacobian, dense (m dof at most a few thousand): solved
       by LAPACK LU on one rank; on several, by GMRES with Jacobi (PETSc
       3.18 has no parallel LU for MATMPIDENSE). */
    PetscCallMPI(MPI_Comm_size(f->comm, &size));
    PetscCall(KSPSetType(ksp, size > 1 ? KSPGMRES : KSPPREONLY));
    PetscCall(PCSetType(pc, size > 1 ? PCJACOBI : PCLU));
  } else if (f->jkind == PGF_JACOBIAN_SHELL && hassolve) {
    /* the model's direct solve of the Newton systems, exact up to rounding
       (inexact only where it regularized a singular block, which Newton
       and W-methods tolerate): applied once */
    PetscCall(KSPSetType(ksp, KSPPREONLY));
    PetscCall(PCSetType(pc, PCSHELL));
    PetscCall(PCShellSetContext(pc, f));
    PetscCall(PCShellSetSetUp(pc, PCSetUpModel));
    PetscCall(PCShellSetApply(pc, PCApplyModel));
    PetscCall(PCShellSetName(pc, "pgflow model Jacobian solve"));
  } else PetscCall(PCSetType(pc, PCNONE));
  PetscCall(PgfModelSetTSDefaults(f->model, f->ts));
  /* the model's default type only where -ts_type does not name one: the
     defaults for trajectories below follow it */
  PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_type", &typegiven));
  PetscCall(PgfModelGetDefaultTSType(f->model, &deftype));
  if (!typegiven && deftype) PetscCall(TSSetType(f->ts, deftype));
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
  PetscFunctionReturn(0);
}

/* After TSSetFromOptions: the memory the chosen integrator and Jacobian
   take, reserved before they are allocated; the state vectors; the
   function form (rosw with an analytic Jacobian integrates U' + v(U) = 0
   as an IFunction, every other type the right-hand side -v) and the
   Jacobian that goes with it. */
PetscErrorCode PgfFlowSetUpTS(PgfFlow f)
{
  MPI_Comm  comm = f->comm;
  TSType    type;
  PetscInt  n, N;
  PetscReal state = sizeof(PetscScalar) * (PetscReal)f->mloc * f->dof, nvec;
  char      what[128];

  PetscFunctionBegin;
  PetscCall(TSGetType(f->ts, &type));
  nvec = StateVectors(type);
  PetscCall(PetscSNPrintf(what, sizeof(what), "the integrator's %d state vectors of %" PetscInt_FMT " x %" PetscInt_FMT " values", (int)nvec, f->mloc, f->dof));
  PetscCall(PgfModelReserve(f->model, nvec * state, what));
  /* the assembled Jacobian: its rows of the local particles, and its LU factor */
  if (f->jkind == PGF_JACOBIAN_ASSEMBLED) PetscCall(PgfModelReserve(f->model, 2 * state * f->m * f->dof, "the assembled Jacobian"));
  PetscCall(PgfModelCreateVec(f->model, &f->U));
  PetscCall(VecDuplicate(f->U, &f->good));
  PetscCall(VecDuplicate(f->U, &f->ucache));
  PetscCall(VecDuplicate(f->U, &f->vcache));
  PetscCall(VecSet(f->ucache, PETSC_MAX_REAL)); /* matches no state */
  if (!PgfDynamicsIsIdentity(f->dyn) && f->jkind != PGF_JACOBIAN_MFFD) {
    /* made at the first Jacobian (explicit types never need them) */
    PetscCall(PgfModelReserve(f->model, 2 * state + 2 * state * f->dof, "the dynamics' Jacobian state, velocity and blocks"));
  }
  PetscCall(VecGetLocalSize(f->U, &n));
  PetscCall(VecGetSize(f->U, &N));

  PetscCall(PetscObjectTypeCompare((PetscObject)f->ts, TSROSW, &f->implicitform));
  f->implicitform = (PetscBool)(f->implicitform && f->hasjac);
  if (f->implicitform) PetscCall(TSSetIFunction(f->ts, NULL, IFunctionFull, f));
  else PetscCall(TSSetRHSFunction(f->ts, NULL, PgfFlowRHSFunction, f));
  if (f->jkind == PGF_JACOBIAN_ASSEMBLED) {
    Mat J;

    PetscCall(MatCreateDense(comm, n, n, PETSC_DECIDE, PETSC_DECIDE, NULL, &J));
    if (f->implicitform) PetscCall(TSSetIJacobian(f->ts, J, J, IJacobianFull, f));
    else PetscCall(TSSetRHSJacobian(f->ts, J, J, RHSJacobian, f));
    PetscCall(MatDestroy(&J)); /* TS keeps a reference */
  } else if (f->jkind == PGF_JACOBIAN_SHELL) {
    /* The analytic Jacobian, applied matrix-free, and the model's direct
       solve of the Newton systems when it has one (else GMRES) */
    Mat S;

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
  } else {
    PetscCall(MatCreateMFFD(comm, n, n, N, N, &f->J));
    PetscCall(MatMFFDSetFunction(f->J, PgfFlowJacobianFunction, f));
    PetscCall(SetUpMatrixFree(f));
  }
  PetscFunctionReturn(0);
}
