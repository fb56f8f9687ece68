"""The compiled FHIRPath evaluator gives exactly what fhirpathpy's interpreter gives.

Differential tests: every expression of the BME content (on every golden
patient and every benchmark chart) and of the engine's test content, and a
set of expressions covering every kind of FHIRPath node, are evaluated both
ways on the same inputs; the results (values and, for raw results, fhirpathpy
node types and paths) or the fact of failing must match.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

import fhirpathpy
import pytest
from fhirpathpy.engine.invocations import invocation_registry
from fhirpathpy.engine.invocations.constants import systemtime
from fhirpathpy.engine.nodes import ResourceNode

from bench.workload import standard_workloads
from content.golden import PLAN_FOR_HOOK, prefetch_templates
from engine.engine_scenarios import SCENARIOS
from content.patients import CASES
from fhir_content import ContentLoadError, DataView, KnowledgeBase
from fhir_content.environment import DerivedFacts, build_scope
from fhir_content.expressions import FUNCTIONS, R4_MODEL, Expression, ExpressionCompiler, ExpressionError, Scope, parse_strict, to_json
from fhir_content.fhirpath_compiler import FHIRPathCompiler
from fhir_content.knowledge import CompiledContent, compile_content
from fhir_content.problems import Problems
from plugin import findings

ENGINE_CONTENT = Path(__file__).parent / "engine" / "content"
BME_CONTENT = files("plugin") / "content"


def reference(expression: Expression) -> Expression:
    """The same expression evaluated by fhirpathpy's own compiled function, with the same options."""
    options = {"userInvocationTable": FUNCTIONS, "returnRawData": expression.raw}
    return dataclasses.replace(expression, function=fhirpathpy.compile(expression.text, R4_MODEL, options))


def both_ways(text: str, raw: bool = False, model: Any = R4_MODEL) -> tuple[Expression, Expression]:
    """``text`` compiled here and by fhirpathpy, as expressions evaluated on a :class:`Scope`."""
    mine = Expression(text, "test", raw, FHIRPathCompiler(model, FUNCTIONS).compile(parse_strict(text), raw=raw))
    options = {"userInvocationTable": FUNCTIONS, "returnRawData": raw}
    return mine, dataclasses.replace(mine, function=fhirpathpy.compile(text, model, options))


def outcome(expression: Expression, scope: Scope) -> Any:
    """What an evaluation gave, comparably: its values (with node types and paths), or that it failed."""
    try:
        result = expression.evaluate(scope)
    except ExpressionError:
        return "failed"
    return [_comparable(item) for item in result] if isinstance(result, list) else _comparable(result)


def _comparable(item: Any) -> Any:
    if isinstance(item, ResourceNode):
        return ("node", item.path, to_json(item.data))
    return (type(item).__name__, to_json(item))


def expressions_of(content: CompiledContent, plan_id: str) -> Iterator[Expression]:
    """Every compiled expression a plan evaluates, apart from its Library variables."""
    plan = content.plans[plan_id]
    for rule in plan.rules:
        yield from rule.conditions
        if rule.evidence:
            yield rule.evidence
        if rule.description:
            yield from (part for part in rule.description.parts if isinstance(part, Expression))
        for suggestion in rule.suggestions:
            yield from suggestion.conditions
            yield from (dynamic.expression for dynamic in suggestion.activity.dynamic_values)


def compare_plan(
    content: CompiledContent, derived_facts: list[DerivedFacts], plan_id: str, context: Mapping[str, Any], prefetch: Mapping[str, Any]
) -> int:
    """Evaluate every variable and expression of a plan both ways; returns how many were compared."""
    plan = content.plans[plan_id]
    view = DataView(content.terminology, context, prefetch)
    scope = build_scope(view, base_url="https://x.org", language="en", libraries=(), derived_facts=derived_facts)
    variables = dict(scope.variables)
    compared = 0
    for library in plan.libraries:
        for variable in library.variables:
            current = Scope(scope.root, variables, view)
            mine = outcome(variable.expression, current)
            assert mine == outcome(reference(variable.expression), current), variable.expression.where
            if mine != "failed":
                variables[variable.name] = variable.expression.evaluate(current)
            compared += 1
    full = Scope(scope.root, variables, view)
    for expression in expressions_of(content, plan_id):
        assert outcome(expression, full) == outcome(reference(expression), full), expression.where
        compared += 1
    return compared


