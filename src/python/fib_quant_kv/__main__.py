"""python3 -m fib_quant_kv: the command line of the Python module.

    python3 -m fib_quant_kv check [--block-dim B] [FILE|-]

`check` reads JSON Lines (one descriptor per line) and writes one JSON verdict line per input line, byte for
byte what `kvshape check` writes (both call the library's check_line), with the same exit status: 0 when every
line is a valid descriptor, 1 when one is not, 2 for a usage or I/O error.
"""

from __future__ import annotations

import argparse
import sys

from . import _native

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
U32_MAX = 0xFFFFFFFF


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2, as kvshape's do
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _u32(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > U32_MAX:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {U32_MAX}, got '{text}'")
    return int(text)


def _check(path: str, block_dim: int | None) -> int:
    try:
        source = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as e:
        print(f"python3 -m fib_quant_kv check: cannot open {path}: {e.strerror}", file=sys.stderr)
        return EXIT_USAGE
    out = sys.stdout.buffer
    all_valid = True
    try:
        with source:
            # Lines end at b"\n" only (a "\r" stays part of the line, as kvshape reads it); a last line without
            # one still counts.
            for number, line in enumerate(source, 1):
                if line.endswith(b"\n"):
                    line = line[:-1]
                verdict, ok = _native._check_line(line, number, block_dim)
                all_valid &= ok
                out.write(verdict + b"\n")
    except OSError as e:
        print(f"python3 -m fib_quant_kv check: error reading {path}: {e.strerror}", file=sys.stderr)
        return EXIT_USAGE
    try:
        out.flush()
    except OSError as e:
        print(f"python3 -m fib_quant_kv check: error writing output: {e.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_VALID if all_valid else EXIT_INVALID


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(prog="python3 -m fib_quant_kv",
                 description="Check fib_quant_kv KV-cache tensor descriptors (the Python module's command line).")
    commands = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check = commands.add_parser(
        "check", help="read JSON Lines (one descriptor per line) and write one JSON verdict line per input line")
    check.add_argument("input", nargs="?", default="-", help="JSON Lines file, or - for standard input (default)")
    check.add_argument("--block-dim", type=_u32, metavar="B",
                       help="also require head_dim to be a multiple of B (0 never is)")
    plot = commands.add_parser(
        "plot", help="plot KV-cache bytes against context length, one line per config x engine x cache dtype")
    plot.add_argument("configs", nargs="+", metavar="CONFIG", help="Hugging Face config.json files")
    plot.add_argument("-o", "--output", required=True, help="the figure: a .svg or .png file")
    plot.add_argument("--engine", default="hf,vllm,llama.cpp", help="engines, comma-separated (default: all three)")
    plot.add_argument("--kv-dtype", default="auto", help="cache dtypes, comma-separated (default: auto)")
    plot.add_argument("--batch", type=_u32, default=1, help="sequences held at once (default: 1)")
    plot.add_argument("--memory", help="the memory budget, drawn as a line (e.g. 24GiB)")
    plot.add_argument("--max-tokens", type=_u32, default=131072, help="the longest context plotted")
    args = ap.parse_args(argv)
    if args.command is None:
        ap.error("a command is required (the commands: check, plot)")
    if args.command == "plot":
        return _plot(args)
    return _check(args.input, args.block_dim)


def _plot(args: argparse.Namespace) -> int:
    from . import plot as plotting

    engines = [e for e in args.engine.split(",") if e]
    unknown = [e for e in engines if e not in ("hf", "vllm", "llama.cpp")]
    if unknown or not engines or not args.output.lower().endswith((".svg", ".png")) or args.max_tokens < 1024:
        why = (f"unknown engine {unknown[0]!r}" if unknown else "no engine" if not engines else
               "the output must end in .svg or .png" if args.max_tokens >= 1024 else "--max-tokens is under 1024")
        print(f"python3 -m fib_quant_kv plot: {why}", file=sys.stderr)
        return EXIT_USAGE
    try:
        labels = plotting.plot(args.configs, args.output, engines=engines,
                               kv_dtypes=[d for d in args.kv_dtype.split(",") if d], batch=args.batch,
                               memory=args.memory, max_tokens=args.max_tokens)
    except OSError as e:
        print(f"python3 -m fib_quant_kv plot: {e.filename}: {e.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as e:  # a config that cannot be read, a bad --memory
        print(f"python3 -m fib_quant_kv plot: {e}", file=sys.stderr)
        return EXIT_INVALID
    for label in labels:
        print(label)
    return EXIT_VALID


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # a reader that stopped early (| head): not an error of ours
        sys.exit(EXIT_USAGE)
