"""FHIRPath parse trees compiled once into Python closures: fhirpathpy's semantics without its interpreter loop.

fhirpathpy evaluates an expression by walking its parse tree on every call:
each node is dispatched through a table, every function call and operator
rebuilds the ~100-entry function registry, literals and identifiers are
re-read with regular expressions, and parameters are re-wrapped. That walk
dominated the engine's time per request. Here each tree node becomes one
closure at load, with everything that does not depend on the data (the
function looked up, the literal parsed, the member name, the parameter kinds)
decided then.

The semantics stay fhirpathpy's: the same results, the same
``$this``/``$index``/``$total`` bookkeeping in the evaluation context (a
filter leaves its last ``$this`` visible to later arguments, as there), and
the result converted exactly as ``fhirpathpy.compile`` converts it. Most
functions and operators are fhirpathpy's own implementations, called with
the same arguments in the same order. The ones that dominated the engine's
profile are native instead, because fhirpathpy's are slow for reasons that
do not change their results (layers of argument wrapping, ``json.dumps`` of
every item on every union, model paths re-derived per item):

- member access, ``|``, ``distinct()``, ``=`` and ``!=``
  (:mod:`fhir_content.fhirpath_native`, which says how each stays exact);
- ``where``, ``select``, ``exists``, ``empty``, ``first``, ``count`` and
  ``iif``: the loop of fhirpathpy's macro, calling the compiled argument
  directly. fhirpathpy runs a ``where`` criteria twice on each item that
  passes; that is kept only for criteria that could answer differently the
  second time (ones reading ``$index`` or ``$total`` or calling ``trace()``).

tests/test_fhirpath_compiler.py checks every expression of the BME and engine
test content, a set covering every function and operator, and edge cases of
each fast path against fhirpathpy's interpreter;
tests/test_fhirpath_native.py checks the native building blocks directly.

Two differences in kind: ``%name`` variables are read from the mapping given
to each call instead of a copy of it, so a mapping that computes a variable
on first use (see :class:`fhir_content.environment.RequestVariables`) only
computes the variables an expression actually reads; and fhirpathpy's clock
(``today()``, ``now()``) is reset only by evaluations that read it.

fhirpathpy's public API is ``evaluate``/``compile`` on expression text, which
re-walks the tree; reusing its parts instead ties this module to one release,
so pyproject.toml pins fhirpathpy exactly (tests/test_fhirpathpy_pin.py says
when another version is installed). The private names still used here and in
:mod:`fhir_content.fhirpath_native`, each because re-writing it would copy
fhirpathpy's semantics rather than reuse them:

- ``engine.invocations.invocation_registry``: every function and operator not
  made native, and their declared argument kinds;
- ``engine.check_*_param`` and ``engine.type_specifier``: how an argument of a
  declared kind is checked, and how a type name is read;
- ``engine.util.process_user_invocation_table`` and ``get_data``: how user
  functions see their inputs, and how a result becomes plain data;
- ``engine.evaluators``: ``string_literal`` and ``quantity_literal`` (escapes
  and units) and ``create_reduce_member_invocation`` (member access on data
  the native path does not handle);
- ``engine.invocations.constants``: the clock ``today()`` and ``now()`` read,
  reset per evaluation as fhirpathpy resets it;
- ``engine.invocations.equality.equality`` and
  ``engine.invocations.existence.distinct_fn``: ``=`` and ``distinct`` for
  values the native versions hand back (dates, quantities, decimals);
- ``engine.nodes`` (``ResourceNode``, ``FP_Type``, ``FP_DateTime``,
  ``FP_Time``, ``FP_Quantity``): the values an evaluation passes around, and
  the ``ResourceNode`` attributes ``path`` and ``data``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import reduce
from typing import Any

from fhirpathpy.engine import check_boolean_param, check_integer_param, check_number_param, check_string_param, type_specifier
from fhirpathpy.engine.evaluators import create_reduce_member_invocation, quantity_literal, string_literal
from fhirpathpy.engine.invocations import invocation_registry
from fhirpathpy.engine.invocations.constants import constants
from fhirpathpy.engine.nodes import FP_DateTime, FP_Time, FP_Type, ResourceNode
from fhirpathpy.engine.util import get_data, process_user_invocation_table

from fhir_content.fhirpath_native import MemberAccess, distinct, equal, one

UCUM = "http://unitsofmeasure.org"
_PARAM_CHECKS = {
    "Integer": check_integer_param,
    "Number": check_number_param,
    "Boolean": check_boolean_param,
    "String": check_string_param,
}
_ALIASES = {"contains": "containsOp", "in": "inOp", "is": "isOp", "as": "asOp"}
_CLOCK_FUNCTIONS = frozenset({"now", "today", "timeOfDay"})

Context = dict[str, Any]
Step = Callable[[Context, Any], list]
ParamMaker = Callable[[Context, Any], Any]
Evaluate = Callable[[Any, Mapping[str, Any]], list]
_MEMO = "bme:dedup-keys"  # the evaluation context's KeyMemo (fhirpathpy's own keys start with $ or are plain words)
_INPUT = "bme:input"  # the resource evaluated, which %context names


class FHIRPathCompileError(ValueError):
    """A tree calls a function that does not exist or with the wrong number of arguments.

    fhirpathpy finds these only when the expression runs; compiling finds them at load.
    """


class FHIRPathCompiler:
    """Compiles parse trees (as made by fhirpathpy's parser) against one model and one user function table.

    ``user_functions`` has fhirpathpy's ``userInvocationTable`` shape:
    ``{name: {"fn": fn(inputs, *args), "arity": {n: [types]}}}``.
    """

    def __init__(self, model: Mapping[str, Any], user_functions: Mapping[str, Any]):
        self.model = model
        self._user_table = process_user_invocation_table(user_functions)
        self._registry = {**invocation_registry, **self._user_table}

    def compile(self, tree: Mapping[str, Any], *, raw: bool = False) -> Evaluate:
        """``evaluate(resource, variables)``, like ``fhirpathpy.compile(...)(resource, variables)``.

        ``raw`` returns fhirpathpy's nodes (``returnRawData``) instead of plain JSON copies.
        """
        root = self._node(tree["children"][0])
        model, table = self.model, self._user_table
        reads_clock = _any_node(tree, lambda node: _function_name(node) in _CLOCK_FUNCTIONS)

        def evaluate(resource: Any, variables: Mapping[str, Any]) -> list:
            if reads_clock:
                constants.reset()  # today() and now() are read once per evaluation that calls them
            data_root = one(resource)
            ctx = {
                "dataRoot": data_root,
                "vars": variables,
                _INPUT: resource,
                "model": model,
                "userInvocationTable": table,
                _MEMO: {},
            }
            result = root(ctx, data_root)
            return _raw(result) if raw else _plain(result)

        return evaluate

    # -- nodes ----------------------------------------------------------------------

    def _node(self, node: Mapping[str, Any]) -> Step:
        compile_node = getattr(self, "_" + node["type"], None)
        if compile_node is None:
            raise FHIRPathCompileError(f"FHIRPath node {node['type']} is not supported")
        return compile_node(node)

    def _child(self, node: Mapping[str, Any]) -> Step:
        """Nodes that only wrap their one child (their evaluator evaluates the child)."""
        return self._node(node["children"][0])

    _TermExpression = _InvocationTerm = _ParenthesizedTerm = _child

    def _LiteralTerm(self, node: Mapping[str, Any]) -> Step:  # noqa: N802 - named after the node type
        term = node["children"][0]
        if term:
            return self._node(term)
        text = node["text"]
        return lambda ctx, data: [text]

    def _InvocationExpression(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        steps = [self._node(child) for child in node["children"]]

        def run(ctx: Context, data: Any) -> list:
            for step in steps:
                data = step(ctx, data)
            return list(data)

        return run

    def _NullLiteral(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        return lambda ctx, data: []

    def _BooleanLiteral(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        value = node["text"] == "true"
        return lambda ctx, data: [value]

    def _NumberLiteral(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        number = Decimal(node["text"])
        value = int(number) if number == int(number) else number
        return lambda ctx, data: [value]

    def _StringLiteral(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        (value,) = string_literal(None, None, node)
        return lambda ctx, data: [value]

    # Quantity, date and time literals build mutable fhirpathpy objects: a fresh one per evaluation.
    def _QuantityLiteral(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        return lambda ctx, data: quantity_literal(ctx, data, node)

    def _DateTimeLiteral(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        text = node["text"][1:]
        return lambda ctx, data: [FP_DateTime(text)]

    def _TimeLiteral(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        text = node["text"][2:]
        return lambda ctx, data: [FP_Time(text)]

    def _ExternalConstantTerm(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        name = _identifier(node["children"][0]["children"][0]).replace("`", "")

        def run(ctx: Context, data: Any) -> list:
            try:
                value = ctx["vars"][name]
            except KeyError:
                value = _default_variable(ctx, name)
            if value is None:
                return []
            return value if isinstance(value, list) else [value]

        return run

    def _ThisInvocation(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        return lambda ctx, data: one(ctx["$this"])

    def _IndexInvocation(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        return lambda ctx, data: one(ctx["$index"])

    def _TotalInvocation(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        return lambda ctx, data: one(ctx["$total"])

    def _MemberInvocation(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        key = _identifier(node["children"][0]).replace("`", "")
        fallback = create_reduce_member_invocation(self.model, key)
        member = MemberAccess(self.model, key, fallback) if isinstance(self.model, dict) else None
        resource_type = key[0] == key[0].upper()  # a type name: fhirpathpy filters resources by it

        def run(ctx: Context, data: Any) -> list:
            if not isinstance(data, list):
                return []
            if resource_type:
                try:
                    return [ResourceNode.create_node(x, key) for x in data if x["resourceType"] == key]
                except TypeError:
                    pass
            return member(data) if member is not None else list(reduce(fallback, data, []))

        return run

    def _IndexerExpression(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        collection, index = (self._node(child) for child in node["children"][:2])

        def run(ctx: Context, data: Any) -> list:
            items = collection(ctx, data)
            position = index(ctx, data)
            if not position:
                return []
            n = int(position[0])
            if items is not None and len(items) > n >= 0:
                return [items[n]]
            return []

        return run

    def _PolarityExpression(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        sign = node["terminalNodeText"][0]
        operand = self._node(node["children"][0])

        def run(ctx: Context, data: Any) -> list:
            result = operand(ctx, data)
            if len(result) != 1:
                raise ValueError("Unary " + sign + " can only be applied to an individual number.")
            if not isinstance(result[0], int | Decimal | complex) or isinstance(result[0], bool):
                raise ValueError("Unary " + sign + " can only be applied to a number.")
            if sign == "-":
                result[0] = -result[0]
            return result

        return run

    def _FunctionInvocation(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        call = node["children"][0]
        name = _identifier(call["children"][0])
        rest = call["children"][1:]
        raw_params = rest[0]["children"] if rest and "children" in rest[0] else None
        invocation = self._invocation(name)
        native = self._native_function(name, invocation, raw_params)
        if native is not None:
            return native
        fn = invocation["fn"]
        nullable_input = "nullable_input" in invocation

        if "variadic" in invocation:
            makers = [self._param(invocation["variadic"], p) for p in (raw_params if isinstance(raw_params, list) else [])]

            def variadic(ctx: Context, data: Any) -> list:
                if nullable_input and _nullable(data):
                    return []
                this = ctx["$this"] if "$this" in ctx else ctx["dataRoot"]
                return one(fn(ctx, one(data), *[make(ctx, this) for make in makers]))

            return variadic

        if "arity" not in invocation:
            if raw_params:
                raise FHIRPathCompileError(f"{name}() takes no arguments")

            def no_params(ctx: Context, data: Any) -> list:
                if nullable_input and _nullable(data):
                    return []
                return one(fn(ctx, one(data)))

            return no_params

        if fn.__name__ == "trace_fn" and raw_params is not None:
            raw_params = raw_params[:1]
        count = len(raw_params) if isinstance(raw_params, list) else 0
        if count not in invocation["arity"]:
            raise FHIRPathCompileError(f"{name}() does not take {count} argument(s)")
        types = invocation["arity"][count]
        makers = [self._param(types[i], raw_params[i]) for i in range(count)]
        nullable = "nullable" in invocation

        def with_params(ctx: Context, data: Any) -> list:
            if nullable_input and _nullable(data):
                return []
            this = ctx["$this"] if "$this" in ctx else ctx["dataRoot"]
            params = [make(ctx, this) for make in makers]
            if nullable and (_nullable(data) or any(_nullable(p) for p in params)):
                return []
            return one(fn(ctx, data, *params))

        return with_params

    def _operator(self, node: Mapping[str, Any]) -> Step:
        operator = node["terminalNodeText"][0]
        return self._infix(_ALIASES.get(operator, operator), node["children"])

    _InequalityExpression = _AdditiveExpression = _MultiplicativeExpression = _EqualityExpression = _operator
    _OrExpression = _ImpliesExpression = _AndExpression = _XorExpression = _operator
    _MembershipExpression = _TypeExpression = _operator

    def _UnionExpression(self, node: Mapping[str, Any]) -> Step:  # noqa: N802
        """``a | b``: fhirpathpy's ``union_op`` (``distinct`` of both sides), with the native ``distinct``."""
        if self._invocation("|") is not invocation_registry.get("|"):
            return self._infix("|", node["children"])  # a user function named "|"
        left, right = (self._node(operand) for operand in node["children"])

        def union(ctx: Context, data: Any) -> list:
            a, b = _operands(ctx, data, left, right)
            return distinct(a + b, ctx[_MEMO])

        return union

    # -- native fast paths (fhirpathpy's results, see fhir_content.fhirpath_native) ---------

    def _native_function(self, name: str, invocation: Mapping[str, Any], raw_params: Any) -> Step | None:
        """A native step for one of fhirpathpy's own functions, or ``None`` to call fhirpathpy's."""
        if invocation is not invocation_registry.get(name):
            return None  # a user function of the same name
        params = raw_params if isinstance(raw_params, list) else []
        build = _NATIVE_FUNCTIONS.get((name, len(params)))
        return build(self, *params) if build else None

    def _where(self, param: Mapping[str, Any]) -> Step:
        """``where(criteria)``: fhirpathpy's ``where_macro``, with the same ``$this``/``$index`` writes.

        fhirpathpy evaluates the criteria a second time for an item that
        passes (and uses that result); both runs start from the same state
        unless the criteria read ``$index``, ``$total`` or call ``trace()``,
        so only then is it run twice here.
        """
        criteria = self._node(param)
        twice = _any_node(param, _reads_loop_state)

        def where(ctx: Context, data: Any) -> list:
            if not isinstance(data, list):
                return []
            out: list = []
            for index, item in enumerate(data):
                ctx["$index"] = index
                this = ctx["$this"] = one(item)
                result = criteria(ctx, this)
                if result:
                    if twice:
                        this = ctx["$this"] = one(item)
                        result = criteria(ctx, this)
                    if result[0]:
                        if isinstance(item, list):
                            out.extend(item)
                        else:
                            out.append(item)
            return out

        return where

    def _select(self, param: Mapping[str, Any]) -> Step:
        """``select(projection)``: fhirpathpy's ``select_macro``."""
        projection = self._node(param)

        def select(ctx: Context, data: Any) -> list:
            if not isinstance(data, list):
                return []
            out: list = []
            for index, item in enumerate(data):
                ctx["$index"] = index
                this = ctx["$this"] = one(item)
                result = projection(ctx, this)
                if isinstance(result, list):
                    out.extend(result)
                else:
                    out.append(result)
            return out

        return select

    def _exists_where(self, param: Mapping[str, Any]) -> Step:
        """``exists(criteria)``: every item is still tested, as fhirpathpy does (the last ``$this`` stays visible)."""
        where = self._where(param)
        return lambda ctx, data: [bool(where(ctx, data))]

    def _iif(self, *params: Mapping[str, Any]) -> Step:
        """``iif(criterion, true-result [, otherwise-result])``: fhirpathpy's ``iif_macro``."""
        criterion, *branches = (self._node(p) for p in params)
        when_true = branches[0]
        otherwise = branches[1] if len(branches) > 1 else None

        def iif(ctx: Context, data: Any) -> list:
            this = ctx["$this"] = one(data)
            result = criterion(ctx, this)
            if len(result) == 1 and result[0] == True:  # noqa: E712 - fhirpathpy's is_true: 1 and nodes holding true count
                branch = when_true
            elif otherwise is not None:
                branch = otherwise
            else:
                return []
            this = ctx["$this"] = one(data)
            return one(branch(ctx, this))

        return iif

    # -- calls --------------------------------------------------------------------------

    def _invocation(self, name: str) -> Mapping[str, Any]:
        invocation = self._registry.get(name)
        if invocation is None or "fn" not in invocation:
            raise FHIRPathCompileError(f"unknown FHIRPath function {name}()")
        return invocation

    def _infix(self, name: str, operands: list[Mapping[str, Any]]) -> Step:
        invocation = self._invocation(name)
        own = invocation is invocation_registry.get(name)
        if own and name in _NATIVE_OPERATORS:
            return _NATIVE_OPERATORS[name](*(self._node(operand) for operand in operands))
        fn = invocation["fn"]
        nullable = "nullable" in invocation
        kinds = invocation["arity"][2]
        if kinds == ["Any", "Any"]:
            left, right = (self._node(operand) for operand in operands)

            def any_operands(ctx: Context, data: Any) -> list:
                a, b = _operands(ctx, data, left, right)
                if nullable and (not a or not b):
                    return []
                return one(fn(ctx, a, b))

            return any_operands
        left, right = (self._param(kind, operand) for kind, operand in zip(invocation["arity"][2], operands, strict=True))

        def run(ctx: Context, data: Any) -> list:
            a = left(ctx, data)
            b = right(ctx, data)
            if nullable and (_nullable(a) or _nullable(b)):
                return []
            return one(fn(ctx, a, b))

        return run

    def _param(self, kind: Any, param: Mapping[str, Any]) -> ParamMaker:
        """How one argument is passed, by its declared kind (fhirpathpy's ``make_param``)."""
        if kind == "Expr":  # a lambda the function calls per item, with $this set to it
            step = self._node(param)

            def expression(ctx: Context, parent: Any) -> Callable[[Any], list]:
                def per_item(data: Any) -> list:
                    ctx["$this"] = one(data)
                    return step(ctx, ctx["$this"])

                return per_item

            return expression
        if kind == "AnyAtRoot":
            step = self._node(param)

            def at_root(ctx: Context, parent: Any) -> list:
                ctx["$this"] = ctx["$this"] if "$this" in ctx else ctx["dataRoot"]
                return step(ctx, ctx["$this"])

            return at_root
        if kind == "Identifier":
            if param["type"] != "TermExpression":
                raise FHIRPathCompileError("expected an identifier argument")
            text = param["text"]
            return lambda ctx, parent: text
        if kind == "TypeSpecifier":
            type_info = type_specifier(None, None, param)
            return lambda ctx, parent: type_info
        return self._value_param(kind, self._node(param))

    @staticmethod
    def _value_param(kind: Any, step: Step) -> ParamMaker:
        """An argument evaluated against the input (``$this`` = the input), then checked to be one value of its type."""
        if kind == "Any":

            def any_value(ctx: Context, parent: Any) -> list:
                ctx["$this"] = parent
                return step(ctx, parent)

            return any_value
        single = kind[0] if isinstance(kind, list) else kind
        check = _PARAM_CHECKS.get(single)
        if check is None:
            raise FHIRPathCompileError(f"arguments of type {single} are not supported")

        def value(ctx: Context, parent: Any) -> Any:
            ctx["$this"] = parent
            result = step(ctx, parent)
            if len(result) > 1:
                raise ValueError(f"Unexpected collection{json.dumps(result)}; expected singleton of type {single}")
            return check(result[0]) if result else []

        return value


def _exists(ctx: Context, data: Any) -> list:
    return [not (isinstance(data, list) and not data)]


def _empty(ctx: Context, data: Any) -> list:
    return [not one(data)]


def _first(ctx: Context, data: Any) -> list:
    data = one(data)
    return one(data[0]) if data else []


def _count(ctx: Context, data: Any) -> list:
    return [len(one(data))]


def _distinct(ctx: Context, data: Any) -> list:
    return distinct(one(data), ctx[_MEMO])


_NATIVE_FUNCTIONS: dict[tuple[str, int], Callable[..., Step]] = {
    ("where", 1): FHIRPathCompiler._where,
    ("select", 1): FHIRPathCompiler._select,
    ("exists", 1): FHIRPathCompiler._exists_where,
    ("iif", 2): FHIRPathCompiler._iif,
    ("iif", 3): FHIRPathCompiler._iif,
    ("exists", 0): lambda compiler: _exists,
    ("empty", 0): lambda compiler: _empty,
    ("first", 0): lambda compiler: _first,
    ("count", 0): lambda compiler: _count,
    ("distinct", 0): lambda compiler: _distinct,
}


def _operands(ctx: Context, data: Any, left: Step, right: Step) -> tuple[list, list]:
    """Both operands of kind "Any", each evaluated on the input with ``$this`` set to it, as fhirpathpy does.

    Steps always return lists, so an empty operand is a falsy one.
    """
    ctx["$this"] = data
    a = left(ctx, data)
    ctx["$this"] = data
    return a, right(ctx, data)


def _equality(negate: bool) -> Callable[[Step, Step], Step]:
    """``=`` / ``!=``: empty operands give empty; an unknown answer (``None``) gives empty."""

    def build(left: Step, right: Step) -> Step:
        def compare(ctx: Context, data: Any) -> list:
            a, b = _operands(ctx, data, left, right)
            if not a or not b:
                return []
            result = equal(a, b)
            if result is None:
                return []
            return one(not result if negate else result)

        return compare

    return build


_NATIVE_OPERATORS: dict[str, Callable[[Step, Step], Step]] = {
    "=": _equality(False),
    "!=": _equality(True),
}


def _default_variable(ctx: Context, name: str) -> Any:
    """fhirpathpy's own variables, which the caller's hide: ``%context`` (the input) and ``%ucum``."""
    if name == "context":
        return ctx[_INPUT]
    if name == "ucum":
        return UCUM
    raise ValueError(f"Attempting to access an undefined environment variable: {name}")


def _identifier(node: Mapping[str, Any]) -> str:
    """An identifier's name: fhirpathpy drops one double quote at each end."""
    return node["text"].removeprefix('"').removesuffix('"')


def _nullable(value: Any) -> bool:
    """fhirpathpy's ``is_nullable``: ``None`` or an empty list."""
    return value is None or (isinstance(value, list) and not value)


def _any_node(tree: Mapping[str, Any], test: Callable[[Mapping[str, Any]], bool]) -> bool:
    """True if ``test`` holds for a node of the parse tree."""
    return test(tree) or any(_any_node(child, test) for child in tree.get("children") or () if isinstance(child, Mapping))


def _function_name(node: Mapping[str, Any]) -> str | None:
    return _identifier(node["children"][0]) if node.get("type") == "Functn" else None


def _reads_loop_state(node: Mapping[str, Any]) -> bool:
    """Nodes whose value may differ between two runs of a ``where`` criteria on the same item."""
    return node.get("type") in ("IndexInvocation", "TotalInvocation") or _function_name(node) == "trace"


def _is_extension_only(value: Any) -> bool:
    """fhirpathpy's internal stand-in for a primitive's extension, never part of a result."""
    return isinstance(value, dict) and list(value.keys()) == ["extension"]


def _raw(result: Any) -> Any:
    if not isinstance(result, list):
        return result
    return [item for item in result if not (isinstance(item, ResourceNode) and _is_extension_only(item.data))]


def _plain(node: Any) -> Any:
    """Resource nodes to plain JSON copies, exactly as ``fhirpathpy.compile`` returns them."""
    data = get_data(node)
    if isinstance(node, list):
        return [item for item in (_plain(i) for i in data) if not _is_extension_only(item)]
    if isinstance(data, dict) and not isinstance(data, FP_Type):
        return {key: _plain(value) for key, value in data.items()}
    return data

