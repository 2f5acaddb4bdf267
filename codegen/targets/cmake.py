"""The CMake target: spellings for generated/outputs.cmake, the list of generated files the build compiles."""

from __future__ import annotations


def quoted(text: str) -> str:
    """A CMake quoted argument."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace(";", "\\;") + '"'


def reserved(name: str) -> str | None:  # the CMake list names no schema identifier
    return None
