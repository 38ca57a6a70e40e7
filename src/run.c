/* The application as bin/pgflow runs it: options, model, flow, results file.
   Every input is checked before the results file is created; the results
   file is locked for the run's lifetime, and no input file is ever
   overwritten. */
#include "pgfimpl.h"
#include "options.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* OpenBLAS 0.3.21 does not recognise recent processors and falls back to a
   generic kernel several times slower (README, BLAS). */
static PetscErrorCode WarnGenericBlas(MPI_Comm comm, const char *core)
{
  PetscFunctionBegin;
#if defined(__x86_64__) || defined(__i386__)
  {
    PetscBool generic;

    PetscCall(PetscStrcasecmp(core, "Prescott", &generic));
    if (generic && __builtin_cpu_supports("avx2") && !getenv("OPENBLAS_CORETYPE"))
      PetscCall(PetscPrintf(comm, "pgflow: warning: OpenBLAS uses its generic kernel (%s) on a processor with %s; set OPENBLAS_CORETYPE=%s for a several times faster run\n", core, __builtin_cpu_supports("avx512f") ? "AVX-512" : "AVX2", __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell"));
  }
#endif
  PetscFunctionReturn(0);
}

/* Where the run ran: the distinct processor (node) names in rank order of
   first appearance, comma-separated, and the ranks on each. Gathered on every
   rank, since attribute writes need the same values everywhere. */
static PetscErrorCode WriteNodes(MPI_Comm comm, PgfOutput out)
{
  char        name[MPI_MAX_PROCESSOR_NAME] = "", *all, *names, *counts;
  PetscMPIInt size, len, *first, *on;
  PetscInt    nodes = 0;
  size_t      cap;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Get_processor_name(name, &len));
  cap = (size_t)size * MPI_MAX_PROCESSOR_NAME;
  PetscCall(PetscMalloc4(cap, &all, cap, &names, cap, &counts, 2 * size, &first));
  on = first + size;
  PetscCallMPI(MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, comm));
  names[0] = counts[0] = 0;
  for (PetscMPIInt r = 0; r < size; r++) {
    PetscInt k = 0;

    while (k < nodes && strcmp(all + (size_t)first[k] * MPI_MAX_PROCESSOR_NAME, all + (size_t)r * MPI_MAX_PROCESSOR_NAME)) k++;
    if (k == nodes) {
      first[nodes] = r;
      on[nodes++]  = 0;
    }
    on[k]++;
  }
  for (PetscInt k = 0; k < nodes; k++) {
    char num[16];

    PetscCall(PetscSNPrintf(num, sizeof(num), "%s%d", k ? "," : "", on[k]));
    PetscCall(PetscStrlcat(counts, num, cap));
    if (k) PetscCall(PetscStrlcat(names, ",", cap));
    PetscCall(PetscStrlcat(names, all + (size_t)first[k] * MPI_MAX_PROCESSOR_NAME, cap));
  }
  PetscCall(PgfOutputSetAttributeInt(out, "nodes", nodes));
  PetscCall(PgfOutputSetAttributeString(out, "node_names", names));
  PetscCall(PgfOutputSetAttributeString(out, "ranks_per_node", counts));
  PetscCall(PetscFree4(all, names, counts, first));
  PetscFunctionReturn(0);
}

/* Root attributes of the results file (README, Results file); completed
   stays 0 until the run ends well. */
static PetscErrorCode WriteAttributes(PgfModel model, const char run_id[], PgfOutput out)
{
  PetscMPIInt size;
  PetscInt    m;
  PetscInt64  seed;
  char       *options;
  const char *type;
  MPI_Comm    comm;

  PetscFunctionBegin;
  PetscCall(PgfModelGetComm(model, &comm));
  PetscCall(PgfModelGetType(model, &type));
  PetscCall(PgfModelGetSeed(model, &seed));
  PetscCall(WriteNodes(comm, out));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PgfModelGetSizes(model, &m, NULL, NULL, NULL));
  PetscCall(PetscOptionsGetAll(NULL, &options));
  PetscCall(PgfOutputSetAttributeString(out, "problem", type));
  PetscCall(PgfOutputSetAttributeInt(out, "particles", m));
  PetscCall(PgfOutputSetAttributeInt(out, "ranks", size));
  PetscCall(PgfOutputSetAttributeInt(out, "seed", seed));
  PetscCall(PgfOutputSetAttributeString(out, "version", PGFLOW_VERSION));
  PetscCall(PgfOutputSetAttributeString(out, "run_id", run_id));
  PetscCall(PgfOutputSetAttributeString(out, "options", options));
  PetscCall(PgfOutputSetAttributeInt(out, "completed", 0));
  PetscCall(PgfOutputSetAttributeString(out, "stop_reason", PgfStopReasons[PGF_STOP_RUNNING]));
  PetscCall(PetscFree(options));
  PetscCall(PgfOutputWriteParameters(out, PETSC_FALSE));
  PetscFunctionReturn(0);
}

