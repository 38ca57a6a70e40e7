/* Sliding Frank-Wolfe for deconvolution (Denoyelle, Duval, Peyre and
   Soubies 2019; doc/math.md section 6.3): -baseline sfw runs it instead of
   the particle flow, on the same problem and with the same certificate.
   Each iteration adds a spike where |g| is largest (the certificate's
   argmax), refits the amplitudes with the positions fixed, then moves
   amplitudes and positions jointly; both solves are PETSc TAO's
   bound-constrained quasi-Newton (BQNLS by default, -sfw_tao_type), the
   bounds keeping every amplitude on the side of its sign, so that
   lambda |a| is linear and the problem smooth.
   The spikes are few (at most -particles): every rank holds them all and
   runs the same sequential solves, so results do not depend on the number
   of ranks at all. The results file has a particle run's layout: spike k
   is particle k with weight W = m a_k, the other particles weight 0.
   A checkpoint (checkpoint.c, solver sfw) is written after an iterate is
   recorded: its /U holds spike k as particle k, the amplitude a_k then the
   position, with the iteration, the work counters and the results file's
   rows as its state; no amplitude is 0 there (a solve drops those), so
   each keeps the sign it has. A restart continues from that iterate
   bitwise as if never stopped. */
#include "pgfimpl.h"
#include "options.h"
#include <petsctao.h>
#include <sys/resource.h>

struct _p_PgfSfw {
  PgfModel         model;
  MPI_Comm         comm;
  PetscInt         m, q, K, rstart, mloc; /* particles (the most spikes), torus, frequencies, this rank's rows */
  PetscReal        lambda;
  const PetscReal *y;
  PetscInt         it, s; /* the iteration, the spikes */
  PetscReal       *a, *x, *sgn; /* m amplitudes, m x q positions, the sign each amplitude keeps */
  PetscReal       *h, *rho, *phi; /* 2K: predictor, residual, one atom */
  PetscReal       *w, *theta; /* the padded particle arrays of a snapshot */
  PetscBool        slide; /* the TAO variables include the positions */
  PetscInt64       evals, atoms, certificates; /* work: evaluations of F and its gradient, of one spike (O(K) each), of the certificate */
  PetscInt         max_it;
  PetscReal        stop_gap, F, gap, gmax, gnorm;
  PetscReal        argmax[2];
  PetscReal        history[PGF_HISTORY_COLUMNS];
  char             type[64]; /* -sfw_tao_type, as TaoSetFromOptions found it at set-up */
  PetscReal        gatol;
  PetscInt         tao_max_it;
  PgfCheckpoint    ckpt; /* the named state a checkpoint holds */
  Vec              U; /* a checkpoint's spikes, in the model's particle layout */
  char             checkpoint[PETSC_MAX_PATH_LEN];
  PetscReal        checkpoint_interval; /* seconds of wall time; 0: on signals only */
  char             run_id[PGF_RUN_ID_LEN], output[PETSC_MAX_PATH_LEN]; /* the run the checkpoints belong to */
  char             checkpoint_failure[1024]; /* why the last checkpoint could not be written ("": it was) */
  PetscLogDouble   last_checkpoint;
  PetscInt         nsnap0, nhist0; /* snapshots and history rows of the results file at the last checkpoint written or read */
  PetscBool        restarted;
  PetscInt64       evals0; /* evaluations before a restart (not timed by this process) */
};
typedef struct _p_PgfSfw Sfw;

/* h, F and rho of the spikes, and with grad the gradient with respect to
   the TAO variables: dF/da_k = g(x_k) + lambda sgn_k, dF/dx_k = a_k grad g(x_k)
   (doc/math.md section 4.2). */
