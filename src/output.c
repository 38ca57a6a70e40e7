/* The HDF5 results file (doc/results-file.md), written in parallel:
   every particle array is one collective hyperslab write in which each rank
   writes its own block of rows, so the file is in global particle order for
   any number of ranks. Snapshots and history grow along their first axis. */
#include "pgfimpl.h"
#include <errno.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#define PgfCallH5(comm, expr)                                                                     \
  do {                                                                                            \
    if (PetscUnlikely((expr) < 0)) SETERRQ((comm), PETSC_ERR_LIB, "HDF5 call failed: %s", #expr); \
  } while (0)

/* A failed write names the file: a full disk is the usual cause. */
#define PgfCallOut(o, expr)                                                                                                                                                                                     \
  do {                                                                                                                                                                                                          \
    if (PetscUnlikely((expr) < 0)) SETERRQ((o)->comm, PETSC_ERR_FILE_WRITE, "cannot write %s (HDF5 %.*s failed): the disk may be full or the file system failing", (o)->path, (int)strcspn(#expr, "("), #expr); \
  } while (0)

static const char *const history_names[PGF_HISTORY_COLUMNS] = {"t", "dt", "loss", "dissipation", "rhs_evals", "births", "deaths", "jump_change"};

struct _p_PgfOutput {
  MPI_Comm    comm;
  char       *path;
  PetscMPIInt rank;
  hid_t       file, dxpl, lcpl;
  PetscInt    nsnap, nhist;
};

static PetscErrorCode FileAccess(MPI_Comm comm, hid_t *fapl)
{
  PetscFunctionBegin;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* failures are reported by pgflow, once */
  PgfCallH5(comm, *fapl = H5Pcreate(H5P_FILE_ACCESS));
  PgfCallH5(comm, H5Pset_fapl_mpio(*fapl, comm, MPI_INFO_NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode OutputSetUp(MPI_Comm comm, const char path[], hid_t file, PgfOutput *out)
{
  PgfOutput o;

  PetscFunctionBegin;
  PetscCall(PetscNew(&o));
  o->comm = comm;
  o->file = file;
  PetscCall(PetscStrallocpy(path, &o->path));
  PetscCallMPI(MPI_Comm_rank(comm, &o->rank));
  PgfCallH5(comm, o->dxpl = H5Pcreate(H5P_DATASET_XFER));
  PgfCallH5(comm, H5Pset_dxpl_mpio(o->dxpl, H5FD_MPIO_COLLECTIVE));
  PgfCallH5(comm, o->lcpl = H5Pcreate(H5P_LINK_CREATE));
  PgfCallH5(comm, H5Pset_create_intermediate_group(o->lcpl, 1));
  *out = o;
  PetscFunctionReturn(0);
}

/* A new file at path, replacing any; option names the option that gave path. */
PetscErrorCode PgfOutputCreate(MPI_Comm comm, const char option[], const char path[], PgfOutput *out)
{
  hid_t fapl, file;

  PetscFunctionBegin;
  PetscCall(FileAccess(comm, &fapl));
  file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  PgfCheckInput(comm, file >= 0, "%s %s: cannot create this file (its directory must exist and be writable)", option, path);
  PetscCall(OutputSetUp(comm, path, file, out));
  PetscFunctionReturn(0);
}

/* Rows of the first axis of a dataset, or -1 when it is missing. */
static hssize_t DatasetRows(hid_t file, const char path[])
{
  hid_t    dset, space;
  hsize_t  dims[3];
  hssize_t rows = -1;

  if (H5Lexists(file, path, H5P_DEFAULT) <= 0 || (dset = H5Dopen2(file, path, H5P_DEFAULT)) < 0) return -1;
  if ((space = H5Dget_space(dset)) >= 0) {
    if (H5Sget_simple_extent_ndims(space) >= 1 && H5Sget_simple_extent_dims(space, dims, NULL) >= 0) rows = (hssize_t)dims[0];
    H5Sclose(space);
  }
  H5Dclose(dset);
  return rows;
}

/* Whether row k of a 1-D dataset holds exactly value. */
static PetscBool ValueEquals(hid_t file, const char path[], hsize_t k, double value)
{
  hid_t     dset, fspace, mspace;
  hsize_t   one = 1;
  double    v   = NAN;
  PetscBool ok  = PETSC_FALSE;

  if (DatasetRows(file, path) <= (hssize_t)k || (dset = H5Dopen2(file, path, H5P_DEFAULT)) < 0) return PETSC_FALSE;
  if ((fspace = H5Dget_space(dset)) >= 0) {
    if ((mspace = H5Screate_simple(1, &one, NULL)) >= 0) {
      ok = (PetscBool)(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &k, NULL, &one, NULL) >= 0 && H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, &v) >= 0 && v == value);
      H5Sclose(mspace);
    }
    H5Sclose(fspace);
  }
  H5Dclose(dset);
  return ok;
}

static PetscBool AttributeEquals(hid_t file, const char name[], const char value[])
{
  char  buf[256] = "";
  hid_t attr, type;

  if (H5Aexists(file, name) <= 0 || (attr = H5Aopen(file, name, H5P_DEFAULT)) < 0) return PETSC_FALSE;
  if ((type = H5Aget_type(attr)) >= 0) {
    if (H5Tget_class(type) == H5T_STRING && H5Tget_size(type) <= sizeof(buf)) H5Aread(attr, type, buf);
    else if (H5Tget_class(type) == H5T_INTEGER) {
      long long v;

      if (H5Aread(attr, H5T_NATIVE_LLONG, &v) >= 0) snprintf(buf, sizeof(buf), "%lld", v);
    }
    H5Tclose(type);
  }
  H5Aclose(attr);
  return (PetscBool)!strcmp(buf, value);
}

/* The results file of an interrupted run, reopened to append to it from
   snapshot nsnap and history row nhist on (what a checkpoint recorded; rows
   written after the checkpoint are overwritten, and /final is removed).
   *out is NULL when path does not hold that run's results up to there: the
   last snapshot kept must be at tsnap and the last history row at t. */
PetscErrorCode PgfOutputOpen(MPI_Comm comm, const char path[], const char problem[], PetscInt m, PetscInt nsnap, PetscReal tsnap, PetscInt nhist, PetscReal t, PgfOutput *out)
{
  hid_t     fapl, file;
  char      particles[32];
  PetscBool ok;

  PetscFunctionBegin;
  *out = NULL;
  PetscCall(FileAccess(comm, &fapl));
  file = H5Fopen(path, H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  if (file < 0) PetscFunctionReturn(0);
  PetscCall(PetscSNPrintf(particles, sizeof(particles), "%" PetscInt_FMT, m));
  ok = (PetscBool)(AttributeEquals(file, "problem", problem) && AttributeEquals(file, "particles", particles) && nsnap > 0 && nhist > 0 && ValueEquals(file, "/snapshots/t", nsnap - 1, tsnap) && ValueEquals(file, "/history/t", nhist - 1, t));
  if (!ok) {
    PgfCallH5(comm, H5Fclose(file));
    PetscFunctionReturn(0);
  }
  if (H5Lexists(file, "/final", H5P_DEFAULT) > 0) PgfCallH5(comm, H5Ldelete(file, "/final", H5P_DEFAULT));
  PetscCall(OutputSetUp(comm, path, file, out));
  (*out)->nsnap = nsnap;
  (*out)->nhist = nhist;
  PetscFunctionReturn(0);
}

/* Snapshots and history rows written so far. */
PetscErrorCode PgfOutputGetCounts(PgfOutput out, PetscInt *nsnap, PetscInt *nhist)
{
  PetscFunctionBegin;
  *nsnap = out->nsnap;
  *nhist = out->nhist;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetAttribute(PgfOutput out, const char name[], hid_t type, const void *value)
{
  hid_t space, attr;

  PetscFunctionBegin;
  if (H5Aexists(out->file, name) > 0) PgfCallOut(out, H5Adelete(out->file, name));
  PgfCallOut(out, space = H5Screate(H5S_SCALAR));
  PgfCallOut(out, attr = H5Acreate2(out->file, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  PgfCallOut(out, H5Awrite(attr, type, value));
  PgfCallOut(out, H5Aclose(attr));
  PgfCallOut(out, H5Sclose(space));
  PetscFunctionReturn(0);
}

/* Root attributes are collective: every rank passes the same value. */
PetscErrorCode PgfOutputSetAttributeString(PgfOutput out, const char name[], const char value[])
{
  hid_t type;

  PetscFunctionBegin;
  PgfCallOut(out, type = H5Tcopy(H5T_C_S1));
  PgfCallOut(out, H5Tset_size(type, strlen(value) + 1));
  PetscCall(SetAttribute(out, name, type, value));
  PgfCallOut(out, H5Tclose(type));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfOutputSetAttributeInt(PgfOutput out, const char name[], PetscInt64 value)
{
  long long v = value;

  PetscFunctionBegin;
  PetscCall(SetAttribute(out, name, H5T_NATIVE_LLONG, &v));
  PetscFunctionReturn(0);
}

/* Collective write of the block start + [0, count) of a dataset; a rank
   with nothing to write joins with an empty selection. */
static PetscErrorCode WriteBlock(PgfOutput out, hid_t dset, const hsize_t start[], const hsize_t count[], const PetscReal *data)
{
  hid_t   fspace, mspace;
  int     ndims;
  hsize_t n = 1;

  PetscFunctionBegin;
  PgfCallOut(out, fspace = H5Dget_space(dset));
  PgfCallOut(out, ndims = H5Sget_simple_extent_ndims(fspace));
  for (int k = 0; k < ndims; k++) n *= count[k];
  PgfCallOut(out, mspace = H5Screate_simple(1, &n, NULL));
  if (n) PgfCallOut(out, H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
  else {
    PgfCallOut(out, H5Sselect_none(fspace));
    PgfCallOut(out, H5Sselect_none(mspace));
  }
  PgfCallOut(out, H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, out->dxpl, data));
  PgfCallOut(out, H5Sclose(mspace));
  PgfCallOut(out, H5Sclose(fspace));
  PetscFunctionReturn(0);
}

/* Rows [row0, row0 + nrows) of a dataset, whole along its other axes. */
static PetscErrorCode WriteRows(PgfOutput out, hid_t dset, hsize_t row0, hsize_t nrows, const PetscReal *data)
{
  hid_t   fspace;
  hsize_t start[3] = {row0, 0, 0}, count[3];

  PetscFunctionBegin;
  PgfCallOut(out, fspace = H5Dget_space(dset));
  PgfCallOut(out, H5Sget_simple_extent_dims(fspace, count, NULL));
  PgfCallOut(out, H5Sclose(fspace));
  count[0] = nrows;
  PetscCall(WriteBlock(out, dset, start, count, data));
  PetscFunctionReturn(0);
}

static PetscErrorCode CreateDataset(PgfOutput out, const char path[], int ndims, const hsize_t dims[], hid_t *dset)
{
  hid_t space;

  PetscFunctionBegin;
  PgfCallOut(out, space = H5Screate_simple(ndims, dims, NULL));
  PgfCallOut(out, *dset = H5Dcreate2(out->file, path, H5T_NATIVE_DOUBLE, space, out->lcpl, H5P_DEFAULT, H5P_DEFAULT));
  PgfCallOut(out, H5Sclose(space));
  PetscFunctionReturn(0);
}

/* An array held whole by rank 0 (data, truth). */
PetscErrorCode PgfOutputWriteRootArray(PgfOutput out, const char path[], PetscInt ndims, const PetscInt dims[], const PetscReal data[])
{
  hsize_t d[3];
  hid_t   dset;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < ndims; k++) d[k] = (hsize_t)dims[k];
  PetscCall(CreateDataset(out, path, (int)ndims, d, &dset));
  PetscCall(WriteRows(out, dset, 0, out->rank ? 0 : d[0], data));
  PgfCallOut(out, H5Dclose(dset));
  PetscFunctionReturn(0);
}

/* A particle array, m x ncols (a vector of length m when ncols is 0), of
   which this rank holds rows rstart .. rstart + mloc - 1. */
PetscErrorCode PgfOutputWriteParticles(PgfOutput out, const char path[], PetscInt m, PetscInt rstart, PetscInt mloc, PetscInt ncols, const PetscReal data[])
{
  hsize_t d[2] = {(hsize_t)m, (hsize_t)ncols};
  hid_t   dset;

  PetscFunctionBegin;
  PetscCall(CreateDataset(out, path, ncols ? 2 : 1, d, &dset));
  PetscCall(WriteRows(out, dset, (hsize_t)rstart, (hsize_t)mloc, data));
  PgfCallOut(out, H5Dclose(dset));
  PetscFunctionReturn(0);
}

/* Open, or create growable along its first axis, the dataset at path with
   the given shape of one row, and grow it to nrows rows. */
static PetscErrorCode GrowDataset(PgfOutput out, const char path[], int ndims, const hsize_t row[], hsize_t nrows, hid_t *dset)
{
  hsize_t dims[3], maxdims[3], chunk[3], rowbytes = sizeof(PetscReal);

  PetscFunctionBegin;
  dims[0] = nrows;
  for (int k = 1; k < ndims; k++) {
    dims[k] = maxdims[k] = chunk[k] = row[k];
    rowbytes *= row[k];
  }
  if (H5Lexists(out->file, path, H5P_DEFAULT) > 0) {
    PgfCallOut(out, *dset = H5Dopen2(out->file, path, H5P_DEFAULT));
    PgfCallOut(out, H5Dset_extent(*dset, dims));
  } else {
    hid_t space, dcpl;

    maxdims[0] = H5S_UNLIMITED;
    chunk[0]   = PetscMax(1, PetscMin(4096, ((hsize_t)1 << 20) / rowbytes));
    PgfCallOut(out, space = H5Screate_simple(ndims, dims, maxdims));
    PgfCallOut(out, dcpl = H5Pcreate(H5P_DATASET_CREATE));
    PgfCallOut(out, H5Pset_chunk(dcpl, ndims, chunk));
    PgfCallOut(out, *dset = H5Dcreate2(out->file, path, H5T_NATIVE_DOUBLE, space, out->lcpl, dcpl, H5P_DEFAULT));
    PgfCallOut(out, H5Pclose(dcpl));
    PgfCallOut(out, H5Sclose(space));
  }
  PetscFunctionReturn(0);
}

/* Appends rows held by rank 0 to a 1-D growable dataset. */
static PetscErrorCode AppendRootValues(PgfOutput out, const char path[], hsize_t row0, hsize_t nrows, const PetscReal *values)
{
  hid_t   dset;
  hsize_t row[1] = {1};

  PetscFunctionBegin;
  PetscCall(GrowDataset(out, path, 1, row, row0 + nrows, &dset));
  PetscCall(WriteRows(out, dset, row0, out->rank ? 0 : nrows, values));
  PgfCallOut(out, H5Dclose(dset));
  PetscFunctionReturn(0);
}

/* Snapshot k: t, loss and (when not NaN) gap, and the particles' weights w
   (m) and positions theta (m x npos), of which this rank holds its block. */
PetscErrorCode PgfOutputAppendSnapshot(PgfOutput out, PetscReal t, PetscReal loss, PetscReal gap, PetscInt m, PetscInt npos, PetscInt rstart, PetscInt mloc, const PetscReal w[], const PetscReal theta[])
{
  hsize_t k = (hsize_t)out->nsnap, wrow[2] = {1, (hsize_t)m}, trow[3] = {1, (hsize_t)m, (hsize_t)npos};
  hsize_t wstart[3] = {k, (hsize_t)rstart, 0}, wcount[2] = {1, (hsize_t)mloc}, tcount[3] = {1, (hsize_t)mloc, (hsize_t)npos};
  hid_t   dset;

  PetscFunctionBegin;
  PetscCall(AppendRootValues(out, "/snapshots/t", k, 1, &t));
  PetscCall(AppendRootValues(out, "/snapshots/loss", k, 1, &loss));
  if (!PetscIsNanReal(gap)) PetscCall(AppendRootValues(out, "/snapshots/gap", k, 1, &gap));
  /* Row k holds all m particles: this rank writes its block of it. */
  PetscCall(GrowDataset(out, "/snapshots/w", 2, wrow, k + 1, &dset));
  PetscCall(WriteBlock(out, dset, wstart, wcount, w));
  PgfCallOut(out, H5Dclose(dset));
  PetscCall(GrowDataset(out, "/snapshots/theta", 3, trow, k + 1, &dset));
  PetscCall(WriteBlock(out, dset, wstart, tcount, theta));
  PgfCallOut(out, H5Dclose(dset));
  out->nsnap++;
  PetscFunctionReturn(0);
}

/* A further value of the last snapshot, /snapshots/NAME, from rank 0. */
PetscErrorCode PgfOutputSetSnapshotValue(PgfOutput out, const char name[], PetscReal value)
{
  char path[256];

  PetscFunctionBegin;
  PetscCheck(out->nsnap > 0, out->comm, PETSC_ERR_ORDER, "no snapshot to add %s to", name);
  PetscCall(PetscSNPrintf(path, sizeof(path), "/snapshots/%s", name));
  PetscCall(AppendRootValues(out, path, (hsize_t)out->nsnap - 1, 1, &value));
  PetscFunctionReturn(0);
}

/* History rows held by rank 0, PGF_HISTORY_COLUMNS values each. */
PetscErrorCode PgfOutputAppendHistory(PgfOutput out, PetscInt nrows, const PetscReal rows[])
{
  PetscReal *col;

  PetscFunctionBegin;
  /* with no rows, the datasets are still created: a run that stops before
     its first step has an empty history, not none */
  PetscCall(PetscMalloc1(PetscMax(nrows, 1), &col));
  for (PetscInt c = 0; c < PGF_HISTORY_COLUMNS; c++) {
    char path[64];

    for (PetscInt r = 0; r < nrows; r++) col[r] = rows[r * PGF_HISTORY_COLUMNS + c];
    PetscCall(PetscSNPrintf(path, sizeof(path), "/history/%s", history_names[c]));
    PetscCall(AppendRootValues(out, path, (hsize_t)out->nhist, (hsize_t)nrows, col));
  }
  out->nhist += nrows;
  PetscCall(PetscFree(col));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfOutputFlush(PgfOutput out)
{
  PetscFunctionBegin;
  PgfCallOut(out, H5Fflush(out->file, H5F_SCOPE_GLOBAL));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfOutputDestroy(PgfOutput *out)
{
  PgfOutput o = *out;
  int       failed;

  PetscFunctionBegin;
  if (!o) PetscFunctionReturn(0);
  *out = NULL;
  /* everything is released even when the last writes fail (a full disk) */
  failed = H5Pclose(o->lcpl) < 0;
  failed = (H5Pclose(o->dxpl) < 0) || failed;
  failed = (H5Fclose(o->file) < 0) || failed;
  if (failed) {
    PetscErrorCode ierr;

    ierr = PetscError(o->comm, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_WRITE, PETSC_ERROR_INITIAL, "cannot write %s (HDF5 H5Fclose failed): the disk may be full or the file system failing", o->path);
    PetscCall(PetscFree(o->path));
    PetscCall(PetscFree(o));
    return ierr;
  }
  PetscCall(PetscFree(o->path));
  PetscCall(PetscFree(o));
  PetscFunctionReturn(0);
}

/* /parameters: each parameter an attribute of its kind (text, integer or
   real), named without its dash. Collective. */
PetscErrorCode PgfOutputWriteParameters(PgfOutput out, PetscBool model_only)
{
  hid_t group, space;

  PetscFunctionBegin;
  if (H5Lexists(out->file, "/parameters", H5P_DEFAULT) > 0) PgfCallOut(out, H5Ldelete(out->file, "/parameters", H5P_DEFAULT));
  PgfCallOut(out, group = H5Gcreate2(out->file, "/parameters", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  PgfCallOut(out, space = H5Screate(H5S_SCALAR));
  for (PetscInt k = 0; k < PgfParamsCount(); k++) {
    const char *name, *value;
    char        kind;
    PetscBool   model;
    hid_t       type, attr;
    long long   i;
    double      r;
    const void *data = value;

    PgfParamsGet(k, &name, &value, &kind, &model);
    if (model_only && !model) continue;
    if (kind == 'i') {
      i    = atoll(value);
      type = H5Tcopy(H5T_NATIVE_LLONG);
      data = &i;
    } else if (kind == 'r') {
      r    = atof(value);
      type = H5Tcopy(H5T_NATIVE_DOUBLE);
      data = &r;
    } else {
      type = H5Tcopy(H5T_C_S1);
      H5Tset_size(type, strlen(value) + 1);
      data = value;
    }
    PgfCallOut(out, attr = H5Acreate2(group, name + 1, type, space, H5P_DEFAULT, H5P_DEFAULT));
    PgfCallOut(out, H5Awrite(attr, type, data));
    PgfCallOut(out, H5Aclose(attr));
    PgfCallOut(out, H5Tclose(type));
  }
  PgfCallOut(out, H5Sclose(space));
  PgfCallOut(out, H5Gclose(group));
  PetscFunctionReturn(0);
}

/* Real attributes of a group (created when missing). Collective. */
PetscErrorCode PgfOutputSetGroupAttributes(PgfOutput out, const char group[], PetscInt n, const char *const names[], const PetscReal values[])
{
  hid_t g, space;

  PetscFunctionBegin;
  if (H5Lexists(out->file, group, H5P_DEFAULT) > 0) PgfCallOut(out, g = H5Gopen2(out->file, group, H5P_DEFAULT));
  else PgfCallOut(out, g = H5Gcreate2(out->file, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  PgfCallOut(out, space = H5Screate(H5S_SCALAR));
  for (PetscInt k = 0; k < n; k++) {
    hid_t  attr;
    double v = values[k];

    if (H5Aexists(g, names[k]) > 0) PgfCallOut(out, H5Adelete(g, names[k]));
    PgfCallOut(out, attr = H5Acreate2(g, names[k], H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT));
    PgfCallOut(out, H5Awrite(attr, H5T_NATIVE_DOUBLE, &v));
    PgfCallOut(out, H5Aclose(attr));
  }
  PgfCallOut(out, H5Sclose(space));
  PgfCallOut(out, H5Gclose(g));
  PetscFunctionReturn(0);
}

PetscErrorCode PgfReadParameter(MPI_Comm comm, const char option[], const char path[], const char name[], char value[], size_t len, PetscBool *found)
{
  hid_t fapl, file, attr = -1, type = -1;
  char  where[512];

  PetscFunctionBegin;
  *found   = PETSC_FALSE;
  value[0] = 0;
  PetscCall(FileAccess(comm, &fapl));
  file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  PgfCheckInput(comm, file >= 0, "%s %s: cannot open this file as HDF5", option, path);
  PetscCall(PetscSNPrintf(where, sizeof(where), "/parameters"));
  if (H5Lexists(file, where, H5P_DEFAULT) > 0 && H5Aexists_by_name(file, where, name, H5P_DEFAULT) > 0 && (attr = H5Aopen_by_name(file, where, name, H5P_DEFAULT, H5P_DEFAULT)) >= 0 && (type = H5Aget_type(attr)) >= 0) {
    H5T_class_t cls = H5Tget_class(type);
    long long   i;
    double      r;

    if (cls == H5T_INTEGER && H5Aread(attr, H5T_NATIVE_LLONG, &i) >= 0) *found = (PetscBool)(snprintf(value, len, "%lld", i) > 0);
    else if (cls == H5T_FLOAT && H5Aread(attr, H5T_NATIVE_DOUBLE, &r) >= 0) *found = (PetscBool)(snprintf(value, len, "%.17g", r) > 0);
    else if (cls == H5T_STRING && H5Tget_size(type) <= len) *found = (PetscBool)(H5Aread(attr, type, value) >= 0);
  }
  if (type >= 0) H5Tclose(type);
  if (attr >= 0) H5Aclose(attr);
  H5Fclose(file);
  PetscFunctionReturn(0);
}

/* An input file must be a regular file: MPI-IO given a directory prints
   dozens of lines of its own before failing. Checked by rank 0. */
static PetscErrorCode CheckInputFile(MPI_Comm comm, const char option[], const char path[])
{
  struct stat st;
  PetscMPIInt rank;
  int         err = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) err = stat(path, &st) ? errno : S_ISREG(st.st_mode) ? 0
                                                                 : -1;
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PgfCheckInput(comm, err <= 0, "%s %s: cannot open this file (%s)", option, path, strerror(err));
  PgfCheckInput(comm, err == 0, "%s %s: not a regular file (a directory?)", option, path);
  PetscFunctionReturn(0);
}

/* A string attribute of the root of an HDF5 file, read by rank 0: *found is
   false when the file is missing, not HDF5 or without it. Collective. */
PetscErrorCode PgfReadAttributeStringIfAny(MPI_Comm comm, const char path[], const char name[], char value[], size_t len, PetscBool *found)
{
  PetscMPIInt rank;
  int         ok = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  value[0] = 0;
  if (!rank) {
    hid_t file, attr = -1, type = -1;

    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, R_OK) == 0 && (file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) >= 0) {
      ok             = H5Aexists(file, name) > 0 && (attr = H5Aopen(file, name, H5P_DEFAULT)) >= 0 && (type = H5Aget_type(attr)) >= 0 && H5Tget_class(type) == H5T_STRING && H5Tget_size(type) <= len && H5Aread(attr, type, value) >= 0;
      value[len - 1] = 0;
      if (type >= 0) H5Tclose(type);
      if (attr >= 0) H5Aclose(attr);
      H5Fclose(file);
    }
    if (!ok) value[0] = 0;
  }
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(value, (PetscMPIInt)len, MPI_CHAR, 0, comm));
  *found = (PetscBool)ok;
  PetscFunctionReturn(0);
}

/* A string attribute of the root of an HDF5 file named by a user option. */
PetscErrorCode PgfReadAttributeString(MPI_Comm comm, const char option[], const char path[], const char name[], char value[], size_t len)
{
  hid_t     fapl, file, attr = -1, type = -1;
  PetscBool ok;

  PetscFunctionBegin;
  PetscCall(CheckInputFile(comm, option, path));
  PetscCall(FileAccess(comm, &fapl));
  file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  PgfCheckInput(comm, file >= 0, "%s %s: cannot open this file as HDF5 (missing, unreadable or not HDF5)", option, path);
  ok = (PetscBool)(H5Aexists(file, name) > 0 && (attr = H5Aopen(file, name, H5P_DEFAULT)) >= 0 && (type = H5Aget_type(attr)) >= 0 && H5Tget_class(type) == H5T_STRING && H5Tget_size(type) <= len && H5Aread(attr, type, value) >= 0);
  if (type >= 0) H5Tclose(type);
  if (attr >= 0) H5Aclose(attr);
  H5Fclose(file);
  PgfCheckInput(comm, ok, "%s %s: has no string attribute %s", option, path, name);
  PetscFunctionReturn(0);
}

/* Opens the dataset name of an HDF5 file named by a user option and checks
   that it has ndims dimensions, which it returns; every failure is the
   user's and says so. */
static PetscErrorCode OpenArray(MPI_Comm comm, const char option[], const char path[], const char name[], PetscInt ndims, PetscInt dims[], hid_t *file, hid_t *dset)
{
  hid_t       fapl, space, type;
  hsize_t     d[3];
  int         nd;
  H5T_class_t cls;
  const char *what = NULL;

  PetscFunctionBegin;
  PetscCall(CheckInputFile(comm, option, path));
  PetscCall(FileAccess(comm, &fapl));
  *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  PgfCheckInput(comm, *file >= 0, "%s %s: cannot open this file as HDF5 (missing, unreadable or not HDF5)", option, path);
  if (H5Lexists(*file, name, H5P_DEFAULT) <= 0 || (*dset = H5Dopen2(*file, name, H5P_DEFAULT)) < 0) {
    H5Fclose(*file);
    PgfInputError(comm, "%s %s: has no dataset /%s", option, path, name);
  }
  PgfCallH5(comm, type = H5Dget_type(*dset));
  cls = H5Tget_class(type);
  H5Tclose(type);
  if (cls == H5T_STRING) what = "strings";
  else if (cls == H5T_COMPOUND) what = "compound values (complex numbers?)";
  else if (cls != H5T_FLOAT && cls != H5T_INTEGER) what = "values that are not numbers";
  PgfCallH5(comm, space = H5Dget_space(*dset));
  nd = H5Sget_simple_extent_ndims(space);
  if (nd == ndims) PgfCallH5(comm, H5Sget_simple_extent_dims(space, d, NULL));
  PgfCallH5(comm, H5Sclose(space));
  if (what || nd != ndims) {
    H5Dclose(*dset);
    H5Fclose(*file);
    PgfCheckInput(comm, !what, "%s %s: /%s must hold real numbers (it holds %s)", option, path, name, what);
    PgfInputError(comm, "%s %s: /%s must have %" PetscInt_FMT " dimension%s (it has %d)", option, path, name, ndims, ndims > 1 ? "s" : "", nd);
  }
  /* shapes are 64-bit in the file: refuse what pgflow's indices cannot hold */
  for (int k = 0; k < nd; k++) {
    if (d[k] > (hsize_t)PETSC_MAX_INT) {
      H5Dclose(*dset);
      H5Fclose(*file);
      PgfInputError(comm, "%s %s: /%s has %llu entries along dimension %d, more than pgflow can index (%d)", option, path, name, (unsigned long long)d[k], k + 1, (int)PETSC_MAX_INT);
    }
    dims[k] = (PetscInt)d[k];
  }
  PetscFunctionReturn(0);
}

/* The dimensions of a dataset (see OpenArray). */
PetscErrorCode PgfReadArrayShape(MPI_Comm comm, const char option[], const char path[], const char name[], PetscInt ndims, PetscInt dims[])
{
  hid_t file, dset;

  PetscFunctionBegin;
  PetscCall(OpenArray(comm, option, path, name, ndims, dims, &file, &dset));
  PgfCallH5(comm, H5Dclose(dset));
  PgfCallH5(comm, H5Fclose(file));
  PetscFunctionReturn(0);
}

/* Rows row0 .. row0 + nrows - 1 (along the first dimension) of a dataset,
   each rank its own: memory grows with what a rank reads. */
PetscErrorCode PgfReadArrayRows(MPI_Comm comm, const char option[], const char path[], const char name[], PetscInt ndims, PetscInt row0, PetscInt nrows, PetscReal **data)
{
  hid_t    file, dset, fspace, mspace;
  hsize_t  start[3] = {(hsize_t)row0, 0, 0}, count[3];
  PetscInt dims[3];
  size_t   n = 1;

  PetscFunctionBegin;
  PetscCall(OpenArray(comm, option, path, name, ndims, dims, &file, &dset));
  PetscCheck(row0 >= 0 && row0 + nrows <= dims[0], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "rows beyond the dataset");
  for (PetscInt k = 0; k < ndims; k++) {
    count[k] = k ? (hsize_t)dims[k] : (hsize_t)nrows;
    n *= count[k];
  }
  PetscCall(PetscMalloc1(PetscMax(n, 1), data));
  if (n) {
    PgfCallH5(comm, fspace = H5Dget_space(dset));
    PgfCallH5(comm, H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    PgfCallH5(comm, mspace = H5Screate_simple(1, (hsize_t[]) {n}, NULL));
    PgfCallH5(comm, H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, *data));
    PgfCallH5(comm, H5Sclose(mspace));
    PgfCallH5(comm, H5Sclose(fspace));
  }
  PgfCallH5(comm, H5Dclose(dset));
  PgfCallH5(comm, H5Fclose(file));
  PetscFunctionReturn(0);
}

/* A whole dataset of ndims dimensions, on every rank. */
PetscErrorCode PgfReadArray(MPI_Comm comm, const char option[], const char path[], const char name[], PetscInt ndims, PetscInt dims[], PetscReal **data)
{
  PetscFunctionBegin;
  PetscCall(PgfReadArrayShape(comm, option, path, name, ndims, dims));
  PetscCall(PgfReadArrayRows(comm, option, path, name, ndims, 0, dims[0], data));
  PetscFunctionReturn(0);
}
