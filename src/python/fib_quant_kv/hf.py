"""KV-cache sizing from a Hugging Face config.json: `kvshape from-hf-config` from Python.

    from fib_quant_kv import hf
    text = open("config.json").read()
    rows = hf.size_kv_cache(text, [4096, 32768])           # the v1 descriptors, contiguous
    rows[0]["key"], rows[0]["bytes_per_token"], rows[0]["total_bytes"], rows[0]["notes"]
    hf.layers(text)["layers"][0]                           # the cache model: one spec per layer
    hf.size_for_engine(text, [4096], engine="vllm", memory="24GiB")[0]["max_sequences"]

size_kv_cache: one row per token count: {"model_type", "key" and "value" (validated KvTensorShapeV1),
"bytes_per_token" (K+V for one token of one sequence), "total_bytes" (K+V for batch sequences of that many
tokens), "notes", "json" (the row as `kvshape from-hf-config --format json` prints it)}.

layers: {"model_type", "torch_dtype", "layers": [{"kind", "window", "kv_heads", "key_dim", "value_dim",
"kv_lora_rank", "rope_dim", "state_elements"}, ...], "notes"}: what the reader made of the config (step 2 of the
sizing module).

size_for_engine: one row per token count, as that engine allocates the cache (step 3): {"engine", "model_type",
"tokens", "batch", "kv_dtype", "total_bytes", "state_bytes", "groups": [layer spec + "layers",
"padding_layers", "tokens", "bytes"], "notes"}, and with memory, "max_tokens" and "max_sequences". The same
figures as `kvshape from-hf-config --engine E --format json`.

A config that cannot be sized raises DescriptorError: kind parse (a key missing or of the wrong type),
unsupported (e.g. multi-head latent attention for the v1 descriptors, a dtype an engine does not take), or the
descriptor's own validation error.
"""

from __future__ import annotations

from typing import Any, Iterable

from . import _native
from ._native import KvDType, KvRopeState

__all__ = ["size_kv_cache", "layers", "size_for_engine", "parse_memory_size", "ENGINES"]

ENGINES = ("hf", "vllm", "llama.cpp")


def _counts(tokens: int | Iterable[int]) -> list[int]:
    return [tokens] if isinstance(tokens, int) else list(tokens)


def size_kv_cache(config: str | bytes, tokens: int | Iterable[int], *, batch: int = 1,
                  dtype: KvDType | str | None = None,
                  rope: KvRopeState | str | None = None) -> list[dict[str, Any]]:
    """One row per token count. dtype defaults to the config's torch_dtype; rope (the keys' state) to post_rope."""
    return _native._hf_size(config, _counts(tokens), batch, dtype, rope)


def layers(config: str | bytes) -> dict[str, Any]:
    """The cache model the reader builds from the config: one layer spec per decoder layer."""
    return _native._hf_layers(config)


def size_for_engine(config: str | bytes, tokens: int | Iterable[int], *, engine: str, batch: int = 1,
                    kv_dtype: str = "auto", block_size: int = 16, max_num_batched_tokens: int = 8192,
                    ubatch: int = 512, memory: int | str | None = None) -> list[dict[str, Any]]:
    """One row per token count: the cache `engine` ("hf", "vllm" or "llama.cpp") allocates for batch sequences.

    memory (bytes, or a size such as "24GiB") adds max_tokens and max_sequences."""
    return _native._hf_engine_size(config, _counts(tokens), engine, batch, kv_dtype, block_size,
                                   max_num_batched_tokens, ubatch, memory)


def parse_memory_size(text: str) -> int:
    """A memory size in bytes: "24GiB", "80GB", "512MiB", "1.5GiB" or a byte count, as --memory reads it."""
    return int(_native._parse_memory_size(text))