static PetscErrorCode Evaluate(Sfw *sf, PetscReal *grad)
{
  PetscReal R = 0, V = 0, g, gg[2];

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(sf->h, 2 * sf->K));
  for (PetscInt k = 0; k < sf->s; k++) {
    PetscCall(PgfDeconvAtom(sf->model, &sf->x[k * sf->q], sf->phi));
    for (PetscInt j = 0; j < 2 * sf->K; j++) sf->h[j] += sf->a[k] * sf->phi[j];
    V += sf->lambda * PetscAbsReal(sf->a[k]);
  }
  for (PetscInt j = 0; j < 2 * sf->K; j++) {
    PetscReal r = sf->h[j] - sf->y[j];

    R += r * r;
    sf->rho[j] = r / sf->K;
  }
  sf->F = R / (2 * sf->K) + V;
  sf->atoms += sf->s;
  if (!grad) PetscFunctionReturn(0);
  sf->evals++;
  sf->atoms += sf->s;
  for (PetscInt k = 0; k < sf->s; k++) {
    PetscCall(PgfDeconvCorrelation(sf->model, sf->rho, &sf->x[k * sf->q], &g, gg));
    grad[k] = g + sf->lambda * sf->sgn[k];
    if (sf->slide)
      for (PetscInt a = 0; a < sf->q; a++) grad[sf->s + k * sf->q + a] = sf->a[k] * gg[a];
  }
  PetscFunctionReturn(0);
}

/* The TAO variables: the s amplitudes, then (sliding) the s x q positions. */
static PetscErrorCode Unpack(Sfw *sf, Vec X)
{
  const PetscScalar *z;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &z));
  PetscCall(PetscArraycpy(sf->a, z, sf->s));
  if (sf->slide) PetscCall(PetscArraycpy(sf->x, &z[sf->s], sf->s * sf->q));
  PetscCall(VecRestoreArrayRead(X, &z));
  PetscFunctionReturn(0);
}

static PetscErrorCode ObjectiveAndGradient(Tao tao, Vec X, PetscReal *F, Vec G, void *ctx)
{
  Sfw         *sf = (Sfw *)ctx;
  PetscScalar *g;

  PetscFunctionBegin;
  PetscCall(Unpack(sf, X));
  PetscCall(VecGetArray(G, &g));
  PetscCall(Evaluate(sf, g));
  PetscCall(VecRestoreArray(G, &g));
  *F = sf->F;
  PetscFunctionReturn(0);
}

/* Minimizes F over the amplitudes (slide false) or over amplitudes and
   positions (slide true) from the current spikes, each amplitude bounded to
   the side of its sign; then drops the spikes whose amplitude reached 0 and
   wraps the positions into [0, 1). */
static PetscErrorCode Solve(Sfw *sf, PetscBool slide)
{
  PetscInt     n = sf->s * (slide ? 1 + sf->q : 1), kept = 0;
  Vec          X, lo, hi;
  Tao          tao;
  PetscScalar *z, *l, *u;

  PetscFunctionBegin;
  sf->slide = slide;
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &X));
  PetscCall(VecDuplicate(X, &lo));
  PetscCall(VecDuplicate(X, &hi));
  PetscCall(VecGetArray(X, &z));
  PetscCall(VecGetArray(lo, &l));
  PetscCall(VecGetArray(hi, &u));
  for (PetscInt j = 0; j < n; j++) {
    z[j] = j < sf->s ? sf->a[j] : sf->x[j - sf->s];
    l[j] = j < sf->s && sf->sgn[j] > 0 ? 0 : PETSC_NINFINITY;
    u[j] = j < sf->s && sf->sgn[j] < 0 ? 0 : PETSC_INFINITY;
  }
  PetscCall(VecRestoreArray(hi, &u));
  PetscCall(VecRestoreArray(lo, &l));
  PetscCall(VecRestoreArray(X, &z));
  PetscCall(TaoCreate(PETSC_COMM_SELF, &tao));
  PetscCall(TaoSetType(tao, sf->type));
  PetscCall(TaoSetSolution(tao, X));
  PetscCall(TaoSetObjectiveAndGradient(tao, NULL, ObjectiveAndGradient, sf));
  PetscCall(TaoSetVariableBounds(tao, lo, hi));
  PetscCall(TaoSetTolerances(tao, sf->gatol, 0, 0));
  PetscCall(TaoSetMaximumIterations(tao, sf->tao_max_it));
  PetscCall(TaoSolve(tao));
  PetscCall(TaoGetSolutionStatus(tao, NULL, NULL, &sf->gnorm, NULL, NULL, NULL));
  PetscCall(Unpack(sf, X));
  PetscCall(TaoDestroy(&tao));
  PetscCall(VecDestroy(&hi));
  PetscCall(VecDestroy(&lo));
  PetscCall(VecDestroy(&X));
  for (PetscInt k = 0; k < sf->s; k++) {
    if (sf->a[k] == 0) continue;
    sf->a[kept]   = sf->a[k];
    sf->sgn[kept] = sf->sgn[k];
    for (PetscInt a = 0; a < sf->q; a++) sf->x[kept * sf->q + a] = sf->x[k * sf->q + a] - PetscFloorReal(sf->x[k * sf->q + a]);
    kept++;
  }
  sf->s = kept;
  PetscFunctionReturn(0);
}

