"""The general FHIRPath engine: fhirpathpy with the R4 model, behind the service's own names.

https://hl7.org/fhirpath/N1/ with the FHIR additions of https://hl7.org/fhir/R4/fhirpath.html.
This is the only module of the service that imports fhirpathpy (``tests/test_fhirpath_package.py``
checks it): the fast paths (:mod:`.paths` for search, the validator's invariant compiler) fall
back to it, and every internal of fhirpathpy we rely on (its parse tree, literal unescaping,
``distinct`` by JSON text, typed resource nodes, the ANTLR lexer/parser in
``parser.generated``) is reached through here, so that pinning or replacing the engine is one
module's change (``pyproject.toml`` pins ``fhirpathpy`` for that reason).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fhirpathpy import compile as _fhirpathpy_compile
from fhirpathpy.engine.evaluators import string_literal
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.engine.util import uniq
from fhirpathpy.models import models as _models
from fhirpathpy.parser import parse

__all__ = ["MODEL", "Compiled", "ResourceNode", "compile_expression", "node", "parse",
           "strict_parse", "string_literal", "typed_resource", "uniq"]

# fhirpathpy's R4 model: choice elements (choiceTypePaths), element types (path2Type),
# content references (pathsDefinedElsewhere)
MODEL: dict[str, Any] = _models["r4"]

# a compiled expression: ``fn(resource_or_node, variables=None) -> collection``
Compiled = Callable[..., list[Any]]


def compile_expression(expression: str, options: dict[str, Any] | None = None) -> Compiled:
    """Compile with the R4 model (raises on an expression fhirpathpy cannot compile).
    ``options``: fhirpathpy's (``userInvocationTable``, ``traceFn``, ``returnRawData``)."""
    fn: Compiled = _fhirpathpy_compile(expression, MODEL, options)
    return fn


def typed_resource(resource: Any) -> Any:
    """A resource as a typed node (for ``%resource`` / ``%rootResource``), so that ``type()``
    and paths below it see FHIR types; anything else as it is."""
    if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
        return ResourceNode.create_node(resource, resource["resourceType"])
    return resource


def node(data: Any, type_path: str | None) -> Any:
    """An element typed by its path in the R4 model (``Observation.component``), which is how
    fhirpathpy resolves choice elements below it."""
    return ResourceNode.create_node(data, type_path)


def strict_parse(expression: str) -> None:
    """Parse with the FHIRPath grammar, raising ValueError on any syntax error (fhirpathpy's
    own parser recovers silently) or when the whole text is not consumed."""
    from antlr4 import CommonTokenStream, InputStream, Token
    from antlr4.error.ErrorListener import ErrorListener
    from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
    from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

    class _Raise(ErrorListener):  # type: ignore[misc]  # (antlr4 is untyped)
        def syntaxError(self, recognizer: Any, offending: Any, line: int, column: int,
                        msg: str, e: Any) -> None:
            raise ValueError(f"column {column}: {msg}")

    lexer = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Raise())
    stream = CommonTokenStream(lexer)
    parser = FHIRPathParser(stream)
    parser.removeErrorListeners()
    parser.addErrorListener(_Raise())
    parser.expression()
    if stream.LA(1) != Token.EOF:
        raise ValueError("unexpected text after the expression")
