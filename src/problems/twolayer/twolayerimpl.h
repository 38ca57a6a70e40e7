/* The two-layer family's private header (doc/math.md sections 3 and 3b),
   included by its three files only:
     twolayer.c    -problem twolayer: reads -population and the family's
                   options, once each, and hands the model to an evaluator;
     samples.c     the loss over n samples (a teacher's, or -data);
     population.c  the expected loss over Gaussian inputs (-population true).
   What the two evaluators share is here: the activations, losses,
   regularizers and inputs with their names, the options, the teacher and
   the initial particles, so that the two start from the same bits. */
#pragma once

#include "modelimpl.h"

typedef enum { ACT_RELU,
  ACT_SIGMOID,
  ACT_TANH,
  ACT_ERF } Activation;
typedef enum { LOSS_SQUARE,
  LOSS_LOGISTIC } Loss;
typedef enum { REG_NONE,
  REG_L2,
  REG_L1 } Regularizer;
typedef enum { INPUT_GAUSSIAN,
  INPUT_SPHERE } Inputs;
static const char *const activations[]  = {"relu", "sigmoid", "tanh", "erf"};
static const char *const losses[]       = {"square", "logistic"};
static const char *const regularizers[] = {"none", "l2", "l1"};
static const char *const inputs[]       = {"gaussian", "sphere"};

/* The options as the user gave them (or their defaults); the evaluators
   check what they cannot do. n, batch and datafile are the samples' only. */
typedef struct {
  PetscInt    d, n, m0, batch;
  PetscBool   bias;
  Activation  act;
  Loss        loss;
  Regularizer reg;
  Inputs      input;
  PetscReal   lambda, noise, teacher_norm, init_scale;
  PetscBool   dimset, samplesset, lambdaset, scaleset; /* given on the command line */
  char        datafile[PETSC_MAX_PATH_LEN];
} TwoLayerOptions;

/* The evaluators: each fills the model's operations and builds its data
   from the options (collective). */
PETSC_INTERN PetscErrorCode PgfTwoLayerCreate_Samples(PgfModel, const TwoLayerOptions *);
PETSC_INTERN PetscErrorCode PgfTwoLayerCreate_Population(PgfModel, const TwoLayerOptions *);

/* The teacher: m0 weights +-1, positions on the sphere of radius norm in R^p. */
static inline void TwoLayerTeacher(PetscInt64 seed, PetscInt m0, PetscInt p, PetscReal norm, PetscReal w[], PetscReal theta[])
{
  for (PetscInt k = 0; k < m0; k++) {
    w[k] = k % 2 ? -1 : 1;
    PgfRandSphere(seed, PGF_STREAM_TEACHER, k, p, norm, &theta[k * p]);
  }
}

/* The local particles' initial values, particle gi = rstart + i.
   Homogeneous (relu, 2-homogeneous in u): u_i uniform on the sphere of
   radius r0 in R^(1+p); otherwise (1-homogeneous in w only): w_i = 0,
   theta_i ~ N(0, r0^2 I_p) (doc/math.md section 3). */
static inline void TwoLayerInitialParticles(PgfModel model, const TwoLayerOptions *opt, PetscScalar *u)
{
  PetscInt p = model->npos;

  for (PetscInt i = 0; i < model->mloc; i++) {
    PetscScalar *ui = &u[i * model->dof];
    PetscInt64   gi = model->rstart + i;

    if (opt->act == ACT_RELU) PgfRandSphere(model->seed, PGF_STREAM_PARTICLES, gi, 1 + p, opt->init_scale, ui);
    else {
      ui[0] = 0;
      for (PetscInt k = 0; k < p; k++) ui[1 + k] = opt->init_scale * PgfRandNormal(model->seed, PGF_STREAM_PARTICLES, gi, k);
    }
  }
}
