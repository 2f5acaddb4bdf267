"""Shared helpers of the codegen tests: where things are, the real schema's text, edits and generator runs.

The tests run as `python3 -m unittest discover -s codegen/tests -t codegen/tests`, so every test module is a
top-level module and imports this one as `_support`; importing it also puts codegen/ on sys.path, so the
tests can `import names`, `import model`, `import schema_model` and `import generate` like the generator itself does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CODEGEN = TESTS.parent
REPO = CODEGEN.parent
SCHEMA = REPO / "schema" / "kv_tensor_shape_v1.yaml"
SCHEMA_DISPLAY = "schema/kv_tensor_shape_v1.yaml"  # how generate.py names the real schema in headers
LIBRARY = REPO / "schema" / "library.yaml"  # the library document: namespace, error kinds, list of schemas
LIBRARY_DISPLAY = "schema/library.yaml"
GENERATED = REPO / "generated"
GENERATE = CODEGEN / "generate.py"

# The interpreter running the tests has jinja2 and yaml (the tests import them), so the generator runs on it too.
PYTHON = sys.executable

if str(CODEGEN) not in sys.path:
    sys.path.insert(0, str(CODEGEN))


def schema_text() -> str:
    """The real schema document, as committed in the working tree."""
    return SCHEMA.read_text(encoding="utf-8")


def library_text(schemas: list[str] | tuple[str, ...] = ("kv_tensor_shape_v1.yaml",)) -> str:
    """The real library document with its list of schemas replaced by `schemas`."""
    lines = LIBRARY.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("schemas:\n")
    end = start + 1
    while end < len(lines) and lines[end].startswith("  - "):
        end += 1
    return "".join(lines[:start + 1] + [f"  - {s}\n" for s in schemas] + lines[end:])


def real_library():
    """The real library document, loaded."""
    from schema_model import load_library
    return load_library(LIBRARY, LIBRARY_DISPLAY)


def load_schema(path: Path, display: str | None = None, library=None):
    """One schema document loaded as a schema of `library` (default: the real library document)."""
    from schema_model import load
    return load(path, display, library or real_library())


def render_schema(schema) -> dict[str, str]:
    """Every output of `schema`'s library document with `schema` as its one schema: {relative path: text}."""
    from generate import render
    return render(schema.library, [schema])


def edit(text: str, old: str, new: str) -> str:
    """`text` with the one occurrence of `old` replaced by `new`.

    Fails loudly when `old` is missing or ambiguous, so a test whose anchor no longer matches the schema says
    so instead of silently testing an unedited document.
    """
    count = text.count(old)
    if count != 1:
        raise AssertionError(f"edit anchor occurs {count} times in the schema (expected exactly once): {old!r}")
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based line number of the one line of `text` that contains `needle`."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    if len(hits) != 1:
        raise AssertionError(f"{needle!r} is on {len(hits)} lines of the document (expected exactly one)")
    return hits[0]


