/* Signals. SIGTERM, SIGINT and SIGUSR1 (what SLURM and mpiexec send before
   a time limit or a preemption) only raise a flag, from the very start of
   the process: the run checks it at points where every rank can write a
   checkpoint and the results file together (PgfSignalAgreed), then exits
   with status 4. A crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) prints
   one line and exits with status 1; with -pgf_debug the libraries' own
   handlers (and their traces) are left in place. */
#include "pgfimpl.h"
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t received;
static const int             stops[]   = {SIGTERM, SIGINT, SIGUSR1};
static const int             crashes[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static void Stop(int sig) { received = sig; }

/* Only async-signal-safe calls here. */
static void Crash(int sig)
{
  const char *name = sig == SIGSEGV ? "SIGSEGV (invalid memory access)" : sig == SIGBUS ? "SIGBUS"
                                                                      : sig == SIGFPE   ? "SIGFPE"
                                                                      : sig == SIGILL   ? "SIGILL"
                                                                                        : "SIGABRT (aborted by a library)";
  const char *pre = "pgflow: internal error: caught ", *post = "; rerun with -pgf_debug for a trace\n";

  if (write(STDERR_FILENO, pre, strlen(pre)) < 0 || write(STDERR_FILENO, name, strlen(name)) < 0 || write(STDERR_FILENO, post, strlen(post)) < 0) _exit(PGF_EXIT_FAILURE);
  _exit(PGF_EXIT_FAILURE);
}

static void Install(int sig, void (*handler)(int))
{
  struct sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, NULL);
}

/* Called first thing in main(), and again after MPI and PETSc have started
   (either may install handlers of its own). */
void PgfSignalsCatch(PetscBool debug)
{
  for (size_t k = 0; k < sizeof(stops) / sizeof(stops[0]); k++) Install(stops[k], Stop);
  if (!debug)
    for (size_t k = 0; k < sizeof(crashes) / sizeof(crashes[0]); k++) Install(crashes[k], Crash);
}

PetscBool PgfSignalReceived(void)
{
  return (PetscBool)(received != 0);
}

/* Whether any rank has received a stop signal: collective, so that all
   ranks stop together. */
PetscErrorCode PgfSignalAgreed(MPI_Comm comm, PetscBool *any)
{
  int flag = received != 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, comm));
  *any = (PetscBool)flag;
  PetscFunctionReturn(0);
}
