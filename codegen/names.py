"""One place for naming: every case conversion the templates need comes from here.

A Name keeps an identifier as words and renders the spellings the targets use. Templates never convert case
themselves; they ask a Name for `.snake`, `.pascal`, `.upper` or `.constant`.
"""

from __future__ import annotations

import re

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_CHUNK = re.compile(r"[A-Z][a-z0-9]*")


class Name:
    """An identifier as lower-case words, plus the spelling the schema wrote."""

    __slots__ = ("words", "text")

    def __init__(self, text: str):
        if _SNAKE.match(text):
            self.words = text.split("_")
        elif _PASCAL.match(text):
            self.words = []
            carry = ""
            for chunk in _CHUNK.findall(text):
                # A lone capital joins the next chunk: KvDType -> kv, dtype.
                if len(chunk) == 1 and not carry:
                    carry = chunk
                    continue
                self.words.append((carry + chunk).lower())
                carry = ""
            if carry:
                self.words.append(carry.lower())
        else:
            raise ValueError(f"{text!r} is neither snake_case nor PascalCase")
        self.text = text

    @staticmethod
    def is_snake(text: object) -> bool:
        return isinstance(text, str) and bool(_SNAKE.match(text))

    @staticmethod
    def is_pascal(text: object) -> bool:
        return isinstance(text, str) and bool(_PASCAL.match(text))

    @property
    def snake(self) -> str:
        return "_".join(self.words)

    @property
    def pascal(self) -> str:
        if _PASCAL.match(self.text):
            return self.text
        return "".join(w[:1].upper() + w[1:] for w in self.words)

    @property
    def upper(self) -> str:
        return "_".join(w.upper() for w in self.words)

    @property
    def constant(self) -> str:
        """C++ constant spelling: kPascalCase."""
        return "k" + self.pascal

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Name({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Name) and other.words == self.words

    def __hash__(self) -> int:
        return hash(tuple(self.words))