/* The directory part of path ("." when it has none), allocated. */
static PetscErrorCode DirectoryOf(const char path[], char **dir)
{
  char *slash;

  PetscFunctionBegin;
  PetscCall(PetscStrallocpy(path, dir));
  slash = strrchr(*dir, '/');
  if (slash) slash[slash == *dir] = 0;
  else {
    PetscCall(PetscFree(*dir));
    PetscCall(PetscStrallocpy(".", dir));
  }
  PetscFunctionReturn(0);
}

/* A checkpoint is written late (at a signal, say): the directory of one not
   beside the results file is checked now, before the run. */
static PetscErrorCode CheckDirectory(MPI_Comm comm, const char option[], const char path[])
{
  char       *dir;
  PetscMPIInt rank;
  int         ok = 0;

  PetscFunctionBegin;
  PetscCall(DirectoryOf(path, &dir));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) ok = !access(dir, W_OK | X_OK);
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  PgfCheckInput(comm, ok, "%s %s: the directory %s must exist and be writable", option, path, dir);
  PetscCall(PetscFree(dir));
  PetscFunctionReturn(0);
}

/* Whether two paths name the same file: the same inode when both exist,
   else the same canonical directory and name (a file about to be
   created). Rank 0's view. */
static PetscBool SameFile(const char a[], const char b[])
{
  struct stat sa, sb;
  char       *da, *db, ra[PATH_MAX], rb[PATH_MAX];
  const char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
  PetscBool   same;

  if (!stat(a, &sa) && !stat(b, &sb)) return (PetscBool)(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
  if (DirectoryOf(a, &da) || DirectoryOf(b, &db)) return PETSC_FALSE;
  same = (PetscBool)(realpath(da, ra) && realpath(db, rb) && !strcmp(ra, rb) && !strcmp(na ? na + 1 : a, nb ? nb + 1 : b));
  PetscFree(da);
  PetscFree(db);
  return same;
}

/* Refuses an output that would overwrite an input. */
static PetscErrorCode CheckNotSame(MPI_Comm comm, const char out_option[], const char out[], const char in_option[], const char in[])
{
  PetscMPIInt rank;
  int         same = 0;

  PetscFunctionBegin;
  if (!in[0]) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) same = SameFile(out, in);
  PetscCallMPI(MPI_Bcast(&same, 1, MPI_INT, 0, comm));
  PgfCheckInput(comm, !same, "%s %s is the %s file: pgflow never overwrites an input; choose another %s", out_option, out, in_option, out_option);
  PetscFunctionReturn(0);
}

/* Rank 0 holds an exclusive lock on path (created when missing) for the
   whole run, so that a second run writing the same file is refused instead
   of both corrupting it; the kernel releases the lock when the process
   ends, crash included. A lock file removed by its holder at the end may be
   locked here just before: locking is retried until the file locked is the
   one at path. File systems without flock (some parallel ones) only warn. */
