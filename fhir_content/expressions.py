"""FHIRPath expressions: checked and compiled once at load, evaluated per request.

fhirpathpy's own parser ignores syntax errors (it parses ``resources(`` without
complaint), so expressions are first parsed here, with fhirpathpy's generated
ANTLR lexer and parser and its tree listener (private names of the pinned
version, see :mod:`fhir_content.fhirpath_compiler`), an error listener that
raises and a check that the whole text was consumed. The parse tree is then
checked statically: every function exists, and every value-set URL written as
a string literal in ``resourcesIn`` / ``inValueSet`` / ``whereCodeIn`` names a
loaded ValueSet. The same tree is then compiled into closures
(:mod:`fhir_content.fhirpath_compiler`: fhirpathpy's semantics without
re-walking the tree on every evaluation).

The functions added to FHIRPath (``resources``, ``resourcesIn``,
``inValueSet``, ``whereCodeIn``) answer from the per-request :class:`~fhir_content.datacontext.DataView`.
fhirpathpy's user functions cannot see the evaluation context, so the view of
the request being evaluated is held in a :class:`contextvars.ContextVar` (safe
across threads). fhirpathpy also resets module-global constants (``today()``,
``now()``) at the start of every evaluation; with gunicorn sync workers each
process evaluates one request at a time, and for threaded servers the only
effect is that two concurrent evaluations share a clock reading.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.error.ErrorListener import ErrorListener
from antlr4.tree.Tree import ParseTreeWalker
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from fhirpathpy.engine.invocations import invocation_registry
from fhirpathpy.engine.nodes import FP_DateTime, FP_Time
from fhirpathpy.models import models
from fhirpathpy.parser.ASTPathListener import ASTPathListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from fhir_content.datacontext import CODED_ELEMENTS, EvaluationTimeout
from fhir_content.fhirpath_compiler import FHIRPathCompileError, FHIRPathCompiler
from fhir_content.problems import Problems, json_path
from fhir_content.terminology import Terminology, UnknownValueSet

if TYPE_CHECKING:
    from fhir_content.datacontext import DataView

FHIRPATH = "text/fhirpath"
R4_MODEL = models["r4"]

_current_view: contextvars.ContextVar[DataView] = contextvars.ContextVar("fhir_content_view")


def _view() -> DataView:
    return _current_view.get()


def _resources(_inputs: list, type_name: str) -> list[dict]:
    return _view().resources(type_name, typed=True)


def _resources_in(_inputs: list, type_name: str, vs_url: str) -> list[dict]:
    return _view().resources_in(type_name, vs_url, typed=True)


def _in_value_set(inputs: list, vs_url: str) -> bool:
    return _view().in_value_set(inputs, vs_url)


def _where_code_in(inputs: list, vs_url: str) -> list[dict]:
    return _view().where_code_in(inputs, vs_url)


#: The functions added to FHIRPath, in fhirpathpy's ``userInvocationTable`` shape: fn(inputs, *args), argument
#: types by arity (also what fhirpathpy itself needs to run the content's expressions).
FUNCTIONS: dict[str, dict[str, Any]] = {
    "resources": {"fn": _resources, "arity": {1: ["String"]}},
    "resourcesIn": {"fn": _resources_in, "arity": {2: ["String", "String"]}},
    "inValueSet": {"fn": _in_value_set, "arity": {1: ["String"]}},
    "whereCodeIn": {"fn": _where_code_in, "arity": {1: ["String"]}},
}
_VALUE_SET_FUNCTIONS = ("resourcesIn", "inValueSet", "whereCodeIn")
_COMPILER = FHIRPathCompiler(R4_MODEL, FUNCTIONS)
KNOWN_FUNCTIONS = frozenset(invocation_registry) | frozenset(FUNCTIONS)


class ExpressionError(Exception):
    """An expression failed at run time. The message names the artifact and path, never patient data."""

    def __init__(self, where: str, cause: BaseException):
        self.where = where
        self.cause = cause
        super().__init__(f"{where}: {safe_reason(cause)}")


def safe_reason(exc: BaseException) -> str:
    """A loggable reason: our own errors name only content; other messages may quote patient data."""
    if isinstance(exc, UnknownValueSet):
        return str(exc)
    message = str(exc)
    if isinstance(exc, ValueError) and message.startswith("Attempting to access an undefined environment variable"):
        return message
    return type(exc).__name__


class Scope(NamedTuple):
    """What one evaluation sees: the root resource, the ``%`` variables and the request's data view.

    A tuple rather than a frozen dataclass: one is made for each Library variable a request computes, and
    tuples are the cheapest immutable record to build.
    """

    root: Mapping[str, Any]
    variables: Mapping[str, Any]
    view: DataView


@dataclass(frozen=True)
class Expression:
    """A compiled FHIRPath expression; ``where`` (file and JSON path) is used in error messages.

    A *raw* expression returns fhirpathpy's internal nodes instead of copying
    the result into plain JSON: for values that only feed other expressions
    (Library variables), so large resource lists are not deep-copied.
    """

    text: str
    where: str
    raw: bool
    #: ``function(resource, variables)``: the compiled evaluation, without the view and the error wrapping.
    function: Callable[..., list] = field(repr=False)
    #: What the expression reads, found in its text: ``(resource type, value set or None)`` of each
    #: ``resources``/``resourcesIn`` call (type ``*`` when not a literal), the ``%`` names it uses,
    #: and the element names it navigates (``value``, ``coding``).
    reads: frozenset[tuple[str, str | None]] = frozenset()
    names: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()

    def evaluate(self, scope: Scope) -> list[Any]:
        """The result: plain JSON-like values (a copy), or fhirpathpy nodes when ``raw``."""
        token = _current_view.set(scope.view)
        try:
            return self.function(scope.root, scope.variables)
        except EvaluationTimeout:  # the request's time is up: not this expression's failure
            raise
        except Exception as exc:  # any fhirpathpy failure becomes one well-described error
            raise ExpressionError(self.where, exc) from exc
        finally:
            _current_view.reset(token)

    def holds(self, scope: Scope) -> bool:
        """True only when the expression yields exactly ``true`` (FHIR applicability semantics)."""
        return self.evaluate(scope) == [True]

    def strings(self, scope: Scope) -> list[str]:
        """The result rendered as text: strings, numbers, dates and booleans only."""
        rendered = []
        for item in self.evaluate(scope):
            value = to_json(item)
            if isinstance(value, bool):
                rendered.append("true" if value else "false")
            elif isinstance(value, str | int | float):
                rendered.append(str(value))
            else:
                raise ExpressionError(self.where, TypeError("expected text, got a structure"))
        return rendered


def to_json(value: Any) -> Any:
    """fhirpathpy values to JSON values: Decimal to int/float, FHIRPath date/time to ISO text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, FP_DateTime | FP_Time):
        return str(value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


class FHIRPathSyntaxError(ValueError):
    pass


class _RaiseOnError(ErrorListener):
    def syntaxError(self, recognizer, offendingSymbol, line, column, msg, e):  # noqa: N802 - antlr API
        raise FHIRPathSyntaxError(f"syntax error at column {column + 1}: {msg}")


def parse_strict(text: str) -> dict[str, Any]:
    """Parse like fhirpathpy, but fail on any syntax error or trailing text."""
    lexer = FHIRPathLexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_RaiseOnError())
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(_RaiseOnError())
    listener = ASTPathListener()
    tree = parser.expression()
    if parser.getCurrentToken().type != Token.EOF:
        raise FHIRPathSyntaxError(f"unexpected text at column {parser.getCurrentToken().column + 1}")
    ParseTreeWalker().walk(listener, tree)
    return listener.parentStack[0]


