"""SNOMED CT Expression Constraint Language: a syntax check, no evaluation.

https://confluence.ihtsdotools.org/display/DOCECL (ECL 2.x, brief and long syntax) — used for
the ``constraint`` filter of SNOMED CT value sets
(https://hl7.org/fhir/R4/snomedct.html#filters). A recursive-descent reader of expression
constraints: constraint operators (``<``, ``<<``, ``<!``, ``>``, ``>>``, ``>!``, ``!!<``,
``!!>`` and their long names), member-of (``^``), concept references with optional terms, the
wildcard, nesting, conjunction / disjunction / exclusion (``AND``, ``,``, ``OR``, ``MINUS``),
dotted attributes, refinements (cardinalities, reverse flags, attribute groups, comparisons with
concepts, numbers, strings and booleans) and filters (``{{ … }}``, taken as balanced text).
:func:`syntax_error` answers a message when the text is not ECL, else None.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"\s*(?:(?P<num>#-?\d+(?:\.\d+)?)|(?P<str>\"(?:[^\"\\]|\\.)*\")|(?P<term>\|[^|]*\|)"
    r"|(?P<id>\d{6,18})|(?P<card>\[\s*\d+\s*\.\.\s*(?:\d+|\*)\s*\])"
    r"|(?P<op><<!|<<|<!|>>!|>>|>!|!!<|!!>|<=|>=|!=|\{\{|\}\}|[<>=^*(){}:,.])"
    r"|(?P<word>[A-Za-z][A-Za-z-]*))"
)
_LONG_OPS = {"descendantof", "descendantorselfof", "childof", "childorselfof", "ancestorof",
             "ancestororselfof", "parentof", "parentorselfof", "memberof", "top", "bottom"}
_CONSTRAINT_OPS = {"<<!", "<<", "<!", "<", ">>!", ">>", ">!", ">", "!!<", "!!>"}
_COMPARATORS = {"=", "!=", "<", "<=", ">", ">="}


class _Error(Exception):
    pass


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise _Error(f"unexpected character at {pos + 1}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("eof", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "eof":
            raise _Error("unexpected end")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise _Error(f"'{value}' expected")

    def word(self, *values: str) -> bool:
        kind, value = self.peek()
        return kind == "word" and value.lower() in values

    # expressionConstraint = sub ( (AND|,|OR|MINUS) sub )* | sub ":" refinement
    def expression(self) -> None:
        self.refined()
        while self.word("and", "or", "minus") or self.peek()[1] == ",":
            self.take()
            self.refined()

    def refined(self) -> None:
        self.sub()
        if self.peek()[1] == ":":
            self.take()
            self.refinement()

    def sub(self) -> None:
        kind, value = self.peek()
        if value in _CONSTRAINT_OPS or (kind == "word" and value.lower() in _LONG_OPS
                                        and value.lower() != "memberof"):
            self.take()
        if self.peek()[1] == "^" or self.word("memberof"):
            self.take()
        kind, value = self.take()
        if value == "(":
            self.expression()
            self.expect(")")
        elif kind == "id":
            if self.peek()[0] == "term":
                self.take()
        elif value != "*":
            raise _Error(f"a concept, '*' or '(' expected, not '{value}'")
        while self.peek()[1] == "{{":
            self.filter()
        while self.peek()[1] == ".":
            self.take()
            self.sub()

    def filter(self) -> None:
        self.expect("{{")
        depth = 1
        while depth:
            value = self.take()[1]
            depth += {"{{": 1, "}}": -1}.get(value, 0)

    # refinement = attribute-or-group ( (AND|,|OR) attribute-or-group )*
    def refinement(self) -> None:
        self.attribute_set()
        while self.word("and", "or") or self.peek()[1] == ",":
            self.take()
            self.attribute_set()

    def attribute_set(self) -> None:
        if self.peek()[0] == "card":
            self.take()
        if self.peek()[1] == "{":
            self.take()
            self.refinement()
            self.expect("}")
            return
        if self.peek()[1] == "(":
            self.take()
            self.refinement()
            self.expect(")")
            return
        if self.word("r"):
            self.take()
        self.sub()
        comparator = self.take()[1]
        if comparator not in _COMPARATORS:
            raise _Error(f"a comparison operator expected, not '{comparator}'")
        if self.peek()[0] in ("num", "str") or self.word("true", "false"):
            self.take()
        else:
            self.sub()


def syntax_error(text: str) -> str | None:
    """Why ``text`` is not an ECL expression constraint, or None when it reads as one."""
    try:
        reader = _Reader(text)
        if not reader.tokens:
            raise _Error("empty expression")
        reader.expression()
        if reader.peek()[0] != "eof":
            raise _Error(f"unexpected '{reader.peek()[1]}' after a complete expression")
    except _Error as exc:
        return f"Invalid ECL: '{text}' - parse error ({exc})"
    except RecursionError:
        return f"Invalid ECL: '{text[:100]}' - nested too deeply"
    return None