static PetscErrorCode Lock(MPI_Comm comm, const char option[], const char given[], const char path[], int *fd, PetscBool *created)
{
  PetscMPIInt rank;
  int         err[2] = {0, 0}; /* what failed: 1 open, 2 locked, 3 no flock; errno */

  PetscFunctionBegin;
  *fd = -1;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  while (!rank) {
    struct stat held, named;

    *fd      = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    *created = (PetscBool)(*fd >= 0);
    if (*fd < 0 && errno == EEXIST) *fd = open(path, O_RDWR | O_CLOEXEC);
    if (*fd < 0) err[0] = 1, err[1] = errno;
    else if (flock(*fd, LOCK_EX | LOCK_NB)) {
      err[1] = errno;
      err[0] = errno == EWOULDBLOCK ? 2 : 3;
    } else if (!fstat(*fd, &held) && (stat(path, &named) || held.st_ino != named.st_ino || held.st_dev != named.st_dev)) {
      close(*fd);
      continue;
    }
    break;
  }
  PetscCallMPI(MPI_Bcast(err, 2, MPI_INT, 0, comm));
  PgfCheckInput(comm, err[0] != 1, "%s %s: cannot create %s (%s)", option, given, path, strerror(err[1]));
  PgfCheckInput(comm, err[0] != 2, "%s %s: another pgflow run is writing %s (%s is locked); wait for it to end or choose another %s", option, given, given, path, option);
  if (err[0] == 3) PetscCall(PetscPrintf(comm, "pgflow: warning: cannot lock %s (%s): this file system does not protect it from a second run writing it\n", path, strerror(err[1])));
  PetscFunctionReturn(0);
}

/* The checkpoint is replaced by renaming a new file onto it: its lock is
   on CHECKPOINT.lock, which the run removes when it ends. */
static PetscErrorCode LockCheckpoint(MPI_Comm comm, const char checkpoint[], char **lockpath, int *fd)
{
  size_t len = strlen(checkpoint) + sizeof(".lock");

  PetscBool created;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(len, lockpath));
  PetscCall(PetscSNPrintf(*lockpath, len, "%s.lock", checkpoint));
  PetscCall(Lock(comm, "-checkpoint", checkpoint, *lockpath, fd, &created));
  PetscFunctionReturn(0);
}

static void Unlock(int fd, const char removable[])
{
  if (fd < 0) return;
  if (removable) unlink(removable);
  close(fd);
}

/* A new run's id: 128 random bits as hexadecimal digits, the same on every
   rank. */
static PetscErrorCode NewRunId(MPI_Comm comm, char id[PGF_RUN_ID_LEN])
{
  unsigned char bytes[(PGF_RUN_ID_LEN - 1) / 2];
  PetscMPIInt   rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) {
    if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) {
      /* no entropy source: the clock and the process */
      struct timespec now;
      unsigned long   mix;

      clock_gettime(CLOCK_REALTIME, &now);
      mix = (unsigned long)now.tv_sec * 1000003u ^ (unsigned long)now.tv_nsec ^ ((unsigned long)getpid() << 20);
      for (size_t k = 0; k < sizeof(bytes); k++, mix = mix * 6364136223846793005ul + 1442695040888963407ul) bytes[k] = (unsigned char)(mix >> 33);
    }
    for (size_t k = 0; k < sizeof(bytes); k++) snprintf(id + 2 * k, 3, "%02x", bytes[k]);
  }
  PetscCallMPI(MPI_Bcast(id, PGF_RUN_ID_LEN, MPI_CHAR, 0, comm));
  PetscFunctionReturn(0);
}

/* The run a restart continues: the checkpoint's own, whose results file
   -output must be (a checkpoint another run overwrote, or a results file
   of another run, would mix two runs silently), unless the user asked for
   a new results file (-new_output), which starts a new run. Checkpoints
   written before run ids existed continue as before. */
static PetscErrorCode ContinuedRun(MPI_Comm comm, const char restart[], const char output[], PetscBool new_output, char run_id[PGF_RUN_ID_LEN])
{
  char      owner[PETSC_MAX_PATH_LEN], theirs[PGF_RUN_ID_LEN];
  PetscBool versioned, found;

  PetscFunctionBegin;
  PetscCall(PgfReadAttributeStringIfAny(comm, restart, "run_id", run_id, PGF_RUN_ID_LEN, &versioned));
  if (new_output || !versioned) {
    PetscCall(NewRunId(comm, run_id));
    PetscFunctionReturn(0);
  }
  PetscCall(PgfReadAttributeStringIfAny(comm, restart, "output", owner, sizeof(owner), &found));
  PetscCall(PgfReadAttributeStringIfAny(comm, output, "run_id", theirs, sizeof(theirs), &found));
  PgfCheckInput(comm, found && !strcmp(theirs, run_id), "-restart %s: this checkpoint belongs to the results file %s, and -output %s %s; continue that file with -output %s, or add -new_output to start a new results file from the checkpoint", restart, owner, output, found ? "holds another run's results" : "does not hold its results", owner);
  PetscFunctionReturn(0);
}