def _function_calls(node: Mapping[str, Any]) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
    """Every function call in a parse tree: (name, parameter nodes)."""
    if node.get("type") == "Functn":
        children = node.get("children", [])
        name = children[0].get("text", "") if children else ""
        params = children[1].get("children", []) if len(children) > 1 else []
        yield name, params
    for child in node.get("children", []):
        yield from _function_calls(child)


def _named(node: Mapping[str, Any], node_type: str) -> Iterator[str]:
    """The name of every ``node_type`` node in a parse tree: ``MemberInvocation`` (``value`` in
    ``value.ofType(Quantity)``) or ``ExternalConstant`` (``%name``); quotes and backticks removed."""
    if node.get("type") == node_type:
        children = node.get("children", [])
        if children:
            yield children[0].get("text", "").strip("`'")
    for child in node.get("children", []):
        yield from _named(child, node_type)


def _data_reads(tree: Mapping[str, Any]) -> frozenset[tuple[str, str | None]]:
    """``(type, value set)`` of every ``resources``/``resourcesIn`` call (``*`` for a type not written literally)."""
    reads = set()
    for name, params in _function_calls(tree):
        if name in ("resources", "resourcesIn"):
            literals = [_string_literal(p) for p in params]
            vs_url = literals[1] if name == "resourcesIn" and len(literals) > 1 else None
            reads.add((literals[0] or "*", vs_url))
    return frozenset(reads)