def run_generate(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs codegen/generate.py as a user would, capturing its output."""
    return subprocess.run([PYTHON, str(GENERATE), *args], cwd=str(cwd), env=env, capture_output=True,
                          text=True, timeout=120)


def files_under(folder: Path) -> dict[str, bytes]:
    """{posix path relative to folder: bytes} of every file below `folder` (empty if it does not exist)."""
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class TempDirTestCase(unittest.TestCase):
    """A test case with a fresh temporary folder, `self.tmp`, removed afterwards."""

    def setUp(self) -> None:
        super().setUp()
        self._tmp = tempfile.TemporaryDirectory(prefix="fqkv_codegen_test_")
        self.addCleanup(self._tmp.cleanup)
        self.tmp = Path(self._tmp.name)

    def assert_generate_rejects(self, library: Path, message: str) -> None:
        """`generate.py --out TMP/out LIBRARY` exits 2 with exactly `message` on stderr, says nothing on stdout
        and writes nothing."""
        out = self.tmp / "out"
        r = run_generate("--out", str(out), str(library))
        self.assertEqual(r.returncode, 2, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertEqual(r.stderr, f"generate.py: {message}\n")
        self.assertEqual(r.stdout, "")
        self.assertFalse(out.exists(), "generate.py wrote output for an invalid document")

    def write_schema(self, text: str, name: str = "kv_tensor_shape_v1.yaml", folder: str = "schema") -> Path:
        """Writes a schema document into the temp folder (same file name as the real one: the name is the stem
        of every output file), and beside it a library document (`self.library`) that lists every schema
        written into that folder so far."""
        path = self.tmp / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        listed = self.__dict__.setdefault("_listed", {}).setdefault(folder, [])
        if name not in listed:
            listed.append(name)
        self.library = path.parent / "library.yaml"
        self.library.write_text(library_text(listed), encoding="utf-8")
        return path


OUTER_CMAKE = """\
cmake_minimum_required(VERSION 3.25)
project(fqk_schema_copy LANGUAGES CXX)
set(FIB_QUANT_KV_GENERATED_DIR "{generated}" CACHE PATH "" FORCE)
set(FIB_QUANT_KV_BUILD_CLI OFF CACHE BOOL "" FORCE)
add_subdirectory("{repo}" fqk)
add_executable({exe} main.cpp)
target_link_libraries({exe} PRIVATE fib_quant_kv::fib_quant_kv fib_quant_kv_warnings)
"""


def build_with_cmake(tmp: Path, generated: Path, program: str, exe: str) -> Path:
    """Builds the real CMakeLists.txt against another rendered folder, as a user embedding the library would:
    a small outer project adds the repository with FIB_QUANT_KV_GENERATED_DIR pointing at `generated` and
    compiles `program` (C++) into `exe`, with warnings as errors. The Python module is built too, for this
    interpreter, in BUILD/fqk/python. No build type (-O0), the fastest compile. Returns the build folder."""
    import shutil
    cmake, cxx = shutil.which("cmake"), shutil.which("g++")
    project = tmp / "project"
    project.mkdir()
    (project / "main.cpp").write_text(program, encoding="utf-8")
    (project / "CMakeLists.txt").write_text(
        OUTER_CMAKE.format(generated=generated.as_posix(), repo=REPO.as_posix(), exe=exe), encoding="utf-8")
    build = tmp / "build"
    configure = [cmake, "-S", str(project), "-B", str(build), "-DFIB_QUANT_KV_WERROR=ON",
                 "-DFIB_QUANT_KV_BUILD_TESTS=OFF", "-DFIB_QUANT_KV_INSTALL=OFF", f"-DCMAKE_CXX_COMPILER={cxx}",
                 f"-DFIB_QUANT_KV_PYTHON={PYTHON}"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    env = dict(os.environ)
    env.pop("CMAKE_BUILD_TYPE", None)
    for cmd, what in ((configure, "cmake configure"), ([cmake, "--build", str(build), "-j2"], "cmake --build")):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
        if r.returncode != 0:
            raise AssertionError(f"{what} failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return build


def render_library(tmp: Path, schemas: dict[str, str]) -> tuple[Path, Path]:
    """Writes `schemas` ({file name: text}) and a library document listing them, in order, into TMP/schema and
    renders them with generate.py into TMP/generated: (the library document, the generated folder). A rejection
    raises with the generator's message. The library's handwritten code needs every schema of the real library
    (src/cache_spec.cpp the v2 spec, src/hf_config.cpp v1): the real documents of those not given are added
    last, in the real library's order."""
    schemas = dict(schemas)
    for name in real_library().schema_paths:
        if name not in schemas:
            schemas[name] = (LIBRARY.parent / name).read_text(encoding="utf-8")
    folder = tmp / "schema"
    folder.mkdir()
    for name, text in schemas.items():
        (folder / name).write_text(text, encoding="utf-8")
    library = folder / "library.yaml"
    library.write_text(library_text(list(schemas)), encoding="utf-8")
    out = tmp / "generated"
    r = run_generate("--out", str(out), str(library))
    if r.returncode != 0:
        raise AssertionError(f"generate.py rejected {', '.join(schemas)} ({r.returncode}):\n{r.stderr}")
    return library, out


class BuiltOnceTestCase(unittest.TestCase):
    """A test case whose expensive work (render, build, run) is done once for the class, in a fresh temporary
    folder removed afterwards: subclasses define `_build(cls, tmp)` and may name `tmp_prefix`."""

    tmp_prefix = "fqkv_codegen_"
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix=cls.tmp_prefix)
        try:
            cls._build(Path(cls._tmp.name))
        except BaseException:
            cls._tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    @classmethod
    def _build(cls, tmp: Path) -> None:
        raise NotImplementedError


def run_key_values(cmd: list[str], env: dict | None = None) -> dict[str, str]:
    """Runs a program that prints key=value lines; its lines as a dict (a failure raises with its output)."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    if r.returncode != 0:
        raise AssertionError(f"{cmd[0]} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    out = {}
    for line in r.stdout.splitlines():
        key, _, value = line.partition("=")
        out[key] = value
    return out


def python_env(build: Path) -> dict:
    """The environment that imports the Python module built by build_with_cmake()."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(build / "fqk" / "python")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def clean_env() -> dict:
    """The environment for generator subprocesses: no PYTHONHASHSEED pinning unless a test sets one."""
    env = dict(os.environ)
    env.pop("PYTHONHASHSEED", None)
    return env