def compiled(source: Any) -> CompiledContent:
    problems = Problems()
    content = compile_content(source, problems)
    assert not problems
    return content


@pytest.fixture(scope="module")
def bme() -> KnowledgeBase:
    return KnowledgeBase.load(BME_CONTENT, derived_facts=[findings.derive_facts])


@pytest.fixture(scope="module")
def bme_content() -> CompiledContent:
    return compiled(BME_CONTENT)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_bme_expression_agrees_on_every_golden_patient(bme, bme_content, case):
    request = case.hook_request(prefetch_templates(bme, case.hook))
    assert compare_plan(bme_content, [findings.derive_facts], PLAN_FOR_HOOK[case.hook], request["context"], request["prefetch"]) > 50


@pytest.mark.parametrize("workload", standard_workloads(quick=True, today=date(2026, 3, 2)), ids=lambda w: w.name)
def test_every_bme_expression_agrees_on_the_benchmark_charts(bme_content, workload):
    assert compare_plan(bme_content, [findings.derive_facts], workload.service_id, workload.body["context"], workload.body["prefetch"]) > 50


def test_every_engine_test_expression_agrees():
    content = compiled(ENGINE_CONTENT)
    for scenario in SCENARIOS.values():
        assert compare_plan(content, [], scenario.plan, scenario.context(), scenario.prefetch()) > 0


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "birthDate": "1970-05-14",
    "gender": "female",
    "active": True,
    "_gender": {"extension": [{"url": "http://example.org/x", "valueString": "x"}]},
    "name": [{"given": ["Ada", "Lovelace"], "family": "King"}, {"given": ["A."], "text": "A. King"}],
    "telecom": [{"system": "phone", "value": "555"}, {"system": "email", "value": "a@b.c"}],
    "extension": [{"url": "http://example.org/ext", "valueInteger": 3}],
}
OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2571-8"}]},
    "effectiveDateTime": "2024-02-03T10:00:00Z",
    "valueQuantity": {"value": 1.5, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
    "component": [{"valuePeriod": {"start": "2024-01-01"}}],
}

