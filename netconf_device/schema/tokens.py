"""Tokens of Junos' text and ``set`` formats, and the quoting rule Junos prints strings with."""

from __future__ import annotations

from dataclasses import dataclass

# Characters that make Junos print a value in double quotes.
_QUOTE_TRIGGERS = frozenset(" \t\r\n\"'#;{}[]()\\$!&|<>*?~^`=")
PUNCTUATION = frozenset("{};[]")


def quote(value: str) -> str:
    """``value`` as Junos prints it: bare when safe, else in double quotes with ``\\`` escapes."""
    if value and not any(ch in _QUOTE_TRIGGERS or ord(ch) < 32 for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@dataclass(frozen=True)
class Token:
    kind: str  # "word" | "{" | "}" | ";" | "[" | "]" | "comment" | "newline"
    text: str  # the word without quotes / the comment text with its delimiters
    line: int
    column: int
    quoted: bool = False


class TokenizeError(Exception):
    def __init__(self, message: str, line: int, column: int, token: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.token = token


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def tokenize(text: str, newlines: bool = False) -> list[Token]:
    """Split Junos text into tokens. ``#`` starts a comment to the end of the line (dropped);
    ``/* ... */`` is kept as a ``comment`` token (an annotation). With ``newlines`` a ``newline`` token
    ends every line (the ``set`` format is line oriented)."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    line, line_start = 1, 0
    while i < n:
        ch = text[i]
        if ch == "\n":
            if newlines:
                tokens.append(Token("newline", "\n", line, i - line_start + 1))
            line += 1
            i += 1
            line_start = i
            continue
        if ch in " \t\r\f\v":
            i += 1
            continue
        column = i - line_start + 1
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise TokenizeError("unterminated comment", line, column, "/*")
            comment = text[i : end + 2]
            tokens.append(Token("comment", comment, line, column))
            line += comment.count("\n")
            if "\n" in comment:
                line_start = i + comment.rfind("\n") + 1
            i = end + 2
            continue
        if ch == '"':
            j = i + 1
            buf: list[str] = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    nxt = text[j + 1]
                    buf.append(_ESCAPES.get(nxt, nxt))
                    j += 2
                    continue
                if text[j] == "\n":
                    line += 1
                    line_start = j + 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise TokenizeError("missing closing quote", line, column, text[i : i + 20])
            tokens.append(Token("word", "".join(buf), line, column, quoted=True))
            i = j + 1
            continue
        if ch in PUNCTUATION:
            tokens.append(Token(ch, ch, line, column))
            i += 1
            continue
        j = i
        while j < n and text[j] not in " \t\r\n\f\v\"" and text[j] not in PUNCTUATION:
            j += 1
        tokens.append(Token("word", text[i:j], line, column))
        i = j
    return tokens
