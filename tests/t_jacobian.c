/* The model's assembled Jacobian dv/du against central differences of its
   velocities, column by column for a few particles spread over all ranks;
   with -dynamics (conic), the dynamics' Jacobian of its field and the
   model's direct solve with the dynamics' blocks, the same way.
   Usage: t_jacobian -problem deconv [problem options] [-dynamics NAME] [-tol TOL] */
#include "../src/dynamics.h"

/* The field of the dynamics at U into V, and the model's velocity into Ve. */
static PetscErrorCode Field(PgfModel model, PgfDynamics dyn, Vec U, Vec Ve, Vec V)
{
  PetscReal F, D;

  PetscFunctionBegin;
  PetscCall(PgfModelEvaluate(model, U, Ve, &F));
  PetscCall(VecCopy(Ve, V));
  PetscCall(PgfDynamicsVelocity(dyn, U, V, &D));
  PetscFunctionReturn(0);
}

/* With a dynamics other than Wasserstein: its Jacobian (the model's,
   scaled) applied to X against central differences of its field along X,
   and the model's direct solve with the dynamics' blocks against that
   Jacobian. */
static PetscErrorCode CheckDynamics(PgfModel model, Vec U, Vec X, PetscReal tol, PetscReal *maxerr)
{
  PgfDynamics  dyn;
  Vec          Ve, Y, Up, Fp, Fm, B;
  PetscReal    h = 1e-6, ynorm, diff, *S = NULL, *E = NULL;
  PetscBool    hassolve;
  PetscInt     mloc, dof;
  PetscScalar *u;

  PetscFunctionBegin;
  PetscCall(PgfModelGetSizes(model, NULL, NULL, &dof, NULL));
  PetscCall(PgfModelGetOwnership(model, NULL, &mloc));
  PetscCall(PgfDynamicsCreate(model, PETSC_FALSE, &dyn));
  if (PgfDynamicsIsIdentity(dyn)) {
    PetscCall(PgfDynamicsDestroy(&dyn));
    PetscFunctionReturn(0);
  }
  PetscCall(VecDuplicate(U, &Ve));
  PetscCall(VecDuplicate(U, &Y));
  PetscCall(VecDuplicate(U, &Up));
  /* the conic field turns at r = 0 (theta' = -B sign(r) grad g): the
     check is away from it */
  PetscCall(VecGetArray(U, &u));
  for (PetscInt i = 0; i < mloc; i++)
    if (u[i * dof] == 0) u[i * dof] = 0.3;
  PetscCall(VecRestoreArray(U, &u));
  PetscCall(VecDuplicate(U, &Fp));
  PetscCall(VecDuplicate(U, &Fm));
  PetscCall(VecDuplicate(U, &B));
  PetscCall(VecWAXPY(Up, h, X, U));
  PetscCall(Field(model, dyn, Up, Ve, Fp));
  PetscCall(VecWAXPY(Up, -h, X, U));
  PetscCall(Field(model, dyn, Up, Ve, Fm));
  PetscCall(VecAXPY(Fp, -1.0, Fm));
  PetscCall(VecScale(Fp, 1 / (2 * h)));
  PetscCall(Field(model, dyn, U, Ve, Fm));
  PetscCall(PgfModelJacobianPrepare(model, U));
  PetscCall(PgfModelJacobianApply(model, X, Y));
  PetscCall(PgfDynamicsJacobian(dyn, U, Ve, X, Y));
  PetscCall(VecNorm(Fp, NORM_INFINITY, &ynorm));
  PetscCall(VecAXPY(Fp, -1.0, Y));
  PetscCall(VecNorm(Fp, NORM_INFINITY, &diff));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "dynamics Jacobian: relative difference %.3e from central differences of its field\n", (double)(diff / ynorm)));
  *maxerr = PetscMax(*maxerr, diff / ynorm);
  PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN_SOLVE, &hassolve));
  if (hassolve) {
    const PetscReal shifts[3][2] = {{1e-3, 1}, {0.7, 1}, {50, -1}};

    PetscCall(PgfDynamicsBlocks(dyn, U, Ve, &S, &E));
    for (PetscInt c = 0; c < 3; c++) {
      PetscReal bnorm, rnorm;

      /* B = (shift I + scale (S J + E)) X, solved for X */
      PetscCall(PgfModelJacobianApply(model, X, B));
      PetscCall(PgfDynamicsJacobian(dyn, U, Ve, X, B));
      PetscCall(VecAXPBY(B, shifts[c][0], shifts[c][1], X));
      PetscCall(PgfModelJacobianSolveSetUp(model, shifts[c][0], shifts[c][1], S, E));
      PetscCall(PgfModelJacobianSolve(model, B, Y));
      PetscCall(VecAXPY(Y, -1.0, X));
      PetscCall(VecNorm(Y, NORM_INFINITY, &rnorm));
      PetscCall(VecNorm(X, NORM_INFINITY, &bnorm));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "direct solve with the dynamics' blocks, shift %g scale %g: relative error %.3e\n", (double)shifts[c][0], (double)shifts[c][1], (double)(rnorm / bnorm)));
      *maxerr = PetscMax(*maxerr, rnorm / bnorm);
    }
    PetscCall(PetscFree2(S, E));
  }
  PetscCall(VecDestroy(&B));
  PetscCall(VecDestroy(&Fm));
  PetscCall(VecDestroy(&Fp));
  PetscCall(VecDestroy(&Up));
  PetscCall(VecDestroy(&Y));
  PetscCall(VecDestroy(&Ve));
  PetscCall(PgfDynamicsDestroy(&dyn));
  PetscFunctionReturn(0);
}

