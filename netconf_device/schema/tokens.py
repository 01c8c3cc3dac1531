"""Tokens of Junos' text and ``set`` formats, and the quoting rule Junos prints strings with."""

from __future__ import annotations

import re
from typing import NamedTuple

# Characters that make Junos print a value in double quotes.
_QUOTE_TRIGGERS = frozenset(" \t\r\n\"'#;{}[]()\\$!&|<>*?~^`=")
PUNCTUATION = frozenset("{};[]")


def quote(value: str) -> str:
    """``value`` as Junos prints it: bare when safe, else in double quotes with ``\\`` escapes."""
    if value and not any(ch in _QUOTE_TRIGGERS or ord(ch) < 32 for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Token(NamedTuple):
    kind: str  # "word" | "{" | "}" | ";" | "[" | "]" | "comment" | "newline"
    text: str  # the word without quotes / the comment text with its delimiters
    line: int
    column: int  # 1-based; 0 when not computed (fast path of plain set lines)
    quoted: bool = False


class TokenizeError(Exception):
    def __init__(self, message: str, line: int, column: int, token: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.token = token


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_SCANNER = re.compile(
    r"""(?P<nl>\n)
      | (?P<ws>[ \t\r\f\v]+)
      | (?P<hash>\#[^\n]*)
      | (?P<comment>/\*.*?\*/)
      | (?P<open>/\*)
      | (?P<quoted>"(?:[^"\\]|\\.)*")
      | (?P<badquote>")
      | (?P<punct>[{};\[\]])
      | (?P<word>[^\s"{};\[\]]+)
    """,
    re.VERBOSE | re.DOTALL,
)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    return _UNESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def tokenize(text: str, newlines: bool = False) -> list[Token]:
    """Split Junos text into tokens. ``#`` starts a comment to the end of the line (dropped);
    ``/* ... */`` is kept as a ``comment`` token (an annotation). With ``newlines`` a ``newline`` token
    ends every line (the ``set`` format is line oriented)."""
    tokens: list[Token] = []
    append = tokens.append
    line, line_start = 1, 0
    for m in _SCANNER.finditer(text):
        kind = m.lastgroup
        if kind == "ws" or kind == "hash":
            continue
        start = m.start()
        if kind == "nl":
            if newlines:
                append(Token("newline", "\n", line, start - line_start + 1))
            line += 1
            line_start = start + 1
            continue
        column = start - line_start + 1
        value = m.group()
        if kind == "word":
            append(Token("word", value, line, column))
        elif kind == "punct":
            append(Token(value, value, line, column))
        elif kind == "quoted":
            append(Token("word", _unescape(value[1:-1]), line, column, True))
            breaks = value.count("\n")
            if breaks:
                line += breaks
                line_start = start + value.rfind("\n") + 1
        elif kind == "comment":
            append(Token("comment", value, line, column))
            breaks = value.count("\n")
            if breaks:
                line += breaks
                line_start = start + value.rfind("\n") + 1
        elif kind == "open":
            raise TokenizeError("unterminated comment", line, column, "/*")
        else:
            raise TokenizeError("missing closing quote", line, column, text[start : start + 20])
    return tokens


_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_QUOTED_OR_WORD = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s"]+)')
_SPECIAL = re.compile(r'["#\[\]{};\\]|/\*')


def text_of(token: Token | str) -> str:
    return token if token.__class__ is str else token.text


def _quoted_words(raw: str) -> list[str] | None:
    """The words of a line whose only special characters are pairs of double quotes without escapes
    (``... pre-shared-key ascii-text "a key"``), or None for anything else."""
    if "\\" in raw:
        return None
    parts = raw.split('"')
    if len(parts) % 2 == 0:
        return None  # an odd number of quotes: the tokenizer reports it
    words: list[str] = []
    for k, part in enumerate(parts):
        if k % 2:
            words.append(part)
        elif _SPECIAL.search(part) is not None:
            return None
        else:
            words.extend(part.split())
    return words


def scan_lines(text: str, errors: list[TokenizeError] | None = None) -> tuple[list[str], dict[int, list[Token | str]]]:
    """The lines of ``text`` (``set`` format), and the words of the lines that are not plain words
    (quotes, brackets, braces, comments) by line index. A plain line is just ``line.split()``: the caller
    splits it when it gets there, so a big load holds no second copy of its lines. Words of lines with
    only quoted strings besides plain words stay ``str``; other special lines are Tokens. A line that
    cannot be tokenized raises TokenizeError (with its line number) before anything runs; with ``errors``
    it is added there instead and the line comes back empty (skipped), so every bad line is reported."""
    lines = text.split("\n")
    special: dict[int, list[Token | str]] = {}
    index, scanned = 0, 0
    for m in _SPECIAL.finditer(text):  # one scan of the whole text finds the few special lines
        at = m.start()
        index += text.count("\n", scanned, at)
        scanned = at
        if index in special:
            continue
        raw = lines[index]
        words = _quoted_words(raw)
        if words is not None:
            special[index] = words
            continue
        if _SPECIAL.search(_QUOTED.sub("q", raw)) is None:  # only quoted strings are special: plain words
            special[index] = [_unescape(q.group(1)) if q.group(1) is not None else q.group(2)
                              for q in _QUOTED_OR_WORD.finditer(raw)]
            continue
        try:
            special[index] = [t._replace(line=index + 1) for t in tokenize(raw)]
        except TokenizeError as exc:
            exc.line = index + 1
            if errors is None:
                raise
            errors.append(exc)
            special[index] = []
    return lines, special


def column_of(raw_line: str, index: int) -> int:
    """Column of the ``index``-th token of a line (for error messages)."""
    tokens = tokenize(raw_line)
    return tokens[index].column if index < len(tokens) else len(raw_line) + 1
