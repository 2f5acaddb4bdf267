"""A YAML loader that remembers where things were written, so a schema error can name the line.

Mappings load as _LineDict (the line of each key, and any key written twice), sequences as _LineList (the line
of each item). The two keep their underscored names although schema_model.py imports them: a type's name shows
in messages ("structs: expected a list, found _LineDict").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from model import SchemaError


class _LineDict(dict):
    """A mapping that remembers the line each key was written on, and keys written twice."""

    line = 0
    key_lines: dict
    duplicates: list  # (key, line) of every repeated key


class _LineList(list):
    """A sequence that remembers the line each item was written on."""

    line = 0
    item_lines: list


class LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> _LineDict:
    out = _LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    out.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            out.duplicates.append((key, key_node.start_mark.line + 1))
            continue
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> _LineList:
    out = _LineList(loader.construct_object(item, deep=True) for item in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [item.start_mark.line + 1 for item in node.value]
    return out


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def join_path(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def check_duplicates(file: str, node: Any, path: str = "") -> None:
    """A key written twice anywhere in the document, reported with its path."""
    if isinstance(node, _LineDict):
        if node.duplicates:
            key, line = node.duplicates[0]
            raise SchemaError(f"{file}:{line}: {join_path(path, key)}: duplicate key `{key}`")
        for key, value in node.items():
            check_duplicates(file, value, join_path(path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_duplicates(file, value, f"{path}[{i}]")


def plain(value: Any) -> Any:
    """The document as plain data, for the fingerprint."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def read_document(path: Path, display: str) -> Any:
    """The document at `path`, loaded with lines and checked for keys written twice; `display` is the path
    printed in messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SchemaError(f"{display}: cannot read: {e.strerror}") from None
    try:
        loader = LineLoader(text)
        loader.name = display
        try:
            doc = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{display}:{mark.line + 1}" if mark is not None else display
        raise SchemaError(f"{where}: not valid YAML: {e}") from None
    if doc is None:
        raise SchemaError(f"{display}:1: the document is empty")
    check_duplicates(display, doc)
    return doc
