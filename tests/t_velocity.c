/* Velocities against central finite differences of F_m: v(u_i) must equal
   m dF_m/du_i (doc/math.md section 2), for the problem given by the
   options, on any number of ranks. With -reg l1 (twolayer) the non-smooth
   part lambda sign(w) is added to v_w, since the flow handles it by a prox
   step; this case needs -lambda given explicitly. (deconv's fb lift has
   lambda sign(w) in v_w, the signs being those of the state.)
   With -dynamics (conic), also the dynamics' velocity V and dissipation D:
   F must decrease at the rate D along -V (dF/dt = -D, doc/math.md section
   2.5), checked by central differences of F along V.
   Usage: t_velocity [-problem twolayer|deconv] [problem options] [-dynamics NAME] [-tol TOL] */
#include "../src/dynamics.h"

static const char help[] = "Checks velocities against finite differences of the objective.\n";

int main(int argc, char **argv)
{
  PgfModel     model;
  Vec          U, V;
  PetscInt     m, dof, rstart, mloc, nchecked = 0;
  PetscReal    F, Fp, Fm, tol = 1e-6, maxerr = 0, vmax = 0, lambda = 0;
  PetscScalar *u;
  char         problem[32] = "twolayer", reg[16] = "none";
  PetscBool    nonsmooth;
  PetscMPIInt  rank;

  PetscCall(PgfInitialize(&argc, &argv, help));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-tol", &tol, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-problem", problem, sizeof(problem), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-reg", reg, sizeof(reg), NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-lambda", &lambda, NULL));
  nonsmooth = (PetscBool)(!strcmp(problem, "twolayer") && !strcmp(reg, "l1"));
  PetscCall(PgfModelCreate(PETSC_COMM_WORLD, problem, &model));
  PetscCall(PgfModelSetFromOptions(model));
  PetscCall(PgfModelGetSizes(model, &m, NULL, &dof, NULL));
  PetscCall(PgfModelGetOwnership(model, &rstart, &mloc));
  PetscCall(PgfModelCreateVec(model, &U));
  PetscCall(VecDuplicate(U, &V));

  /* A generic state: every weight and position non-zero, away from kinks. */
  PetscCall(VecGetArray(U, &u));
  for (PetscInt i = 0; i < mloc * dof; i++) u[i] = PgfRandNormal(7, PGF_STREAM_PARTICLES, rstart * dof + i, 0);
  PetscCall(VecRestoreArray(U, &u));
  PetscCall(PgfModelEvaluate(model, U, V, &F));
  PetscCall(VecNorm(V, NORM_INFINITY, &vmax));

  /* Every coordinate of a few particles spread over all ranks. */
  for (PetscInt gi = 0; gi < m; gi += PetscMax(1, m / 7)) {
    for (PetscInt k = 0; k < dof; k++) {
      PetscInt           idx = gi * dof + k;
      PetscReal          h = 1e-5, x = 0, vk = 0, fd, err;
      PetscBool          mine = (PetscBool)(gi >= rstart && gi < rstart + mloc);
      PetscScalar       *ua;
      const PetscScalar *va;

      PetscCall(VecGetArray(U, &ua));
      if (mine) x = ua[idx - rstart * dof];
      PetscCall(VecRestoreArray(U, &ua));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPIU_REAL, MPI_SUM, PETSC_COMM_WORLD));
      PetscCall(VecSetValue(U, idx, x + h, INSERT_VALUES));
      PetscCall(VecAssemblyBegin(U));
      PetscCall(VecAssemblyEnd(U));
      PetscCall(PgfModelObjective(model, U, &Fp));
      PetscCall(VecSetValue(U, idx, x - h, INSERT_VALUES));
      PetscCall(VecAssemblyBegin(U));
      PetscCall(VecAssemblyEnd(U));
      PetscCall(PgfModelObjective(model, U, &Fm));
      PetscCall(VecSetValue(U, idx, x, INSERT_VALUES));
      PetscCall(VecAssemblyBegin(U));
      PetscCall(VecAssemblyEnd(U));
      PetscCall(VecGetArrayRead(V, &va));
      if (mine) vk = va[idx - rstart * dof];
      PetscCall(VecRestoreArrayRead(V, &va));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &vk, 1, MPIU_REAL, MPI_SUM, PETSC_COMM_WORLD));
      if (nonsmooth && k == 0) vk += lambda * PetscSign(x);
      fd     = m * (Fp - Fm) / (2 * h);
      err    = PetscAbsReal(fd - vk) / PetscMax(vmax, 1e-300);
      maxerr = PetscMax(maxerr, err);
      nchecked++;
    }
  }
  {
    PgfDynamics dyn;
    Vec         W;
    PetscReal   D, h = 1e-6, fd, err;

    PetscCall(PgfDynamicsCreate(model, PETSC_FALSE, &dyn));
    if (!PgfDynamicsIsIdentity(dyn) && !nonsmooth) {
      PetscCall(VecDuplicate(U, &W));
      PetscCall(PgfModelEvaluate(model, U, V, &F));
      PetscCall(PgfDynamicsVelocity(dyn, U, V, &D));
      D /= m;
      PetscCall(VecWAXPY(W, -h, V, U));
      PetscCall(PgfModelObjective(model, W, &Fm));
      PetscCall(VecWAXPY(W, h, V, U));
      PetscCall(PgfModelObjective(model, W, &Fp));
      fd  = (Fp - Fm) / (2 * h);
      err = PetscAbsReal(fd - D) / PetscMax(PetscAbsReal(D), 1e-300);
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "dynamics %s: D = %.10e, dF/dh of F(u + h V) at h = 0 %.10e, relative error %.3e\n", "conic", (double)D, (double)fd, (double)err));
      maxerr = PetscMax(maxerr, err);
      PetscCall(VecDestroy(&W));
    }
    PetscCall(PgfDynamicsDestroy(&dyn));
  }
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "velocity check: %" PetscInt_FMT " coordinates, max |v|_inf %.3e, max relative error %.3e (tolerance %.1e)\n", nchecked, (double)vmax, (double)maxerr, (double)tol));
  PetscCall(VecDestroy(&V));
  PetscCall(VecDestroy(&U));
  PetscCall(PgfModelDestroy(&model));
  PetscCall(PetscFinalize());
  return !(maxerr < tol && vmax > 0);
}
