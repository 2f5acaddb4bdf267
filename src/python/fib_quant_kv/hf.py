"""KV-cache sizing from a Hugging Face config.json: `kvshape from-hf-config` from Python.

    from fib_quant_kv import hf
    rows = hf.size_kv_cache(open("config.json").read(), [4096, 32768])
    rows[0]["key"], rows[0]["bytes_per_token"], rows[0]["total_bytes"], rows[0]["notes"]

Each row: {"model_type", "key" and "value" (validated KvTensorShapeV1), "bytes_per_token" (K+V for one token of
one sequence), "total_bytes" (K+V for batch sequences of that many tokens), "notes", "json" (the row as
`kvshape from-hf-config --format json` prints it)}. A config that cannot be sized raises DescriptorError: kind
parse (a key missing or of the wrong type), unsupported (e.g. multi-head latent attention), or the descriptor's
own validation error.
"""

from __future__ import annotations

from typing import Any, Iterable

from . import _native
from ._native import KvDType, KvRopeState

__all__ = ["size_kv_cache"]


def size_kv_cache(config: str | bytes, tokens: int | Iterable[int], *, batch: int = 1,
                  dtype: KvDType | str | None = None,
                  rope: KvRopeState | str | None = None) -> list[dict[str, Any]]:
    """One row per token count. dtype defaults to the config's torch_dtype; rope (the keys' state) to post_rope."""
    counts = [tokens] if isinstance(tokens, int) else list(tokens)
    return _native._hf_size(config, counts, batch, dtype, rope)