/* The results file: on a restart, the interrupted run's file if it still
   holds that run's results up to the checkpoint, else a new one. */
static PetscErrorCode OpenResults(PgfModel model, const char path[], PetscBool restarted, const PetscInt counts[2], const PetscReal times[2], PgfOutput *out, PetscBool *created)
{
  MPI_Comm    comm;
  const char *type;
  PetscInt    m;

  PetscFunctionBegin;
  PetscCall(PgfModelGetComm(model, &comm));
  PetscCall(PgfModelGetType(model, &type));
  PetscCall(PgfModelGetSizes(model, &m, NULL, NULL, NULL));
  *out = NULL;
  if (restarted) PetscCall(PgfOutputOpen(comm, path, type, m, counts[0], times[0], counts[1], times[1], out));
  *created = (PetscBool) !*out;
  if (*created) PetscCall(PgfOutputCreate(comm, "-output", path, out));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfRun(MPI_Comm comm, PgfExitStatus *status)
{
  PgfModel       model;
  PgfFlow        flow;
  PgfSfw         sfw;
  PgfOutput      out;
  PetscInt       counts[2], m;
  PetscMPIInt    size;
  PetscReal      interval, times[2];
  char           problem[64] = "twolayer", path[PETSC_MAX_PATH_LEN], own[PETSC_MAX_PATH_LEN], restart[PETSC_MAX_PATH_LEN], data[PETSC_MAX_PATH_LEN], *checkpoint, *ckptlock = NULL;
  char           run_id[PGF_RUN_ID_LEN];
  const char    *core, *type;
  PetscBool      help, created, set, new_output, outcreated = PETSC_FALSE;
  int            lock, ckptfd;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *status = PGF_EXIT_OK;
  PetscCall(PgfSetInputPhase(PETSC_TRUE));
  PetscOptionsBegin(comm, NULL, "pgflow: particle gradient flows (see README.md)", NULL);
  PetscCall(PgfModelRegisterAll());
  PetscCall(PetscOptionsFList("-problem", "Problem", "PgfModelRegister", PgfModelList, problem, problem, sizeof(problem), NULL));
  PetscCall(PgfParamsAdd("-problem", problem));
  PetscCall(PgfOptionsString(comm, "-output", "Results file (HDF5)", "pgflow.h5", path, sizeof(path)));
  PetscCall(PgfOptionsString(comm, "-checkpoint", "Checkpoint file (HDF5), written on SIGTERM, SIGINT, SIGUSR1 and every -checkpoint_interval (default: -output with .h5 replaced by .ckpt.h5)", "", own, sizeof(own)));
  PetscCall(PgfOptionsReal(comm, "-checkpoint_interval", "Seconds of wall time between checkpoints (0: on signals only)", 0, 0, PETSC_MAX_REAL, &interval));
  PetscCall(PgfOptionsString(comm, "-restart", "Continue from this checkpoint file", "", restart, sizeof(restart)));
  PetscCall(PgfOptionsBool(comm, "-new_output", "With -restart: a new results file at -output from the checkpoint on (else -output must be the checkpoint's own)", PETSC_FALSE, &new_output));
  PetscOptionsEnd();
  PgfCheckInput(comm, !new_output || restart[0], "-new_output applies to -restart only (a run without -restart always starts a new results file)");
  if (own[0]) PetscCall(PetscStrallocpy(own, &checkpoint));
  else {
    size_t len = strlen(path), stem = len > 3 && !strcmp(path + len - 3, ".h5") ? len - 3 : len;

    PetscCall(PetscMalloc1(stem + sizeof(".ckpt.h5"), &checkpoint));
    PetscCall(PetscMemcpy(checkpoint, path, stem));
    PetscCall(PetscStrcpy(checkpoint + stem, ".ckpt.h5"));
  }
  PetscCall(PgfModelCreate(comm, problem, &model));
  PetscCall(PgfModelSetFromOptions(model));
  PetscCall(PgfFlowCreate(model, &flow));
  PetscCall(PgfFlowSetFromOptions(flow));
  PetscCall(PgfFlowSetCheckpoint(flow, checkpoint, interval));
  PetscCall(PgfSfwCreate(model, &sfw));
  if (sfw) PetscCall(PgfSfwSetCheckpoint(sfw, checkpoint, interval));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(PgfSfwDestroy(&sfw));
    PetscCall(PgfFlowDestroy(&flow));
    PetscCall(PgfModelDestroy(&model));
    PetscCall(PetscFree(checkpoint));
    PetscCall(PgfParamsDestroy());
    PetscFunctionReturn(0);
  }
  PetscCall(PgfModelGetType(model, &type));
  PetscCall(PgfParamsCheckUnused(comm, type));
  /* no output may overwrite an input */
  PetscCall(PetscOptionsGetString(NULL, NULL, "-data", data, sizeof(data), &set));
  if (!set) data[0] = 0;
  PetscCall(CheckNotSame(comm, "-output", path, "-data", data));
  PetscCall(CheckNotSame(comm, "-output", path, "-restart", restart));
  PetscCall(CheckNotSame(comm, "-checkpoint", checkpoint, "-output", path));
  PetscCall(CheckNotSame(comm, "-checkpoint", checkpoint, "-data", data));
  PetscCall(CheckDirectory(comm, "-output", path));
  if (own[0]) PetscCall(CheckDirectory(comm, "-checkpoint", checkpoint));
  if (restart[0]) {
    PetscCall(sfw ? PgfSfwRestart(sfw, restart, &counts[0], &times[0], &counts[1], &times[1]) : PgfFlowRestart(flow, restart, &counts[0], &times[0], &counts[1], &times[1]));
    PetscCall(ContinuedRun(comm, restart, path, new_output, run_id));
  } else PetscCall(NewRunId(comm, run_id));
  PetscCall(PgfFlowSetOwner(flow, run_id, path));
  if (sfw) PetscCall(PgfSfwSetOwner(sfw, run_id, path));
  PetscCall(PgfFlowSetUp(flow));
  /* a run refused for its checkpoint leaves no results file it created */
  PetscCall(Lock(comm, "-output", path, path, &lock, &outcreated));
  ierr = LockCheckpoint(comm, checkpoint, &ckptlock, &ckptfd);
  if (ierr) Unlock(lock, outcreated ? path : NULL);
  PetscCall(ierr);
  PetscCall(OpenResults(model, path, (PetscBool)(restart[0] && !new_output), counts, times, &out, &created));
  if (restart[0] && !created) PetscCall(PetscPrintf(comm, "pgflow: continuing from %s; results appended to %s\n", restart, path));
  else if (new_output) PetscCall(PetscPrintf(comm, "pgflow: continuing from %s; a new results file, %s, holds the run from the restart on\n", restart, path));
  else if (restart[0]) PetscCall(PetscPrintf(comm, "pgflow: continuing from %s; %s does not hold the results up to it: a new results file holds them from the restart on\n", restart, path));
  PetscCall(PgfSetInputPhase(PETSC_FALSE));
  PetscCall(WriteAttributes(model, run_id, out));
  if (created) PetscCall(PgfModelWriteProblem(model, out));

  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PgfBlasCoreName(&core));
  PetscCall(PgfModelGetSizes(model, &m, NULL, NULL, NULL));
  PetscCall(PetscPrintf(comm, "pgflow %s: %s with %" PetscInt_FMT " particles on %d rank%s (BLAS kernel %s), results in %s\n", PGFLOW_VERSION, type, m, size, size > 1 ? "s" : "", core, path));
  PetscCall(WarnGenericBlas(comm, core));
  PetscCall(sfw ? PgfSfwSolve(sfw, out, status) : PgfFlowSolve(flow, out, status));
  PetscCall(PgfOutputSetAttributeInt(out, "completed", *status == PGF_EXIT_OK));
  PetscCall(PgfOutputDestroy(&out));
  Unlock(lock, NULL);
  Unlock(ckptfd, ckptlock);
  PetscCall(PetscFree(ckptlock));
  PetscCall(PetscPrintf(comm, "results written to %s\n", path));
  PetscCall(PgfSfwDestroy(&sfw));
  PetscCall(PgfFlowDestroy(&flow));
  PetscCall(PgfModelDestroy(&model));
  PetscCall(PetscFree(checkpoint));
  PetscCall(PgfParamsDestroy());
  PetscFunctionReturn(0);
}