def _string_literal(node: Mapping[str, Any]) -> str | None:
    """The value of a parameter that is a plain string literal, else ``None``."""
    while node.get("type") in ("TermExpression", "LiteralTerm") and len(node.get("children", [])) == 1:
        node = node["children"][0]
    if node.get("type") == "StringLiteral":
        return node["text"][1:-1].replace("\\'", "'")
    return None


def is_resource_type(name: str) -> bool:
    """True for FHIR R4 resource type names (``Condition``), false for data types and typos."""
    try:
        return issubclass(get_fhir_model_class(name), Resource)
    except ValueError:
        return False


class ExpressionCompiler:
    """Compiles expressions found in artifacts, reporting every problem with file and JSON path."""

    def __init__(self, terminology: Terminology, problems: Problems):
        self.terminology = terminology
        self.problems = problems
        #: Every element name the compiled expressions navigate: the only ones the rules can trip over.
        self.members: frozenset[str] = frozenset()

    def compile_element(self, element: Any, file: str, path: str, *, raw: bool = False) -> Expression | None:
        """Compile a FHIR ``Expression`` element (``language`` text/fhirpath, ``expression``)."""
        if not isinstance(element, Mapping):
            self.problems.add(file, path, "an Expression is required")
            return None
        if element.get("language") != FHIRPATH:
            self.problems.add(file, json_path(path, "language"), f"must be {FHIRPATH}")
            return None
        if not element.get("expression"):
            self.problems.add(file, json_path(path, "expression"), "an expression is required")
            return None
        return self.compile(element["expression"], file, json_path(path, "expression"), raw=raw)

    def compile(self, text: str, file: str, path: str, *, raw: bool = False) -> Expression | None:
        """Compile one FHIRPath text; ``None`` (and problems reported) if it cannot run."""
        try:
            tree = parse_strict(text)
        except FHIRPathSyntaxError as exc:
            self.problems.add(file, path, f"FHIRPath {exc}")
            return None
        if not self._check_calls(tree, file, path):
            return None
        try:
            evaluate = _COMPILER.compile(tree, raw=raw)
        except FHIRPathCompileError as exc:
            self.problems.add(file, path, f"FHIRPath {exc}")
            return None
        members = frozenset(_named(tree, "MemberInvocation"))
        self.members |= members
        return Expression(text, f"{file} {path}", raw, evaluate, _data_reads(tree), frozenset(_named(tree, "ExternalConstant")), members)

    def _check_calls(self, tree: Mapping[str, Any], file: str, path: str) -> bool:
        ok = True
        for name, params in _function_calls(tree):
            problem = self._call_problem(name, params)
            if problem:
                self.problems.add(file, path, problem)
                ok = False
        return ok

    def _call_problem(self, name: str, params: list[Mapping[str, Any]]) -> str | None:
        if name not in KNOWN_FUNCTIONS:
            return f"unknown FHIRPath function {name}()"
        if name not in FUNCTIONS:
            return None
        if len(params) not in FUNCTIONS[name]["arity"]:
            return f"{name}() takes {next(iter(FUNCTIONS[name]['arity']))} argument(s)"
        literals = [_string_literal(p) for p in params]
        if name in ("resources", "resourcesIn") and literals[0] is not None:
            if not is_resource_type(literals[0]):
                return f"{name}(): {literals[0]!r} is not a FHIR resource type"
            if name == "resourcesIn" and literals[0] not in CODED_ELEMENTS:
                return f"resourcesIn(): {literals[0]} has no coded element (supported: {', '.join(sorted(CODED_ELEMENTS))})"
        vs_url = literals[-1] if name in _VALUE_SET_FUNCTIONS else None
        if vs_url is not None and not self.terminology.knows(vs_url):
            return f"{name}(): unresolved value set {vs_url}"
        return None