/* F, rho and the certificate of the current spikes (doc/math.md section 5). */
static PetscErrorCode Certify(Sfw *sf)
{
  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_Gap, 0, 0, 0, 0));
  PetscCall(Evaluate(sf, NULL));
  PetscCall(PgfDeconvCertificate(sf->model, sf->rho, sf->F, &sf->gap, &sf->gmax, sf->argmax));
  sf->certificates++;
  PetscCall(PetscLogEventEnd(PGF_Gap, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* This rank's rows of the spikes as particles, row i's weight at
   w[i * ldw] and position at theta[i * ldt]: scale a_k for spike k, 0 (at
   position 0) past the last spike. */
static void Rows(Sfw *sf, PetscReal scale, PetscReal *w, PetscInt ldw, PetscReal *theta, PetscInt ldt)
{
  for (PetscInt i = 0; i < sf->mloc; i++) {
    PetscInt k = sf->rstart + i;

    w[i * ldw] = k < sf->s ? scale * sf->a[k] : 0;
    for (PetscInt a = 0; a < sf->q; a++) theta[i * ldt + a] = k < sf->s ? sf->x[k * sf->q + a] : 0;
  }
}

/* The padded particle arrays of a snapshot: W = m a_k. */
static void Pad(Sfw *sf)
{
  Rows(sf, sf->m, sf->w, 1, sf->theta, sf->q);
}

/* Iteration it as a snapshot at t = it, and its history row (dt = 1, the
   dissipation column holding the squared norm of the projected gradient
   the last solve ended with). */
static PetscErrorCode Record(Sfw *sf, PgfOutput out)
{
  PetscInt it = sf->it;

  PetscFunctionBegin;
  Pad(sf);
  PetscCall(PgfOutputAppendSnapshot(out, it, sf->F, sf->gap, sf->m, sf->q, sf->rstart, sf->mloc, sf->w, sf->theta));
  if (it) {
    sf->history[0] = it;
    sf->history[1] = 1;
    sf->history[2] = sf->F;
    sf->history[3] = sf->gnorm * sf->gnorm;
    sf->history[4] = (PetscReal)sf->evals;
    PetscCall(PgfOutputAppendHistory(out, 1, sf->history));
  }
  PetscCall(PgfOutputFlush(out));
  PetscCall(PetscPrintf(sf->comm, "sfw %-5" PetscInt_FMT " spikes %-4" PetscInt_FMT " F %-18.12e gap %-10.3e max|g|/lambda %.6f evaluations %" PetscInt64_FMT "\n", it, sf->s, (double)sf->F, (double)sf->gap, (double)(sf->gmax / sf->lambda), sf->evals));
  PetscFunctionReturn(0);
}

/* The final state and /stats in the flow's names (a flow's rhs_evals are
   evaluations of all m particles; an SFW evaluation costs s spikes, counted
   in spike_evals), and the summary lines. */
static PetscErrorCode Finish(Sfw *sf, PgfStopReason stop, PetscLogDouble start, PgfOutput out)
{
  PetscInt       one = 1, it = sf->it;
  PetscReal      t = it, values[12];
  PetscLogDouble now, peak = 0;
  struct rusage  usage;
  const char    *names[] = {"wall_seconds", "steps", "rejected_steps", "rhs_evals", "seconds_per_rhs", "mpi_fraction", "energy_mismatch", "peak_memory_bytes", "energy_warning", "spike_evals", "certificates", "spikes"};

  PetscFunctionBegin;
  PetscCall(PgfOutputWriteParticles(out, "/final/w", sf->m, sf->rstart, sf->mloc, 0, sf->w));
  PetscCall(PgfOutputWriteParticles(out, "/final/theta", sf->m, sf->rstart, sf->mloc, sf->q, sf->theta));
  PetscCall(PgfOutputWriteRootArray(out, "/final/loss", 1, &one, &sf->F));
  PetscCall(PgfOutputWriteRootArray(out, "/final/t", 1, &one, &t));
  PetscCall(PetscTime(&now));
  if (!getrusage(RUSAGE_SELF, &usage)) peak = 1024.0 * usage.ru_maxrss;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &peak, 1, MPI_DOUBLE, MPI_MAX, sf->comm));
  /* every rank timed the same work: rank 0's clock for all */
  PetscCallMPI(MPI_Bcast(&now, 1, MPI_DOUBLE, 0, sf->comm));
  PetscCallMPI(MPI_Bcast(&start, 1, MPI_DOUBLE, 0, sf->comm));
  values[0]  = now - start;
  values[1]  = it;
  values[2]  = 0;
  values[3]  = (PetscReal)sf->evals;
  values[4]  = sf->evals > sf->evals0 ? (now - start) / (sf->evals - sf->evals0) : 0;
  values[5]  = 0;
  values[6]  = NAN; /* no flow, no energy balance */
  values[7]  = peak;
  values[8]  = 0;
  values[9]  = (PetscReal)sf->atoms;
  values[10] = (PetscReal)sf->certificates;
  values[11] = sf->s;
  PetscCall(PgfOutputSetGroupAttributes(out, "/stats", 12, names, values));
  PetscCall(PgfOutputSetAttributeString(out, "stop_reason", PgfStopReasons[stop]));
  PetscCall(PetscPrintf(sf->comm, "sfw stopped after %" PetscInt_FMT " iterations (%s): %" PetscInt_FMT " spikes\n", it, PgfStopReasons[stop], sf->s));
  PetscCall(PetscPrintf(sf->comm, "objective F = %.10e, duality gap %.3e\n", (double)sf->F, (double)sf->gap));
  PetscCall(PetscPrintf(sf->comm, "work: %" PetscInt64_FMT " evaluations of F and its gradient, %" PetscInt64_FMT " spike evaluations, %" PetscInt64_FMT " certificates, %.3g s\n", sf->evals, sf->atoms, sf->certificates, (double)values[0]));
  PetscFunctionReturn(0);
}

