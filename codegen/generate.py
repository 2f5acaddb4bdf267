#!/usr/bin/env python3
"""Renders everything under generated/ from a schema document.

    python3 codegen/generate.py                      # regenerate generated/ from schema/*.yaml
    python3 codegen/generate.py --check              # exit 1 and show a diff if generated/ is stale
    python3 codegen/generate.py --out DIR SCHEMA...  # render into another folder

Needs Python 3 with Jinja2 and PyYAML (Debian: python3-jinja2 python3-yaml). The schema is checked before
anything is rendered; an invalid schema exits with status 2 and a message naming its file, line and key.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import jinja2  # noqa: E402

import cpp  # noqa: E402
from names import Name  # noqa: E402
from schema_model import Schema, SchemaError, load  # noqa: E402

# One template per output kind: (template, output path relative to the output folder).
# The comment prefix of the file's header lines follows from its extension.
OUTPUTS = [
    ("errors.hpp.j2", "include/{ns}/errors.hpp"),
    ("types.hpp.j2", "include/{ns}/{stem}.hpp"),
    ("flatbuffers.hpp.j2", "include/{ns}/{stem}_flatbuffers.hpp"),
    ("rules.hpp.j2", "src/{stem}_rules.hpp"),
    ("native.cpp.j2", "src/{stem}_native.cpp"),
    ("json.cpp.j2", "src/{stem}_json.cpp"),
    ("flatbuffers.cpp.j2", "src/{stem}_flatbuffers.cpp"),
    ("schema.fbs.j2", "fbs/{stem}.fbs"),
]
COMMENT = {".hpp": "//", ".cpp": "//", ".fbs": "//", ".py": "#", ".md": "<!--"}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
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


def render(schema: Schema) -> dict[str, str]:
    """Every output file of one schema: {relative path: text}."""
    env = _environment()
    stem = Name(schema.stem)
    files: dict[str, str] = {}
    for template, pattern in OUTPUTS:
        rel = pattern.format(ns=schema.namespace, stem=stem.snake)
        text = env.get_template(template).render(schema=schema, stem=stem, cpp=cpp, output=f"generated/{rel}",
                                                 comment=COMMENT[Path(rel).suffix])
        files[rel] = _tidy(text)
    return files


def default_schemas() -> list[Path]:
    return sorted((REPO / "schema").glob("*.yaml"))


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return path.as_posix()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("schemas", nargs="*", type=Path, help="schema documents (default: schema/*.yaml)")
    ap.add_argument("--out", type=Path, default=REPO / "generated", help="output folder (default: generated/)")
    ap.add_argument("--check", action="store_true", help="compare with the output folder instead of writing")
    args = ap.parse_args(argv)

    schemas = args.schemas or default_schemas()
    if not schemas:
        print("generate.py: no schema documents found", file=sys.stderr)
        return 2
    files: dict[str, str] = {}
    try:
        for path in schemas:
            for rel, text in render(load(path, _display(path))).items():
                if rel in files:
                    print(f"generate.py: two schemas both render {rel}", file=sys.stderr)
                    return 2
                files[rel] = text
    except SchemaError as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 2

    out: Path = args.out
    existing = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} if out.is_dir() else set()
    if args.check:
        stale = False
        for rel in sorted(set(files) | existing):
            want = files.get(rel)
            have = (out / rel).read_text(encoding="utf-8") if rel in existing else None
            if want == have:
                continue
            stale = True
            if want is None:
                print(f"generated/{rel}: not produced by the schema any more (delete it)")
            elif have is None:
                print(f"generated/{rel}: missing")
            else:
                sys.stdout.writelines(difflib.unified_diff(
                    have.splitlines(keepends=True), want.splitlines(keepends=True),
                    f"committed/{rel}", f"regenerated/{rel}"))
        if stale:
            print("generated/ is out of date with schema/: run `python3 codegen/generate.py` and commit the result")
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
