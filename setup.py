"""The build step of `pip install .` (pyproject.toml): the Python module fib_quant_kv, built by CMake.

Why setuptools with a build_ext that runs CMake, and not a backend of our own or scikit-build-core: setuptools and
wheel are Debian packages (python3-setuptools, python3-wheel), so `pip install --no-build-isolation .` works
offline; scikit-build-core is not packaged for Debian 12. And CMake stays the one description of the build:
this file adds no compiler flags and lists no sources, it configures the project with only the Python module on
(no tests, no kvshape, no install rules), builds the target fib_quant_kv_python for the interpreter running pip,
and copies the package CMake assembled (build/python/fib_quant_kv: the extension _native, the generated
__init__.py and __init__.pyi, py.typed and the handwritten modules of src/python/fib_quant_kv) into the wheel.

Environment: CMAKE_ARGS, extra arguments for the configure step (e.g. -DCMAKE_CXX_COMPILER=clang++);
CMAKE_BUILD_PARALLEL_LEVEL, the number of compile jobs (default: every CPU).
Everything setuptools writes goes under build-python/ (its build and temporary folders, the CMake build, the
egg-info), not into build/, which is the CMake build of scripts/build.sh.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD_BASE = "build-python"


def project_version() -> str:
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        found = re.search(r"project\(\s*fib_quant_kv\s+VERSION\s+([0-9][0-9.]*)", f.read())
    if not found:
        raise SystemExit("setup.py: no project(fib_quant_kv VERSION x.y.z) in CMakeLists.txt")
    return found.group(1)


class CMakeBuild(build_ext):
    """Builds each extension by building its CMake target; the CMake build lives in build_temp/cmake."""

    def build_extension(self, ext: Extension) -> None:
        cmake = shutil.which("cmake")
        if cmake is None:
            raise SystemExit("setup.py: fib_quant_kv is built with CMake 3.25 or newer (Debian: apt-get install cmake)")
        build_dir = os.path.abspath(os.path.join(self.build_temp, "cmake"))
        configure = [
            cmake, "-S", ROOT, "-B", build_dir,
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DFIB_QUANT_KV_PYTHON_MODULE_INTERPRETER={sys.executable}",
            "-DFIB_QUANT_KV_BUILD_PYTHON=ON",
            "-DFIB_QUANT_KV_BUILD_TESTS=OFF",
            "-DFIB_QUANT_KV_BUILD_CLI=OFF",
            "-DFIB_QUANT_KV_INSTALL=OFF",
        ]
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")) and shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        configure += shlex.split(os.environ.get("CMAKE_ARGS", ""))
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(self.parallel or os.cpu_count() or 1)
        subprocess.run(configure, check=True)
        subprocess.run([cmake, "--build", build_dir, "--target", "fib_quant_kv_python", "--parallel", jobs],
                       check=True)
        # The whole package, as CMake assembled it, where setuptools expects the extension's package.
        package = os.path.join(build_dir, "python", *ext.name.split(".")[:-1])
        destination = os.path.dirname(os.path.abspath(self.get_ext_fullpath(ext.name)))
        built = os.path.join(package, os.path.basename(self.get_ext_filename(ext.name)))
        if not os.path.exists(built):
            raise SystemExit(f"setup.py: CMake built no {built} (does the interpreter's EXT_SUFFIX differ?)")
        shutil.copytree(package, destination, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


os.makedirs(os.path.join(ROOT, BUILD_BASE), exist_ok=True)
setup(
    version=project_version(),
    ext_modules=[Extension("fib_quant_kv._native", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": BUILD_BASE}, "egg_info": {"egg_base": BUILD_BASE}},
    zip_safe=False,
)