/* NULL unless -baseline sfw. SFW's options are read here, at set-up, so
   that a mistake is refused before the results file exists: -sfw_max_it,
   and TAO's (-sfw_tao_type, -sfw_tao_gatol, -sfw_tao_max_it, ...) through a
   TAO solver set from them once. */
PetscErrorCode PgfSfwCreate(PgfModel model, PgfSfw *sfw)
{
  Sfw        *sf;
  const char *type;
  char        value[16] = "";
  PetscBool   set, is;
  Tao         tao;

  PetscFunctionBegin;
  *sfw = NULL;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-baseline", value, sizeof(value), &set));
  PetscCall(PetscStrcmp(value, "sfw", &is));
  if (!set || !is) PetscFunctionReturn(0);
  PetscCall(PetscNew(&sf));
  sf->model = model;
  PetscCall(PgfModelGetComm(model, &sf->comm));
  PetscCall(PgfModelGetType(model, &type));
  PetscCall(PetscStrcmp(type, "deconv", &is));
  PgfCheckInput(sf->comm, is, "-baseline sfw needs -problem deconv (Sliding Frank-Wolfe solves the deconvolution problem over measures)");
  sf->max_it = 1000;
  PetscOptionsBegin(sf->comm, NULL, "Sliding Frank-Wolfe (-baseline sfw, deconv)", NULL);
  PetscCall(PgfOptionsInt(sf->comm, "-sfw_max_it", "Most SFW iterations (spike insertions)", sf->max_it, 0, PETSC_MAX_INT, &sf->max_it));
  PetscOptionsEnd();
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-stop_gap", &sf->stop_gap, NULL));
  PetscCall(TaoCreate(PETSC_COMM_SELF, &tao));
  PetscCall(TaoSetOptionsPrefix(tao, "sfw_"));
  PetscCall(TaoSetType(tao, TAOBQNLS));
  PetscCall(TaoSetTolerances(tao, 1e-11, 0, 0));
  PetscCall(TaoSetMaximumIterations(tao, 2000));
  PetscCall(TaoSetFromOptions(tao));
  PetscCall(TaoGetType(tao, &type));
  PetscCall(PetscStrncpy(sf->type, type, sizeof(sf->type)));
  PetscCall(TaoGetTolerances(tao, &sf->gatol, NULL, NULL));
  PetscCall(TaoGetMaximumIterations(tao, &sf->tao_max_it));
  PetscCall(TaoDestroy(&tao));
  /* the solves' settings define the iterates: a restart keeps them */
  PgfParamsModelScope(PETSC_TRUE);
  PetscCall(PgfParamsAdd("-sfw_tao_type", sf->type));
  PetscCall(PgfParamsAddReal("-sfw_tao_gatol", sf->gatol));
  PetscCall(PgfParamsAddInt("-sfw_tao_max_it", sf->tao_max_it));
  PgfParamsModelScope(PETSC_FALSE);
  PetscCall(PgfModelGetSizes(model, &sf->m, NULL, NULL, NULL));
  PetscCall(PgfModelGetOwnership(model, &sf->rstart, &sf->mloc));
  PetscCall(PgfDeconvGetProblem(model, &sf->q, &sf->K, &sf->lambda, &sf->y));
  PetscCall(PetscMalloc5(sf->m, &sf->a, sf->m * sf->q, &sf->x, sf->m, &sf->sgn, 6 * sf->K, &sf->h, sf->mloc * (1 + sf->q), &sf->w));
  sf->rho   = sf->h + 2 * sf->K;
  sf->phi   = sf->rho + 2 * sf->K;
  sf->theta = sf->w + sf->mloc;
  PetscCall(PgfModelCreateVec(model, &sf->U));
  PetscCall(PgfCheckpointCreate(model, "sfw", &sf->ckpt));
  PetscCall(PgfCheckpointAddInt(sf->ckpt, "iteration", &sf->it));
  PetscCall(PgfCheckpointAddInt(sf->ckpt, "spikes", &sf->s));
  PetscCall(PgfCheckpointAddInt64(sf->ckpt, "rhs_evals", &sf->evals));
  PetscCall(PgfCheckpointAddInt64(sf->ckpt, "spike_evals", &sf->atoms));
  PetscCall(PgfCheckpointAddInt64(sf->ckpt, "certificates", &sf->certificates));
  PetscCall(PgfCheckpointAddReal(sf->ckpt, "gnorm", PGF_STATE_NONNEGATIVE, &sf->gnorm));
  PetscCall(PgfCheckpointAddInt(sf->ckpt, "snapshots", &sf->nsnap0));
  PetscCall(PgfCheckpointAddInt(sf->ckpt, "history", &sf->nhist0));
  *sfw = sf;
  PetscFunctionReturn(0);
}

