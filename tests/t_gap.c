/* The deconvolution certificate against a plain reference twin
   (doc/math.md section 5): max |g| by brute force, one cosine and
   sine per term, on a grid -refine times finer per axis than the model's,
   and the duality gap from it. The model's gap (grid plus Newton) must be
   non-negative and equal to the reference gap within -gtol relative to F.
   The state is a generic one drawn here, or the final particles of a
   results file (-from FILE.h5), whose gap is then printed.
   Usage: t_gap -problem deconv [deconv options, -lambda given]
                [-from FILE.h5] [-refine R] [-gtol TOL] */
#include "modelimpl.h" /* a test of the model layer from inside: the certificate needs rho */

static const char help[] = "Checks the duality gap of -problem deconv against a brute-force evaluation.\n";

/* The particles from /final/w and /final/theta of a results file; the state
   of the signed_square lift is r = sign(w) sqrt(|w|). */
static PetscErrorCode ReadState(PgfModel model, const char file[], PetscBool fb, Vec U)
{
  PetscInt     wdims[1], tdims[2];
  PetscReal   *w, *theta;
  PetscScalar *u;

  PetscFunctionBegin;
  PetscCall(PgfReadArray(model->comm, "-from", file, "/final/w", 1, wdims, &w));
  PetscCall(PgfReadArray(model->comm, "-from", file, "/final/theta", 2, tdims, &theta));
  PetscCheck(wdims[0] == model->m && tdims[1] == model->npos, model->comm, PETSC_ERR_ARG_SIZ, "-from %s does not match -particles and -torus_dim", file);
  PetscCall(VecGetArray(U, &u));
  for (PetscInt i = 0; i < model->mloc; i++) {
    PetscInt gi = model->rstart + i;

    u[i * model->dof] = fb ? w[gi] : PetscSign(w[gi]) * PetscSqrtReal(PetscAbsReal(w[gi]));
    for (PetscInt a = 0; a < model->npos; a++) u[i * model->dof + 1 + a] = theta[gi * model->npos + a];
  }
  PetscCall(VecRestoreArray(U, &u));
  PetscCall(PetscFree(w));
  PetscCall(PetscFree(theta));
  PetscFunctionReturn(0);
}

/* g(theta) = Re sum_omega conj(rho(omega)) exp(-2 pi i omega . theta), term by term. */
static PetscReal ReferenceG(PetscInt q, PetscInt fc, const PetscReal *rho, const PetscReal *theta)
{
  PetscInt  nf = 2 * fc + 1, n2 = q == 2 ? nf : 1, K = nf * n2;
  PetscReal g = 0;

  for (PetscInt k = 0; k < K; k++) {
    PetscReal phase = 2 * PETSC_PI * ((k / n2 - fc) * theta[0] + (q == 2 ? (k % n2 - fc) * theta[1] : 0));

    g += rho[k] * PetscCosReal(phase) - rho[K + k] * PetscSinReal(phase);
  }
  return g;
}

int main(int argc, char **argv)
{
  PgfModel     model;
  Vec          U;
  PetscInt     m, q, N, K, fc, nf, refine = 64, G, G2;
  PetscReal    lambda = 0.05, gtol = 1e-4, F, gap, gmax = 0, c, zp = 0, pp = 0, ref, *y;
  PetscScalar *u;
  char         from[PETSC_MAX_PATH_LEN] = "", lift[16] = "signed_square";
  PetscBool    ok;

  PetscCall(PgfInitialize(&argc, &argv, help));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-lambda", &lambda, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-gtol", &gtol, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-refine", &refine, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-from", from, sizeof(from), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-lift", lift, sizeof(lift), NULL));
  PetscCall(PgfModelCreate(PETSC_COMM_WORLD, "deconv", &model));
  PetscCall(PgfModelSetFromOptions(model));
  PetscCall(PgfModelGetSizes(model, &m, &q, NULL, &N));
  PetscCall(PgfModelCreateVec(model, &U));
  if (from[0]) PetscCall(ReadState(model, from, (PetscBool)!strcmp(lift, "fb"), U));
  else {
    PetscCall(VecGetArray(U, &u));
    for (PetscInt i = 0; i < model->mloc; i++) {
      PetscInt gi = model->rstart + i;

      u[i * model->dof] = 0.5 * PgfRandNormal(3, PGF_STREAM_PARTICLES, gi, 0);
      for (PetscInt a = 0; a < q; a++) u[i * model->dof + 1 + a] = PgfRandUniform(3, PGF_STREAM_PARTICLES, gi, 2 + a);
    }
    PetscCall(VecRestoreArray(U, &u));
  }
  PetscCall(PgfModelObjective(model, U, &F));
  PetscCall(PgfModelGap(model, U, &gap));

  /* The reference, from rho and h of that evaluation: y = h - K rho. */
  K  = N / 2;
  nf = q == 2 ? (PetscInt)PetscSqrtReal((PetscReal)K + 0.5) : K;
  fc = (nf - 1) / 2;
  G  = refine * nf;
  G2 = q == 2 ? G : 1;
  for (PetscInt j1 = 0; j1 < G; j1++) {
    for (PetscInt j2 = 0; j2 < G2; j2++) {
      PetscReal theta[2] = {(PetscReal)j1 / G, (PetscReal)j2 / G};

      gmax = PetscMax(gmax, PetscAbsReal(ReferenceG(q, fc, model->rho, theta)));
    }
  }
  PetscCall(PetscMalloc1(N, &y));
  for (PetscInt k = 0; k < N; k++) y[k] = model->hbuf[k] - K * model->rho[k];
  for (PetscInt k = 0; k < N; k++) {
    zp -= y[k] * model->rho[k];
    pp += K * model->rho[k] * model->rho[k];
  }
  c   = gmax > lambda ? lambda / gmax : 1;
  ref = F - (c * zp - 0.5 * c * c * pp);
  ok  = (PetscBool)(gap >= -1e-14 * PetscAbsReal(F) && PetscAbsReal(gap - ref) <= gtol * PetscAbsReal(F));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "F %.10e gap %.6e reference gap %.6e reference max|g| %.10e (lambda %g, reference grid %" PetscInt_FMT " per axis)\n", (double)F, (double)gap, (double)ref, (double)gmax, (double)lambda, G));
  PetscCall(PetscFree(y));
  PetscCall(VecDestroy(&U));
  PetscCall(PgfModelDestroy(&model));
  PetscCall(PetscFinalize());
  return !ok;
}
