/* The Wasserstein gradient flow of the 2018 paper, u' = -v(u) (doc/math.md
   section 2.1): the metric is Euclidean, so the problem's velocity is the
   particle's and D = (1/m) sum |v|^2. Every operation is left empty: the
   flow then uses v as it is, bit for bit as before dynamics existed. */
#include "../dynamicsimpl.h"

PetscErrorCode PgfDynamicsCreate_Wasserstein(PgfDynamics dyn)
{
  PetscFunctionBegin;
  PetscFunctionReturn(0);
}