static const char help[] = "Checks the assembled Jacobian against finite differences of the velocities.\n";

int main(int argc, char **argv)
{
  PgfModel     model;
  Vec          U, Vp, Vm, col;
  Mat          J;
  PetscInt     m, dof, rstart, mloc, nchecked = 0;
  PetscReal    F, tol = 1e-6, maxerr = 0, jmax, h = 1e-6;
  PetscScalar *u;
  char         problem[32] = "deconv";
  PetscBool    hasjac, hasapply, hassolve;

  PetscCall(PgfInitialize(&argc, &argv, help));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-tol", &tol, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-problem", problem, sizeof(problem), NULL));
  PetscCall(PgfModelCreate(PETSC_COMM_WORLD, problem, &model));
  PetscCall(PgfModelSetFromOptions(model));
  PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN, &hasjac));
  PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN_APPLY, &hasapply));
  PetscCheck(hasjac, PETSC_COMM_WORLD, PETSC_ERR_SUP, "-problem %s has no assembled Jacobian", problem);
  PetscCall(PgfModelGetSizes(model, &m, NULL, &dof, NULL));
  PetscCall(PgfModelGetOwnership(model, &rstart, &mloc));
  PetscCall(PgfModelCreateVec(model, &U));
  PetscCall(VecDuplicate(U, &Vp));
  PetscCall(VecDuplicate(U, &Vm));
  PetscCall(VecDuplicate(U, &col));
  PetscCall(MatCreateDense(PETSC_COMM_WORLD, mloc * dof, mloc * dof, PETSC_DECIDE, PETSC_DECIDE, NULL, &J));

  /* A generic state: weights of both signs, every third one zero (fb holds
     those at zero while |g| <= lambda), positions inside the torus. */
  PetscCall(VecGetArray(U, &u));
  for (PetscInt i = 0; i < mloc * dof; i++) {
    PetscInt gi = rstart * dof + i;

    u[i] = gi % dof == 0 ? (gi / dof % 3 ? PgfRandNormal(7, PGF_STREAM_PARTICLES, gi, 0) : 0) : PgfRandUniform(7, PGF_STREAM_PARTICLES, gi, 1);
  }
  PetscCall(VecRestoreArray(U, &u));
  PetscCall(PgfModelJacobian(model, U, J));
  PetscCall(MatNorm(J, NORM_MAX, &jmax));

  for (PetscInt gi = 0; gi < m; gi += PetscMax(1, m / 5)) {
    for (PetscInt k = 0; k < dof; k++) {
      PetscInt  idx = gi * dof + k;
      PetscReal x   = 0, err;

      PetscCall(VecGetArray(U, &u));
      if (idx >= rstart * dof && idx < (rstart + mloc) * dof) x = u[idx - rstart * dof];
      PetscCall(VecRestoreArray(U, &u));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPIU_REAL, MPI_SUM, PETSC_COMM_WORLD));
      PetscCall(VecSetValue(U, idx, x + h, INSERT_VALUES));
      PetscCall(VecAssemblyBegin(U));
      PetscCall(VecAssemblyEnd(U));
      PetscCall(PgfModelEvaluate(model, U, Vp, &F));
      PetscCall(VecSetValue(U, idx, x - h, INSERT_VALUES));
      PetscCall(VecAssemblyBegin(U));
      PetscCall(VecAssemblyEnd(U));
      PetscCall(PgfModelEvaluate(model, U, Vm, &F));
      PetscCall(VecSetValue(U, idx, x, INSERT_VALUES));
      PetscCall(VecAssemblyBegin(U));
      PetscCall(VecAssemblyEnd(U));
      /* col = J e_idx - (v(u + h e) - v(u - h e)) / 2h */
      PetscCall(MatGetColumnVector(J, col, idx));
      PetscCall(VecAXPY(Vp, -1.0, Vm));
      PetscCall(VecAXPY(col, -1.0 / (2 * h), Vp));
      PetscCall(VecNorm(col, NORM_INFINITY, &err));
      maxerr = PetscMax(maxerr, err / PetscMax(jmax, 1e-300));
      nchecked++;
    }
  }
  /* The matrix-free product against the assembled matrix. */
  if (hasapply) {
    Vec       X, Y;
    PetscReal ynorm, diff;

    PetscCall(VecDuplicate(U, &X));
    PetscCall(VecDuplicate(U, &Y));
    PetscCall(VecGetArray(X, &u));
    for (PetscInt i = 0; i < mloc * dof; i++) u[i] = PgfRandNormal(11, PGF_STREAM_PARTICLES, rstart * dof + i, 0);
    PetscCall(VecRestoreArray(X, &u));
    PetscCall(PgfModelJacobianPrepare(model, U));
    PetscCall(PgfModelJacobianApply(model, X, Y));
    PetscCall(MatMult(J, X, col));
    PetscCall(VecNorm(col, NORM_INFINITY, &ynorm));
    PetscCall(VecAXPY(col, -1.0, Y));
    PetscCall(VecNorm(col, NORM_INFINITY, &diff));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "matrix-free product: relative difference %.3e from the assembled one\n", (double)(diff / ynorm)));
    maxerr = PetscMax(maxerr, diff / ynorm);
    /* The direct solve of (shift I + scale J) x = b: residual of its x,
       for a small and a large shift and both signs of the scale. */
    PetscCall(PgfModelHasOperation(model, PGF_OP_JACOBIAN_SOLVE, &hassolve));
    if (hassolve) {
      const PetscReal shifts[3][2] = {{1e-3, 1}, {0.7, 1}, {50, -1}};

      for (PetscInt c = 0; c < 3; c++) {
        PetscReal bnorm, rnorm;

        PetscCall(PgfModelJacobianSolveSetUp(model, shifts[c][0], shifts[c][1], NULL, NULL));
        PetscCall(PgfModelJacobianSolve(model, X, Y));
        PetscCall(PgfModelJacobianApply(model, Y, col));
        PetscCall(VecAXPBY(col, shifts[c][0], shifts[c][1], Y));
        PetscCall(VecAXPY(col, -1.0, X));
        PetscCall(VecNorm(col, NORM_INFINITY, &rnorm));
        PetscCall(VecNorm(X, NORM_INFINITY, &bnorm));
        PetscCall(PetscPrintf(PETSC_COMM_WORLD, "direct solve, shift %g scale %g: relative residual %.3e\n", (double)shifts[c][0], (double)shifts[c][1], (double)(rnorm / bnorm)));
        maxerr = PetscMax(maxerr, rnorm / bnorm);
      }
    }
    PetscCall(CheckDynamics(model, U, X, tol, &maxerr));
    PetscCall(VecDestroy(&Y));
    PetscCall(VecDestroy(&X));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Jacobian check: %" PetscInt_FMT " columns, max |J| %.3e, max relative error %.3e (tolerance %.1e)\n", nchecked, (double)jmax, (double)maxerr, (double)tol));
  PetscCall(MatDestroy(&J));
  PetscCall(VecDestroy(&col));
  PetscCall(VecDestroy(&Vm));
  PetscCall(VecDestroy(&Vp));
  PetscCall(VecDestroy(&U));
  PetscCall(PgfModelDestroy(&model));
  PetscCall(PetscFinalize());
  return !(maxerr < tol && jmax > 0);
}
