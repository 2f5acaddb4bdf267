#!/usr/bin/env python3
"""Renders everything under generated/ from the library document and the schema documents it lists.

    python3 codegen/generate.py                      # regenerate generated/ from schema/library.yaml
    python3 codegen/generate.py --check              # exit 1 and show a diff if generated/ is stale
    python3 codegen/generate.py --out DIR [LIBRARY]  # render another library document into another folder
    python3 codegen/generate.py --list-outputs       # the files it writes, one per line (for build tools)

Needs Python 3 with Jinja2 and PyYAML (Debian: python3-jinja2 python3-yaml). Every document is checked before
anything is rendered; an invalid one exits with status 2 and a message naming its file, line and key.

Outputs are of two scopes. Library-wide ones are rendered once from the library document and the list of its
schemas (the error kinds, the umbrella header, the list of sources the build compiles). Per-schema ones are
rendered once per schema, and every symbol they add is a type name of that schema or carries its stem.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import jinja2  # noqa: E402

from targets import cmake, cpp, fbs, jsonschema, markdown, python  # noqa: E402
from names import Name  # noqa: E402
from model import Library, Schema, SchemaError  # noqa: E402
from schema_model import check_together, load, load_library  # noqa: E402


@dataclass(frozen=True)
class Output:
    """One output kind: its template (under codegen/templates/, one folder per target), its path relative to the
    output folder ({ns}: the library's namespace, {lib}: its name, {stem}: the schema's file stem), the target modules it spells
    with (codegen/targets/), and what the build does with it (`build`, read by CMake from outputs.cmake)."""

    template: str
    path: str
    targets: tuple
    build: tuple[str, ...] = ()  # roles: "library" compiled into the C++ library, "rapidjson" instantiates
    #                              RapidJSON (the sanitizer build exempts it from one check), "flatc" for flatc,
    #                              "python" compiled into the Python extension, "python_package" its .py files
    scope: str = "all"  # per-schema outputs: "flat" for flat schemas (v1's kind), "composite" for nested ones
    #                     (model.Schema.is_flat); library outputs: "flat" renders with the flat schemas only

    def takes(self, schema: Schema) -> bool:
        return self.scope == "all" or (self.scope == "flat") == schema.is_flat


LIBRARY_OUTPUTS = [
    Output("cpp/errors.hpp.j2", "include/{ns}/errors.hpp", (cpp,)),
    Output("cpp/schemas.hpp.j2", "include/{ns}/schemas.hpp", (cpp,)),
    Output("cmake/outputs.cmake.j2", "outputs.cmake", (cmake,)),
    Output("python/module.cpp.j2", "python/module.cpp", (python, cpp), ("python",)),
    Output("python/__init__.py.j2", "python/{lib}/__init__.py", (python,), ("python_package",)),
    Output("python/__init__.pyi.j2", "python/{lib}/__init__.pyi", (python,), ("python_package",)),
]
SCHEMA_OUTPUTS = [
    Output("cpp/types.hpp.j2", "include/{ns}/{stem}.hpp", (cpp,), (), "flat"),
    Output("cpp/flatbuffers.hpp.j2", "include/{ns}/{stem}_flatbuffers.hpp", (cpp,), (), "flat"),
    Output("cpp/rules.hpp.j2", "src/{stem}_rules.hpp", (cpp,), (), "flat"),
    Output("cpp/native.cpp.j2", "src/{stem}_native.cpp", (cpp,), ("library",), "flat"),
    Output("cpp/json.cpp.j2", "src/{stem}_json.cpp", (cpp,), ("library", "rapidjson"), "flat"),
    Output("cpp/flatbuffers.cpp.j2", "src/{stem}_flatbuffers.cpp", (cpp,), ("library",), "flat"),
    Output("fbs/schema.fbs.j2", "fbs/{stem}.fbs", (fbs,), ("flatc",), "flat"),
    Output("python/binding.cpp.j2", "python/{stem}_binding.cpp", (python, cpp), ("python",), "flat"),
    Output("jsonschema/schema.json.j2", "jsonschema/{stem}.schema.json", (jsonschema,)),
    Output("markdown/reference.md.j2", "docs/{stem}.md", (markdown,)),
    Output("cpp/composite.hpp.j2", "include/{ns}/{stem}.hpp", (cpp,), (), "composite"),
    Output("cpp/composite_rules.hpp.j2", "src/{stem}_rules.hpp", (cpp,), (), "composite"),
    Output("cpp/composite.cpp.j2", "src/{stem}.cpp", (cpp,), ("library",), "composite"),
    Output("python/composite_binding.cpp.j2", "python/{stem}_binding.cpp", (python, cpp), ("python",), "composite"),
    Output("fbs/composite.fbs.j2", "fbs/{stem}.fbs", (fbs,), ("flatc",), "composite"),
    Output("cpp/composite_flatbuffers.hpp.j2", "include/{ns}/{stem}_flatbuffers.hpp", (cpp,), (), "composite"),
    Output("cpp/composite_flatbuffers.cpp.j2", "src/{stem}_flatbuffers.cpp", (cpp,), ("library",), "composite"),
]
# JSON has no comments and Markdown's are not line prefixes: those templates write their mark themselves.
COMMENT = {".hpp": "//", ".cpp": "//", ".fbs": "//", ".py": "#", ".pyi": "#", ".cmake": "#", ".json": "", ".md": ""}
MARK = "Generated by codegen/generate.py"  # on the first line of every output file (a JSON one: its second)
DEFAULT_LIBRARY = REPO / "schema" / "library.yaml"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),  # one folder per target, plus base.j2
        undefined=jinja2.StrictUndefined,  # a typo in a template fails the generator
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env


def _tidy(text: str) -> str:
    """Trailing whitespace off every line, runs of blank lines collapsed to one, exactly one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def _path(output: Output, library: Library, schema: Schema | None) -> str:
    return output.path.format(ns=library.namespace, lib=library.name, stem=schema.stem if schema else "")


