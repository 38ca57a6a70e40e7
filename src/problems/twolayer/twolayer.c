/* -problem twolayer (doc/math.md sections 3 and 3b): a two-layer network
   trained on n samples (samples.c) or on the population loss, the expected
   loss over Gaussian inputs in closed form (population.c). -population picks
   the evaluator, as a PETSc object's type is picked from the command line;
   the options the two share are read here, once each, in the -help block of
   the evaluator picked. */
#include "twolayerimpl.h"
#include "options.h"

/* The population loss has no samples (population.c refuses -samples, -data
   and -batch_size), no bias (-bias defaults to false), and its -init_scale
   default for erf is 1/sqrt(d). */
static PetscErrorCode ReadOptions(PgfModel model, PetscBool population, TwoLayerOptions *o)
{
  MPI_Comm comm = model->comm;
  PetscInt act = ACT_RELU, loss = LOSS_SQUARE, reg = REG_NONE, input = INPUT_GAUSSIAN;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->d            = 2;
  o->n            = 1000;
  o->bias         = (PetscBool)!population;
  o->m0           = 3;
  o->teacher_norm = 1;
  PetscOptionsBegin(comm, NULL, population ? "Two-layer network on the population loss (-problem twolayer -population true)" : "Two-layer network (-problem twolayer)", NULL);
  PetscCall(PgfOptionsInt(comm, "-dim", "Input dimension d", o->d, 1, PETSC_MAX_INT, &o->d));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-dim", &o->dimset));
  PetscCall(PgfOptionsBool(comm, "-bias", population ? "Append a constant 1 to the inputs (not with -population true)" : "Append a constant 1 to the inputs (p = d + 1)", o->bias, &o->bias));
  if (!population) {
    PetscCall(PgfOptionsInt(comm, "-samples", "Number of samples n", o->n, 1, PETSC_MAX_INT, &o->n));
    PetscCall(PetscOptionsHasName(NULL, NULL, "-samples", &o->samplesset));
  }
  PetscCall(PgfOptionsEList(comm, "-input", "Distribution of the inputs", inputs, 2, input, &input));
  PetscCall(PgfOptionsInt(comm, "-teacher_neurons", "Teacher neurons m0", o->m0, 1, PETSC_MAX_INT, &o->m0));
  PetscCall(PgfOptionsReal(comm, "-teacher_norm", "Norm of the teacher's positions", o->teacher_norm, PETSC_SMALL, PETSC_MAX_REAL, &o->teacher_norm));
  PetscCall(PgfOptionsReal(comm, "-noise", "Standard deviation of the label noise", 0, 0, PETSC_MAX_REAL, &o->noise));
  PetscCall(PgfOptionsEList(comm, "-activation", population ? "Activation s" : "Activation s (erf: erf(z/sqrt 2))", activations, 4, act, &act));
  PetscCall(PgfOptionsEList(comm, "-loss", "Loss l", losses, 2, loss, &loss));
  PetscCall(PgfOptionsEList(comm, "-reg", "Regularizer V", regularizers, 3, reg, &reg));
  PetscCall(PgfOptionsReal(comm, "-lambda", "Regularization strength", 0, 0, PETSC_MAX_REAL, &o->lambda));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-lambda", &o->lambdaset));
  PetscCall(PgfOptionsReal(comm, "-init_scale", population ? "Initial radius r0 (default 0.1 for relu, 1/sqrt(d) for erf)" : "Initial radius r0 (default 0.1 for relu, 1/sqrt(p) otherwise)", 0.1, PETSC_SMALL, PETSC_MAX_REAL, &o->init_scale));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-init_scale", &o->scaleset));
  if (!population) {
    PetscCall(PgfOptionsString(comm, "-data", "Read /X (n x d) and /y (n) from this HDF5 file instead of a teacher", "", o->datafile, sizeof(o->datafile)));
    PetscCall(PgfOptionsInt(comm, "-batch_size", "Mini-batch SGD: each step's velocity from B samples drawn from (seed, step), with -ts_type euler (0: all n, the flow)", o->batch, 0, PETSC_MAX_INT, &o->batch));
  }
  PetscOptionsEnd();
  o->act   = (Activation)act;
  o->loss  = (Loss)loss;
  o->reg   = (Regularizer)reg;
  o->input = (Inputs)input;
  PetscFunctionReturn(0);
}

static PetscErrorCode TwoLayerSetFromOptions(PgfModel model)
{
  TwoLayerOptions opt;
  PetscBool       population = PETSC_FALSE;

  PetscFunctionBegin;
  PetscOptionsBegin(model->comm, NULL, "Two-layer network: samples or the population loss (-problem twolayer)", NULL);
  PetscCall(PgfOptionsBool(model->comm, "-population", "The expected loss over Gaussian inputs in closed form instead of a sample (no bias, square loss, relu or erf)", population, &population));
  PetscOptionsEnd();
  PetscCall(ReadOptions(model, population, &opt));
  /* relu is 2-homogeneous in u = (w, theta): radius |u|, direction u/|u| */
  model->radial    = opt.act == ACT_RELU && opt.reg != REG_L1 ? PGF_RADIAL_NORM : PGF_RADIAL_NONE;
  model->radialwhy = opt.act != ACT_RELU ? "sigmoid, tanh and erf networks are 1-homogeneous in the weight alone (use -activation relu)" : "the soft-threshold step of -reg l1 is Euclidean (use -reg l2 or none)";
  if (population) PetscCall(PgfTwoLayerCreate_Population(model, &opt));
  else PetscCall(PgfTwoLayerCreate_Samples(model, &opt));
  PetscFunctionReturn(0);
}

/* The evaluator's operations are filled in by setfromoptions, which knows
   -population; the samples' -sample_groups are checked before it. */
PetscErrorCode PgfModelCreate_TwoLayer(PgfModel model)
{
  PetscFunctionBegin;
  model->samplegroups       = PETSC_TRUE;
  model->ops.setfromoptions = TwoLayerSetFromOptions;
  PetscFunctionReturn(0);
}
