"""fib_quant_kv.plot and `python3 -m fib_quant_kv plot`: the file, not its pixels.

A PNG is checked by its signature and IHDR chunk; an SVG is parsed as XML: one line element per series asked
for (matplotlib names them line2d_N), each series' label in the legend as text, the axis labels, and the
memory budget's line and label. The series' values are the library's sizing (fib_quant_kv.hf, held to kvshape
and to hand-worked figures in test_formats.py and tests/cli/test_cli_hf_config.py).
"""

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from fib_quant_kv import plot  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = os.path.join(REPO, "examples", "configs")
LLAMA = os.path.join(CONFIGS, "llama-3-8b.json")
GEMMA2 = os.path.join(CONFIGS, "gemma-2-9b.json")
SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(path):
    root = ET.parse(path).getroot()
    return [t.text or "" for t in root.iter(SVG + "text")], root


def line_groups(root):
    return [g for g in root.iter(SVG + "g") if (g.get("id") or "").startswith("line2d_")]


def test_token_counts_are_log_spaced_and_bounded():
    assert plot.token_counts(1024, 8192) == [1024, 1536, 2048, 3072, 4096, 6144, 8192]
    assert plot.token_counts(1000, 1000) == [1000]


def test_svg_has_one_series_per_config_engine_dtype(tmp_path):
    out = str(tmp_path / "kv.svg")
    labels = plot.plot([LLAMA, GEMMA2], out, engines=["hf", "vllm"], kv_dtypes=["auto", "fp8"], memory="24GiB",
                       max_tokens=32768)
    # hf keeps no fp8 cache: 2 configs x (hf auto, vllm auto, vllm fp8) = 6 series.
    assert labels == ["llama-3-8b (llama) · hf · bf16", "llama-3-8b (llama) · vllm · bf16",
                      "llama-3-8b (llama) · vllm · fp8_e4m3", "gemma-2-9b (gemma2) · hf · f32",
                      "gemma-2-9b (gemma2) · vllm · bf16", "gemma-2-9b (gemma2) · vllm · fp8_e4m3"]
    texts, root = svg_texts(out)
    for label in labels + ["memory budget 24.0 GiB", "context length (tokens per sequence)",
                           "KV cache (GiB, batch 1)"]:
        assert label in texts, label
    # 6 series, the budget line, and the legend's 7 sample lines; the grid lines are line2d_ too, so count the
    # ones whose paths carry data: every series has one path with markers.
    series_paths = [g for g in line_groups(root) if g.find(SVG + "path") is not None]
    assert len(series_paths) >= len(labels) + 1


def test_a_model_folder_stands_for_its_config_json(tmp_path):
    folder = tmp_path / "Meta-Llama-3-8B"
    folder.mkdir()
    (folder / "config.json").write_bytes(open(LLAMA, "rb").read())
    labels = plot.plot([str(folder)], str(tmp_path / "kv.svg"), engines=["vllm"], max_tokens=4096)
    assert labels == ["Meta-Llama-3-8B (llama) · vllm · bf16"]


def test_png_file(tmp_path):
    out = str(tmp_path / "kv.png")
    labels = plot.plot([LLAMA], out, engines=["llama.cpp"], max_tokens=8192)
    assert labels == ["llama-3-8b (llama) · llama.cpp · f16"]
    with open(out, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (900, 550)  # 9 x 5.5 inches at matplotlib's 100 dpi


def test_command_line(tmp_path):
    out = str(tmp_path / "kv.svg")
    r = subprocess.run([sys.executable, "-m", "fib_quant_kv", "plot", LLAMA, GEMMA2, "--engine", "vllm",
                        "--memory", "24GiB", "-o", out], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["llama-3-8b (llama) · vllm · bf16", "gemma-2-9b (gemma2) · vllm · bf16"]
    texts, _ = svg_texts(out)
    assert "memory budget 24.0 GiB" in texts
    bad = subprocess.run([sys.executable, "-m", "fib_quant_kv", "plot", LLAMA, "-o", str(tmp_path / "kv.pdf")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "the output must end in .svg or .png" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "fib_quant_kv", "plot", LLAMA, "--engine", "tgi", "-o", out],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown engine 'tgi'" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "fib_quant_kv", "plot", LLAMA, "--memory", "lots", "-o", out],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "lots" in bad.stderr