#: Every kind of node and every family of functions, on a Patient and an Observation.
COVERAGE = [
    "1 + 2 * 3 - 4 / 2", "7 div 2", "7 mod 2", "-(3)", "-'a'", "(1 | 2 | 2).count()", "{}", "{}.empty()",
    "'a\\'b' + 'c'", "'x' & {}", "1 = 1.0", "1 != 2", "1 ~ 1.0", "'A' !~ 'a'", "2 > 1 and 1 <= 1", "true or {}",
    "false implies true", "true xor false", "(1 | 2) contains 2", "2 in (1 | 2)", "@2020-01-01 + 1 year",
    "@2020-01-01T10:00:00Z > @2020-01-01", "@T10:00:00", "10 'mg' = 10 'mg'", "5 days", "today() > @2000-01-01",
    "now().toString().length() > 4", "%ucum", "%context.id", "%nope", "%x + 1", "%xs.select($this * 2)",
    "name.given", "name[1].given", "name.given[0]", "Patient.name.family", "Observation.status", "name.given[5]",
    "name.where(given.exists()).count()", "name.select(given.first())", "name.given.where($index = 1)",
    "(1 | 2 | 3).aggregate($this + $total, 0)", "(1 | 2 | 3).aggregate($total + $this)", "name.exists(text)",
    "name.all(given.exists())", "telecom.where(system = 'phone').value", "iif(active, 'yes', 'no')",
    "iif({}, 'yes')", "coalesce({}, 'x')", "'abc'.substring(1)", "'abc'.substring(1, 1)",
    "'abc'.matches('b')", "'abc'.contains('b')", "'abc'.startsWith('a')", "'abc'.endsWith('c')",
    "'abc'.indexOf('b')", "'abc'.upper().lower()", "'abc'.replace('a', 'b')", "'abc'.replaceMatches('a', 'b')",
    "'abc'.length()", "'abc'.toChars()", "'5'.toInteger()", "'1.5'.toDecimal()", "true.toString()",
    "'2020-01-01'.toDate()", "'x'.toBoolean()", "value is Quantity", "(value as Quantity).value", "value.ofType(Quantity)",
    "effective as dateTime", "(effective as dateTime) < now()", "component.value.ofType(Period).start",
    "children().count()", "descendants().count() > 5", "name.exclude(name.first()).count()", "name.intersect(name).count()",
    "1.combine(2)", "name.union(name).count()", "name.skip(1).count()", "name.take(1).given", "name.tail().text",
    "name.last().text", "name.single()", "name.first().single().family", "(1 | 1).isDistinct()", "(1 | 2).subsetOf(1 | 2 | 3)",
    "(1 | 2 | 3).supersetOf(1)", "(true | false).allTrue()", "(true | false).anyTrue()", "(false).allFalse()",
    "(true).anyFalse()", "extension('http://example.org/ext').value", "gender.extension.count()", "type().name",
    "(-1.5).abs()", "1.2.ceiling()", "0.exp()", "1.ln()", "100.log(10)", "2.power(3)", "1.234.round(1)", "4.sqrt()",
    "1.7.truncate()", "name.given.trace('g').count()", "name.repeat(given).count()", "1.not()", "true.not()",
    "(1 | 1 | 2).distinct()", "value.is(Quantity)", "value.as(Quantity).unit", "'2020-01-01T10:00:00Z'.toDateTime()",
    "'10:00'.toTime()", "'5 mg'.toQuantity()", "name.given.join(', ')", "'a,b'.split(',')", "' a '.trim()",
    "'abc'.encode('base64')", "'YWJj'.decode('base64')", "1.5.floor()", "timeOfDay().exists()", "(1 | 2 | 4).avg()",
    "(1 | 2).sum()", "(3 | 1).min()", "(3 | 1).max()", "'true'.convertsToBoolean()", "'1'.convertsToInteger()",
    "'1.5'.convertsToDecimal()", "1.convertsToString()", "'2020'.convertsToDate()", "'2020-01-01'.convertsToDateTime()",
    "'10:00'.convertsToTime()", "'1 mg'.convertsToQuantity()",
    "name.given.length", "component.value.start", "effective", "value.unit", "gender.extension.url",
    "resources('Observation').count()", "resourcesIn('Observation', 'http://example.org/engine-test/ValueSet/triglycerides')",
    "code.inValueSet('http://example.org/engine-test/ValueSet/triglycerides')", "resourcesIn('Observation', 'nope')",
]