PetscErrorCode PgfSfwDestroy(PgfSfw *sfw)
{
  Sfw *sf = *sfw;

  PetscFunctionBegin;
  if (!sf) PetscFunctionReturn(0);
  PetscCall(PgfCheckpointDestroy(&sf->ckpt));
  PetscCall(VecDestroy(&sf->U));
  PetscCall(PetscFree5(sf->a, sf->x, sf->sgn, sf->h, sf->w));
  PetscCall(PetscFree(*sfw));
  PetscFunctionReturn(0);
}

/* Where checkpoints go (path) and how often (seconds of wall time; 0: on
   stop signals only). */
PetscErrorCode PgfSfwSetCheckpoint(PgfSfw sf, const char path[], PetscReal interval)
{
  PetscFunctionBegin;
  PetscCall(PetscStrncpy(sf->checkpoint, path, sizeof(sf->checkpoint)));
  sf->checkpoint_interval = interval;
  PetscFunctionReturn(0);
}

/* The run that the checkpoints belong to: its id and results file. */
PetscErrorCode PgfSfwSetOwner(PgfSfw sf, const char run_id[], const char output[])
{
  PetscFunctionBegin;
  PetscCall(PetscStrncpy(sf->run_id, run_id, sizeof(sf->run_id)));
  PetscCall(PetscStrncpy(sf->output, output, sizeof(sf->output)));
  PetscFunctionReturn(0);
}

