#!/usr/bin/env python3
"""`pip install .` as a user runs it, then the Python tests against the installed copy (ctest: python_wheel_install).

    python3 tests/python/wheel_install.py SOURCE_DIR WORK_DIR [--kvshape PATH]

1. copies the source tree (git's tracked and untracked-but-not-ignored files, as a clean clone plus work in
   progress; without git, everything but build folders) to WORK_DIR/src, so nothing is written into SOURCE_DIR;
2. builds a wheel offline: `pip wheel --no-build-isolation --no-index` in a venv made with
   --system-site-packages (Debian's setuptools, wheel and pybind11 come from the system), and checks its files;
3. installs the wheel into a second, fresh venv, and from a folder outside the source runs every
   tests/python/test_*.py with that venv's interpreter, with PYTHONPATH unset and
   FIB_QUANT_KV_EXPECT_INSTALLED set, so that conftest.py fails the run unless fib_quant_kv is imported from the
   venv (not from the build tree);
4. `pip install --no-build-isolation .` straight from the copied tree into a third venv (the README's command),
   then `import fib_quant_kv` and `python3 -m fib_quant_kv check` from another folder.

Exit 0 when all of it passes. Standard library only; the interpreter running it is the one the venvs copy.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import zipfile

SKIP_DIRS = {".git", "node_modules", "__pycache__", "target"}


def log(text):
    print(f"== {text}", flush=True)


def run(cmd, **kw):
    log(" ".join(str(c) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def copy_source(source, dest):
    """The files a clone would have, plus untracked ones that are not ignored (work in progress)."""
    try:
        listed = subprocess.run(["git", "-C", source, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                check=True, capture_output=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        listed = None
    if listed is None:
        shutil.copytree(source, dest, ignore=lambda d, names: [
            n for n in names if n in SKIP_DIRS or n.startswith("build")])
        return
    for rel in filter(None, listed):
        src = os.path.join(source, rel)
        if not os.path.isfile(src):  # deleted in the work tree but still in the index
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))


def venv(path):
    run([sys.executable, "-m", "venv", "--system-site-packages", path])
    return os.path.join(path, "bin", "python")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("work")
    ap.add_argument("--kvshape", help="kvshape binary, for the tests that compare with it")
    args = ap.parse_args()
    source, work = os.path.abspath(args.source), os.path.abspath(args.work)

    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tree = os.path.join(work, "src")
    copy_source(source, tree)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")

    # 2. the wheel
    builder = venv(os.path.join(work, "venv-build"))
    dist = os.path.join(work, "dist")
    run([builder, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index", "-w", dist, tree], env=env)
    wheels = glob.glob(os.path.join(dist, "fib_quant_kv-*.whl"))
    assert len(wheels) == 1, wheels
    wheel = wheels[0]
    log(f"wheel {os.path.basename(wheel)}")
    assert not wheel.endswith("-none-any.whl"), "a wheel with an extension module must be platform-specific"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for want in ("fib_quant_kv/__init__.py", "fib_quant_kv/__init__.pyi", "fib_quant_kv/py.typed",
                 "fib_quant_kv/__main__.py", "fib_quant_kv/checkpoint.py", "fib_quant_kv/hf.py"):
        assert want in names, f"{want} is not in the wheel: {sorted(names)}"
    natives = [n for n in names if n.startswith("fib_quant_kv/_native.") and n.endswith(".so")]
    assert len(natives) == 1, sorted(names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names), sorted(names)

    # 3. install it into a fresh venv and run the tests there, from outside the source
    target = os.path.join(work, "venv-test")
    python = venv(target)
    run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], env=env)
    elsewhere = os.path.join(work, "elsewhere")
    os.makedirs(elsewhere)
    test_env = dict(env, FIB_QUANT_KV_EXPECT_INSTALLED=os.path.realpath(target))
    if args.kvshape:
        test_env["FIB_QUANT_KV_KVSHAPE"] = args.kvshape
    tests = sorted(glob.glob(os.path.join(source, "tests", "python", "test_*.py")))
    assert len(tests) >= 6, tests
    run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], env=test_env, cwd=elsewhere)

    # 4. the README's command, straight from the tree (reuses the CMake build the wheel made under build-python/)
    direct = venv(os.path.join(work, "venv-direct"))
    run([direct, "-m", "pip", "install", "--no-build-isolation", "--no-index", tree], env=env)
    where = run([direct, "-c", "import fib_quant_kv, sys; sys.stdout.write(fib_quant_kv.__file__)"],
                env=env, cwd=elsewhere, capture_output=True).stdout.decode()
    assert os.path.realpath(where).startswith(os.path.realpath(os.path.join(work, "venv-direct"))), where
    line = (b'{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,'
            b'"layers":32,"kv_heads":8,"query_heads":32,"tokens":8192,"head_dim":128,"dtype":"bf16",'
            b'"rope_state":"post_rope"}\n')
    out = run([direct, "-m", "fib_quant_kv", "check"], env=env, cwd=elsewhere, input=line,
              capture_output=True).stdout
    assert b'"ok":true' in out and b'"digest":"16deb48c49fde03dda4b25416a72493b"' in out, out
    log("installed with pip, imported and run from outside the source: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
