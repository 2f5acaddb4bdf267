"""Descriptors inside model checkpoints (safetensors and GGUF): the library's checkpoint module from Python.

    from fib_quant_kv import checkpoint
    checkpoint.attach("model.safetensors", "model.safetensors", key_shape, "past.{layer}.key")
    info = checkpoint.inspect("model.safetensors")      # tensors, metadata, attached descriptors
    problems = checkpoint.verify("model.safetensors")   # [] when every descriptor agrees with its tensors

The layouts, metadata keys and caps are docs/checkpoints.md. A file that cannot be read raises DescriptorError
(kind io, or parse for a header that does not decode); disagreements are DescriptorError objects (kind
tensor_mismatch) in a list, or raised by attach(). Writes are atomic and stream the tensor data.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from . import _native
from ._native import DescriptorError, KvTensorShapeV1

__all__ = ["inspect", "verify", "check", "attach", "detach"]


def inspect(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The header of a safetensors or GGUF file (never its data) and the descriptors attached to it:
    {"format", "version", "data_offset", "alignment", "file_size",
     "tensors": [{"name", "dtype", "kv_dtype" (KvDType or None), "shape" (outermost first), "begin", "end"}],
     "metadata": {key: value} (strings, numbers, bools; arrays as {"array_of", "count"}),
     "descriptors": [{"key", "target", "per_layer", "json", "shape" (KvTensorShapeV1 or None),
                      "error" (DescriptorError or None), "tensors"}]}."""
    return _native._checkpoint_inspect(path)


def verify(path: str | os.PathLike[str]) -> list[DescriptorError]:
    """Every disagreement between each attached descriptor and its tensors, each naming the tensor; [] when all
    agree."""
    return _native._checkpoint_verify(path)


def check(path: str | os.PathLike[str], shape: KvTensorShapeV1, target: str) -> list[DescriptorError]:
    """What attach() would refuse: every disagreement between `shape` and the tensors `target` names (a tensor
    name, or a pattern with {layer}); [] when they agree."""
    return _native._checkpoint_check(path, shape, target)


def attach(src: str | os.PathLike[str], dst: str | os.PathLike[str], shape: KvTensorShapeV1, target: str,
           progress: Callable[[int, int], None] | None = None) -> None:
    """Writes dst (which may be src): src with `shape` stored under `target`'s metadata key. Raises
    DescriptorError for a descriptor that is invalid or disagrees with its tensors (nothing is written).
    `progress(done, total)` is called as the tensor data is copied."""
    _native._checkpoint_attach(src, dst, shape, target, progress)


def detach(src: str | os.PathLike[str], dst: str | os.PathLike[str], target: str,
           progress: Callable[[int, int], None] | None = None) -> None:
    """Writes dst (which may be src): src without the descriptor of `target`."""
    _native._checkpoint_detach(src, dst, target, progress)