def library_fingerprint(library: Library, schemas: list[Schema]) -> str:
    """Of the library document and every schema document: what the library-wide outputs are rendered from."""
    text = library.fingerprint + "".join(s.fingerprint for s in schemas)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(library: Library, schemas: list[Schema]) -> dict[str, str]:
    """Every output file of a library and its schemas: {relative path: text}."""
    check_together(library, schemas)
    env = _environment()
    files: dict[str, str] = {}

    def emit(output: Output, rel: str, **context) -> None:
        if rel in files:
            raise SchemaError(f"two outputs render {rel}")
        text = env.get_template(output.template).render(
            output=f"generated/{rel}", comment=COMMENT[Path(rel).suffix],
            **{target.__name__.rsplit(".", 1)[-1]: target for target in output.targets}, **context)
        files[rel] = _tidy(text)

    # Every output's path first: the build roles of all of them are what outputs.cmake lists.
    planned = [(o, _path(o, library, s), s) for s in schemas for o in SCHEMA_OUTPUTS if o.takes(s)]
    planned += [(o, _path(o, library, None), None) for o in LIBRARY_OUTPUTS]
    sources: dict[str, list[str]] = {}
    for output, rel, _schema in planned:
        for role in output.build:
            sources.setdefault(role, []).append(rel)
    fingerprint = library_fingerprint(library, schemas)
    for output, rel, schema in planned:
        if schema is not None:
            emit(output, rel, schema=schema, stem=Name(schema.stem), source=schema.source,
                 identity=f"Schema {schema.id}, fingerprint {schema.fingerprint}")
        else:
            shown = schemas if output.scope == "all" else [s for s in schemas if s.is_flat]
            emit(output, rel, library=library, schemas=shown, sources=sources, source=library.source,
                 identity=f"Library {library.name}, fingerprint {fingerprint}")
    return files


def load_all(library_path: Path) -> tuple[Library, list[Schema]]:
    """The library document and, in its order, the schema documents it lists (beside it)."""
    library = load_library(library_path, _display(library_path))
    schemas = []
    loaded: dict[str, Schema] = {}
    for name in library.schema_paths:  # load_library() has checked that each exists
        path = library_path.parent / name
        schemas.append(load(path, _display(path), library, loaded))
        loaded[name] = schemas[-1]
    return library, schemas


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return path.as_posix()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("library", nargs="?", type=Path, default=DEFAULT_LIBRARY,
                    help="the library document (default: schema/library.yaml); it lists the schema documents")
    ap.add_argument("--out", type=Path, default=REPO / "generated", help="output folder (default: generated/)")
    ap.add_argument("--check", action="store_true", help="compare with the output folder instead of writing")
    ap.add_argument("--list-outputs", action="store_true", help="print the output paths, one per line, and exit")
    args = ap.parse_args(argv)

    try:
        files = render(*load_all(args.library))
    except SchemaError as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 2
    if args.list_outputs:
        for rel in sorted(files):
            print(rel)
        return 0

    out: Path = args.out
    shown = _display(out)
    command = "python3 codegen/generate.py" + ("" if out.resolve() == (REPO / "generated").resolve() else f" --out {shown}")
    if args.library.resolve() != DEFAULT_LIBRARY.resolve():
        command += f" {_display(args.library)}"

    def ours(path: Path) -> bool:
        """A file this generator wrote: only those are compared, replaced or deleted."""
        try:
            with path.open(encoding="utf-8") as f:
                return any(MARK in f.readline() for _ in range(2))  # JSON's first line is `{`
        except (OSError, UnicodeDecodeError):
            return False

    existing = ({p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and ours(p)}
                if out.is_dir() else set())
    if args.check:
        stale = False
        for rel in sorted(set(files) | existing):
            want = files.get(rel)
            have = (out / rel).read_text(encoding="utf-8") if rel in existing else None
            if want == have:
                continue
            stale = True
            if want is None:
                print(f"{shown}/{rel}: not produced by the schema any more (delete it)")
            elif have is None:
                print(f"{shown}/{rel}: missing")
            else:
                sys.stdout.writelines(difflib.unified_diff(
                    have.splitlines(keepends=True), want.splitlines(keepends=True),
                    f"committed/{rel}", f"regenerated/{rel}"))
        if stale:
            print(f"{shown}/ is out of date with the schema: run `{command}` and commit the result")
            return 1
        return 0

    for rel, text in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
    for rel in existing - set(files):
        (out / rel).unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
