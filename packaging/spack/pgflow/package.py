# Spack recipe for pgflow (doc/installing.md, Spack). Put this directory in
# a Spack repository (`spack repo create`, then packages/pgflow/) and
# `spack install pgflow`.
from spack.package import *


class Pgflow(MakefilePackage):
    """Particle gradient flows of convex problems over measures (Chizat and
    Bach, 2018) with PETSc TS, MPI, parallel HDF5 and ScaLAPACK: the programs,
    the library and headers for problems built as shared libraries, the job
    and analysis scripts, and the results reader as the Python module pgflow."""

    homepage = "https://github.com/pgflow/pgflow"
    git = "https://github.com/pgflow/pgflow.git"

    maintainers("pgflow")

    # Versions are the repository's git tags (vX.Y.Z, the PGFLOW_VERSION of
    # include/pgflow.h at that commit).
    version("main", branch="main")
    version("0.1.0", tag="v0.1.0")

    variant("python", default=True, description="Install the results reader's run dependencies (py-h5py, py-numpy)")
    variant("matplotlib", default=False, description="The figure scripts' py-matplotlib")

    # What the Makefile finds through PETSC_DIR: a PETSc built with MPI,
    # parallel HDF5 and ScaLAPACK, whose petscvariables give the BLAS,
    # LAPACK, ScaLAPACK and HDF5 libraries to link.
    depends_on("mpi")
    depends_on("petsc@3.18: +mpi+hdf5+scalapack~complex precision=double ~int64")
    depends_on("hdf5+mpi")
    depends_on("scalapack")
    depends_on("blas")
    depends_on("lapack")
    depends_on("pkgconfig", type="build")
    depends_on("gmake", type="build")

    extends("python", when="+python")
    depends_on("python@3.7:", type="run", when="+python")
    depends_on("py-numpy", type="run", when="+python")
    depends_on("py-h5py+mpi", type="run", when="+python")
    depends_on("py-matplotlib", type="run", when="+matplotlib")

    def setup_build_environment(self, env):
        env.set("PETSC_DIR", self.spec["petsc"].prefix)
        env.set("PETSC_ARCH", "")

    @property
    def build_targets(self):
        return ["CC={0}".format(self.spec["mpi"].mpicc), "all"]

    def install(self, spec, prefix):
        python_dir = prefix.lib.join("python3").join("site-packages")
        if spec.satisfies("+python"):
            python_dir = join_path(prefix, spec["python"].package.platlib)
        make(
            "install",
            "PREFIX={0}".format(prefix),
            "PYTHONDIR={0}".format(python_dir),
            "CC={0}".format(spec["mpi"].mpicc),
        )

    def setup_run_environment(self, env):
        env.set("PGFLOW_DIR", self.prefix)