#: The native fast paths (fhir_content.fhirpath_native and the compiler's where/select/exists/iif/...) on edge cases:
#: equal-but-not-identical resources, mixed types, ints against decimals, dates, nodes mixed with plain values,
#: criteria that read $index, the $this a filter leaves behind for later arguments.
FAST_PATHS = [
    "%dup | %dup", "%dup.distinct()", "%dup.distinct().count()", "%dup | %mixed", "%mixed.distinct()",
    "%mixed | %mixed", "(1 | 1.0 | 'a' | true | 1 | '1')", "name | name", "name.given | name.given",
    "name.given | 'Ada'", "%dup.code | %dup.code", "%nodes | %nodes", "%nodes.distinct()", "%nodes | 'Ada' | 'Ada'",
    "(1 'mg' | 1 'mg')", "(5 days | 5 days).count()", "(1 year | 12 months)", "(@2020-01-01 | @2020-01-01).count()",
    "{} | {}", "{}.distinct()", "%dup.where(status = 'final')", "%dup.where(id)", "%dup.select(id)",
    "%dup.select(code.coding)", "%xs.where($this)", "%xs.where($index = 1)", "%mixed.where($this = 1)",
    "%mixed.select($this = true)", "name.where(given.where($index = 0).exists())", "%mixed.where($this)",
    "name.given = 'Ada'", "name.given.first() = 'Ada'", "birthDate = @1970-05-14", "birthDate = '1970-05-14'",
    "birthDate = @1970-05", "@2020-01-01 = @2020-01-01T00:00:00", "value = 1.5 'mg'", "value.value = 1.5",
    "value.value = 1.50", "active = true", "active != 1", "1 = true", "1 = 1.0", "1.0 != 1", "id != 'p1'",
    "gender = {}", "{} != 1", "name.given != name.given", "(1 | 2) = (1 | 2)", "extension.value = 3",
    "%nodes = 'Ada'", "%nodes.first() = 'Ada'", "%nodes.first() = %nodes.first()", "%mixed.first() = 'a'",
    "iif(name, 'y', 'n')", "iif((1 | 2), 'y')", "iif(1, 'y', 'n')", "iif(%xs.first() = 1, $this.id, 'n')",
    "iif({}, 'y', 'n')", "iif(false, 'y')", "name.iif($this.exists(), given.first(), 'none')",
    "name.exists(given = 'A.')", "name.exists()", "{}.exists()", "name.empty()", "{}.empty()", "{}.first()",
    "name.first().given", "%mixed.count()", "{}.count()", "%dup.first().id", "name.where(false).exists()",
    "name.select(given).distinct().count()", "name.given.where($this = 'Ada').first()",
    "telecom.where(system = 'phone').select(value | system)", "(%dup | %dup).id",
    "name.where(true).given.first().startsWith(given.first())", "name.exists(true) and given.exists()",
    "name.select(given).where($this = 'A.').exists().toString().length()",
    # chains of |: dicts, strings, nodes, mixed items and literals
    "%dup | %dup | %dup", "%dup | %dup | %dup | %nodes", "%nodes | 'Ada' | %nodes", "name.given | name.family | 'King'",
    "%dup | %nodes | %dup", "%nodes | %nodes | %nodes", "(%dup | %dup) | (%dup | %dup)", "%xs | 1 | 2.0 | 1.0",
    "%mixed | %mixed | 'a'", "'a' | 'b' | 'a'", "('b' | 'a') | 'b'", "true | false | true", "1 | 2 | 1",
    "name.where(given.intersect('Ada' | 'A.' | 'Ada').exists()).count()", "name.select('x' | 'y' | 'x').count()",
    "name.select(('a' | 'b').count().toString() & $this.given.first())", "name.given.where(($this | 'x' | 'y').count() > 2)",
    "telecom.where(system = 'phone').value | telecom.system | {} | name.given",
    # is / as on values and nodes; operators on two single values (their checks, empty operands, wrong types)
    "%mixed.where($this is Integer)", "%mixed.select($this is Boolean)", "%mixed.select($this is Decimal)",
    "%nodes.where($this is string).count()", "name.given.first() as string", "(1 | 2) as Integer", "{} as Integer",
    "id is FHIR.string", "%dup.where($this is Observation).count()", "%dup.select($this as Observation).id",
    "(value as Quantity).value", "value as Period", "%mixed.select($this as String)", "name.select($this is HumanName)",
    "'a' & {}", "{} & {}", "(1 | 2) & 'a'", "name.given & 'x'", "name.given.first() & '-' & name.family.first()",
    "true and {}", "{} or false", "1 and true", "{} implies {}", "false xor {}", "2 * 3", "{} * 2", "5 div 0",
    "5 mod 2", "1.5 / 0.5", "name.where(given.first() = 'Ada' and family.exists()).count()",
    "'abc'.substring('x')", "'abc'.substring(1.5)", "'abc'.substring(1.0)", "(1 | 2).take(true)", "'abc'.substring(-1)",
    "name.given.join(1)", "'a'.upper().replace('A', 'b').startsWith(true)",
    # date arithmetic on today():
    "today() - 6 months", "today() - 6 months + 1 day", "(today() - 1 year) < today()", "today() - 6 months - today()",
    "(today() - 3 months).toString()", "birthDate >= today() - 100 years", "today() - 2 'mo'", "today() + 1",
]


@pytest.fixture(scope="module")
def coverage_kb() -> KnowledgeBase:
    return KnowledgeBase.load(ENGINE_CONTENT)


EDGE_VARIABLES = {
    "dup": [OBSERVATION, json.loads(json.dumps(OBSERVATION)), PATIENT, OBSERVATION],
    "mixed": ["a", 1, Decimal("1"), True, Decimal("1.0"), "1", "a", False, 0],
    "nodes": fhirpathpy.evaluate(PATIENT, "name.given | name.family", options={"returnRawData": True}) + [ResourceNode.create_node("Ada")],
}


