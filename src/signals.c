/* Signals. Every catchable signal that would end the process (SIGTERM,
   SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU: what SLURM,
   mpiexec, a closed terminal and a CPU-time limit send) only raises a flag,
   from the very start of the process: the run checks it at points where
   every rank can write a checkpoint and the results file together
   (PgfSignalAgreed), then exits with status 4. SIGPIPE is ignored and a
   write to a closed standard output (`| head`, a dead tee) counts as that
   signal: the output goes to /dev/null from then on, so the run reaches its
   checkpoint. A crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) prints one
   line and exits with status 1; with -pgf_debug the libraries' own handlers
   (and their traces) are left in place. */
#include "pgfimpl.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t received;
static const int             stops[]   = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU};
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

/* A reader of standard output that went away: the stop a SIGPIPE would
   have been, and nothing more written there (PETSc 3.19 and later fail on
   an fflush error). */
static void OutputClosed(FILE *fd)
{
  int null = open("/dev/null", O_WRONLY);

  received = SIGPIPE;
  clearerr(fd);
  if (null >= 0) {
    dup2(null, fileno(fd));
    close(null);
  }
}

/* PETSc prints everything through this pointer: its formatting, then a
   write whose failure on a closed pipe stops the run instead of failing it. */
static PetscErrorCode VFPrintf(FILE *fd, const char format[], va_list ap)
{
  char    buf[8192], *text = buf;
  size_t  len;
  va_list copy;
  int     bad;

  va_copy(copy, ap);
  PetscCall(PetscVSNPrintf(buf, sizeof(buf), format, &len, ap));
  if (len > sizeof(buf)) {
    PetscCall(PetscMalloc1(len, &text));
    PetscCall(PetscVSNPrintf(text, len, format, &len, copy));
  }
  va_end(copy);
  bad = fputs(text, fd) < 0;
  bad = fflush(fd) || bad;
  if (bad && errno == EPIPE) OutputClosed(fd);
  if (text != buf) PetscCall(PetscFree(text));
  return 0;
}

/* Called first thing in main(), and again after MPI and PETSc have started
   (either may install handlers of its own). */
void PgfSignalsCatch(PetscBool debug)
{
  for (size_t k = 0; k < sizeof(stops) / sizeof(stops[0]); k++) Install(stops[k], Stop);
  signal(SIGPIPE, SIG_IGN);
  PetscVFPrintf = VFPrintf;
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