/* Makes PgfSfwSolve continue from the checkpoint at path; gives the
   snapshots and history rows the results file held at that point, and the
   times (iterations) of the last of each. Every rank gets all spikes. */
PetscErrorCode PgfSfwRestart(PgfSfw sf, const char path[], PetscInt *nsnap, PetscReal *tsnap, PetscInt *nhist, PetscReal *t)
{
  PetscInt           dof = 1 + sf->q, zero = -1;
  VecScatter         scatter;
  Vec                all;
  const PetscScalar *u;

  PetscFunctionBegin;
  PetscCall(PgfCheckpointRead(sf->ckpt, path, sf->U));
  PgfCheckInput(sf->comm, sf->s <= sf->m, "-restart %s: /state/spikes is %" PetscInt_FMT ", more than the %" PetscInt_FMT " particles; the checkpoint is damaged", path, sf->s, sf->m);
  PetscCall(VecScatterCreateToAll(sf->U, &scatter, &all));
  PetscCall(VecScatterBegin(scatter, sf->U, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(scatter, sf->U, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(all, &u));
  for (PetscInt k = 0; k < sf->s; k++) {
    sf->a[k]   = u[k * dof];
    sf->sgn[k] = sf->a[k] > 0 ? 1 : -1;
    PetscCall(PetscArraycpy(&sf->x[k * sf->q], &u[k * dof + 1], sf->q));
    if (sf->a[k] == 0 && zero < 0) zero = k;
  }
  PetscCall(VecRestoreArrayRead(all, &u));
  PetscCall(VecScatterDestroy(&scatter));
  PetscCall(VecDestroy(&all));
  PgfCheckInput(sf->comm, zero < 0, "-restart %s: spike %" PetscInt_FMT " of the checkpoint has amplitude 0, which SFW drops; the checkpoint is damaged", path, zero);
  sf->restarted = PETSC_TRUE;
  *nsnap        = sf->nsnap0;
  *nhist        = sf->nhist0;
  *tsnap = *t = sf->it;
  PetscFunctionReturn(0);
}

/* The spikes and the counters after iterate it is recorded, with the
   results file's rows up to it. A checkpoint that cannot be written (its
   disk full, say) ends the run, which still closes its results file with
   /final: the failure is kept in checkpoint_failure and reported at the
   end. */
static PetscErrorCode WriteCheckpoint(Sfw *sf, PgfOutput out, PgfStopReason *stop)
{
  PetscScalar   *u;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(PGF_Checkpoint, 0, 0, 0, 0));
  PetscCall(PgfOutputGetCounts(out, &sf->nsnap0, &sf->nhist0));
  PetscCall(VecGetArray(sf->U, &u));
  Rows(sf, 1, u, 1 + sf->q, u + 1, 1 + sf->q);
  PetscCall(VecRestoreArray(sf->U, &u));
  ierr = PgfCheckpointWrite(sf->ckpt, sf->checkpoint, sf->U, sf->run_id, sf->output);
  if (ierr) {
    char *message;

    PetscCall(PetscErrorMessage(ierr, NULL, &message));
    PetscCall(PetscStrncpy(sf->checkpoint_failure, message ? message : "cannot write the checkpoint", sizeof(sf->checkpoint_failure)));
    if (!*stop) *stop = PGF_STOP_CHECKPOINT;
  }
  PetscCall(PetscLogEventEnd(PGF_Checkpoint, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Every -checkpoint_interval seconds, and on a signal to any rank, which
   then stops the run after its checkpoint. Collective. */
static PetscErrorCode CheckpointIfDue(Sfw *sf, PgfOutput out, PgfStopReason *stop)
{
  int due;

  PetscFunctionBegin;
  PetscCall(PgfCheckpointDue(sf->comm, sf->checkpoint_interval, &sf->last_checkpoint, &due));
  if (due == 2) *stop = PGF_STOP_SIGNAL;
  if (due) PetscCall(WriteCheckpoint(sf, out, stop));
  if (due == 2 && !sf->checkpoint_failure[0]) PetscCall(PetscPrintf(sf->comm, "pgflow: signal received: checkpoint written to %s at iteration %" PetscInt_FMT ", stopping\n", sf->checkpoint, sf->it));
  PetscFunctionReturn(0);
}

/* The iterate a restart continues from: its certificate again (counted
   before the checkpoint; the same bits), and its record in a new results
   file. */
static PetscErrorCode Resume(Sfw *sf, PgfOutput out)
{
  PetscInt64 atoms = sf->atoms, certificates = sf->certificates;
  PetscInt   nsnap, nhist;

  PetscFunctionBegin;
  PetscCall(Certify(sf));
  sf->atoms        = atoms;
  sf->certificates = certificates;
  PetscCall(PgfOutputGetCounts(out, &nsnap, &nhist));
  if (!nsnap) PetscCall(Record(sf, out));
  PetscFunctionReturn(0);
}

/* Runs SFW from the empty measure (or a checkpoint) to -stop_gap,
   -sfw_max_it or a signal, writing every iterate as a snapshot.
   Collective. */
PetscErrorCode PgfSfwSolve(PgfSfw sf, PgfOutput out, PgfExitStatus *status)
{
  PgfStopReason  stop   = PGF_STOP_RUNNING;
  PetscBool      resume = sf->restarted;
  PetscLogDouble start;

  PetscFunctionBegin;
  *status = PGF_EXIT_OK;
  PetscCall(PetscTime(&start));
  sf->last_checkpoint = start;
  sf->evals0          = sf->evals;
  for (;; sf->it++) {
    if (resume) {
      PetscCall(Resume(sf, out));
      resume = PETSC_FALSE;
    } else {
      PetscCall(Certify(sf));
      PetscCall(Record(sf, out));
    }
    PetscCall(CheckpointIfDue(sf, out, &stop));
    if (!stop && sf->gap < sf->stop_gap) stop = PGF_STOP_STOP_GAP;
    else if (!stop && sf->it >= sf->max_it) stop = PGF_STOP_MAX_STEPS;
    if (stop) break;
    /* a new spike where |g| > lambda, with the sign that lowers F */
    if (sf->gmax > sf->lambda && sf->s < sf->m) {
      PetscReal g, gg[2];

      PetscCall(PgfDeconvCorrelation(sf->model, sf->rho, sf->argmax, &g, gg));
      for (PetscInt a = 0; a < sf->q; a++) sf->x[sf->s * sf->q + a] = sf->argmax[a];
      sf->a[sf->s]     = 0;
      sf->sgn[sf->s++] = g > 0 ? -1 : 1;
      PetscCall(Solve(sf, PETSC_FALSE));
    } else if (sf->gmax > sf->lambda) PetscCall(PetscPrintf(sf->comm, "sfw: all %" PetscInt_FMT " particles hold spikes (-particles is the most spikes SFW may use); sliding without a new spike\n", sf->m));
    PetscCall(Solve(sf, PETSC_TRUE));
  }
  Pad(sf);
  PetscCall(Finish(sf, stop, start, out));
  if (stop == PGF_STOP_SIGNAL) *status = PGF_EXIT_SIGNAL;
  if (sf->checkpoint_failure[0]) {
    PetscCall(PetscFPrintf(sf->comm, PETSC_STDERR, "pgflow: error: no checkpoint written to %s (%s); the results file %s holds the run up to iteration %" PetscInt_FMT "\n", sf->checkpoint, sf->checkpoint_failure, sf->output, sf->it));
    *status = PGF_EXIT_FAILURE;
  }
  PetscFunctionReturn(0);
}
