"""KV-cache bytes against context length, per model, engine and cache dtype: `python3 -m fib_quant_kv plot`.

    from fib_quant_kv import plot
    series = plot.plot(["llama-3-8b.json", "gemma-2-9b.json"], "kv.svg", engines=["hf", "vllm"], memory="24GiB")

Each series is one config x engine x cache dtype: the bytes that engine holds for `batch` sequences of T tokens
(fib_quant_kv.hf.size_for_engine, the library's sizing), at T from `min_tokens` to `max_tokens` on a log scale.
The memory budget, when given, is a horizontal line. The figure is written as SVG or PNG, by the file's
extension, with matplotlib (Debian: python3-matplotlib) on its non-interactive Agg backend; SVG text stays text
(svg.fonttype none), so labels can be searched and read.
"""

from __future__ import annotations

import os
from typing import Sequence

from . import hf

__all__ = ["plot", "token_counts"]


def token_counts(min_tokens: int, max_tokens: int) -> list[int]:
    """Powers of two and the points halfway between them (on a log scale, roughly), min to max inclusive."""
    out: set[int] = {min_tokens, max_tokens}
    t = 1
    while t <= max_tokens:
        for v in (t, t + t // 2):
            if min_tokens <= v <= max_tokens:
                out.add(v)
        t *= 2
    return sorted(out)


def _label(path: str, text: str) -> str:
    rows = hf.layers(text)
    name = os.path.splitext(os.path.basename(path))[0]
    return name if not rows.get("model_type") else f"{name} ({rows['model_type']})"


def plot(configs: Sequence[str], output: str, *, engines: Sequence[str] = ("hf", "vllm", "llama.cpp"),
         kv_dtypes: Sequence[str] = ("auto",), batch: int = 1, memory: int | str | None = None,
         min_tokens: int = 1024, max_tokens: int = 131072) -> list[str]:
    """Writes the figure to `output` (.svg or .png) and returns the series' labels, in drawing order.

    A config an engine cannot size with a dtype (DescriptorError) is left out of that series with nothing drawn;
    the returned labels are the series drawn."""
    ext = os.path.splitext(output)[1].lower()
    if ext not in (".svg", ".png"):
        raise ValueError(f"plot output must end in .svg or .png, not {output!r}")
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "fib_quant_kv"  # the same SVG for the same figure
    import matplotlib.pyplot as plt

    counts = token_counts(min_tokens, max_tokens)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    labels: list[str] = []
    for path in configs:
        # A model's folder (a Hugging Face snapshot) stands for its config.json, as in kvshape from-hf-config;
        # the series is named after the folder.
        name = os.path.normpath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        model = _label(name, text)
        for engine in engines:
            for dtype in kv_dtypes:
                try:
                    rows = hf.size_for_engine(text, counts, engine=engine, batch=batch, kv_dtype=dtype)
                except ValueError:
                    continue
                label = f"{model} · {engine} · {rows[0]['kv_dtype']}"
                ax.plot([r["tokens"] for r in rows], [r["total_bytes"] / 2**30 for r in rows], marker=".",
                        label=label)
                labels.append(label)
    if memory is not None:
        budget = hf.parse_memory_size(memory) if isinstance(memory, str) else int(memory)
        ax.axhline(budget / 2**30, color="black", linestyle="--", linewidth=1,
                   label=f"memory budget {budget / 2**30:.1f} GiB")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("context length (tokens per sequence)")
    ax.set_ylabel(f"KV cache (GiB, batch {batch})")
    ax.set_title("KV-cache bytes by context length")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(output, format=ext[1:], metadata={"Date": None} if ext == ".svg" else None)
    plt.close(fig)
    return labels