@pytest.mark.parametrize("text", COVERAGE + FAST_PATHS)
@pytest.mark.parametrize("raw", [False, True], ids=["json", "raw"])
def test_every_kind_of_node_agrees(coverage_kb, text, raw):
    mine, theirs = both_ways(text, raw)
    view = DataView(coverage_kb.terminology, {"patientId": "p1"}, {"o": OBSERVATION, "p": PATIENT})
    variables = {"x": 41, "xs": [1, 2], "context": {"patientId": "p1"}, **EDGE_VARIABLES}
    for root in (PATIENT, OBSERVATION):
        scope = Scope(root, variables, view)
        assert outcome(mine, scope) == outcome(theirs, scope)


#: A list mixing strings, integers and booleans under one element: every item's node has the same path.
MIXED_ELEMENT = {"resourceType": "Basic", "x": ["a", 1, True, 2]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x.select($this as integer)", [1, 2]),
        ("x.select($this is integer)", [False, True, False, True]),
        ("x.select($this is string)", [True, False, False, False]),
        ("x.where($this is boolean)", [True]),
    ],
)
def test_is_and_as_judge_each_item_by_its_own_value_when_no_model_is_set(text, expected):
    """Without a model, fhirpathpy types a node by its value, not its path: items at one path differ."""
    mine, theirs = both_ways(text, model=None)
    scope = Scope(MIXED_ELEMENT, {}, None)
    assert mine.evaluate(scope) == theirs.evaluate(scope) == expected


@pytest.mark.parametrize("text", ["today() - 6 months", "today() - 1 year - 1 day", "birthDate < today() - 1 day"])
def test_date_arithmetic_on_today_follows_the_evaluation_clock_across_midnight(coverage_kb, monkeypatch, text):
    """Date arithmetic on today() reads the evaluation's clock: the next day gives the next day's answer."""
    mine, theirs = both_ways(text)
    scope = Scope(PATIENT, {}, DataView(coverage_kb.terminology, {"patientId": "p1"}, {"p": PATIENT}))
    answers = []
    for moment in (datetime(2026, 2, 28, 23, 59), datetime(2026, 3, 1, 0, 1), datetime(2026, 3, 1, 12, 0)):
        monkeypatch.setattr(systemtime, "now", lambda moment=moment: moment)
        answers.append(outcome(mine, scope))
        assert answers[-1] == outcome(theirs, scope)
    assert answers[0] != answers[1] or text.startswith("birthDate")
    assert answers[1] == answers[2]


def test_the_coverage_set_calls_every_fhirpathpy_function_and_operator():
    operators = {"containsOp", "inOp", "isOp", "asOp", "mod", "div", "or", "and", "xor", "implies"}
    functions = {name for name in invocation_registry if name.isalpha()} - operators
    assert sorted(name for name in functions if not any(f"{name}(" in text for text in COVERAGE)) == []
    assert all(any(f" {op} " in text for text in COVERAGE) for op in ("contains", "in", "is", "as", "mod", "div", "or", "and", "xor", "implies"))


def test_a_call_with_the_wrong_number_of_arguments_is_a_load_problem(coverage_kb):
    problems = Problems()
    assert ExpressionCompiler(coverage_kb.terminology, problems).compile("'abc'.substring()", "Library-x.json", "$.x") is None
    assert [str(p) for p in problems.as_list()] == ["Library-x.json: $.x: FHIRPath substring() does not take 0 argument(s)"]


def test_content_with_such_a_call_does_not_load(tmp_path):
    library = {
        "resourceType": "Library",
        "id": "lib",
        "url": "http://example.org/Library/lib",
        "version": "1",
        "status": "active",
        "type": {"coding": [{"code": "logic-library"}]},
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/variable",
                "valueExpression": {"name": "x", "language": "text/fhirpath", "expression": "'a'.upper(1)"},
            }
        ],
    }
    (tmp_path / "Library-lib.json").write_text(json.dumps(library))
    with pytest.raises(ContentLoadError) as info:
        KnowledgeBase.load(tmp_path)
    assert [str(p) for p in info.value.problems] == [
        "Library-lib.json: $.extension[0].valueExpression.expression: FHIRPath upper() does not take 1 argument(s)"
    ]
