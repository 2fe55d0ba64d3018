"""Step templates: personalisation with fallbacks, refused when saved if they could break later, and sandboxed."""

from __future__ import annotations

import pytest

from leadflood_platform import templates
from leadflood_platform.errors import InvalidArgument
from leadflood_platform.templates import LeadFields, RenderError
from sequences import definitions

ADA = LeadFields(email="ada@acme.example", first_name="Ada", last_name="Lovelace", company_name="Acme", title="CTO")
NOBODY = LeadFields(email="x@acme.example")


def _refusal(source: str, field: str = "steps[0].body_template") -> str:
    with pytest.raises(InvalidArgument) as caught:
        templates.check(source, field)
    [violation] = caught.value.violations
    assert violation.field == field
    return violation.message


def test_variables_render_with_their_fallbacks() -> None:
    source = "Hi {{ lead.firstName | default('there') }}, how is {{ lead.companyName | default('your team') }}?"
    templates.check(source, "body_template")
    assert templates.render(source, ADA) == "Hi Ada, how is Acme?"
    # A field the lead lacks is empty, and `default` replaces it (not only when it is missing entirely).
    assert templates.render(source, NOBODY) == "Hi there, how is your team?"


def test_every_variable_a_user_expects_is_there() -> None:
    source = " | ".join(f"{{{{ lead.{name} }}}}" for name in templates.VARIABLES)
    templates.check(source, "body_template")
    rendered = templates.render(source, ADA)
    assert rendered.startswith("Ada | Lovelace | Ada Lovelace | Acme | CTO | ada@acme.example")
    assert templates.render('{{ lead["firstName"] }}', ADA) == "Ada"


def test_an_empty_field_renders_empty_and_chains_without_failing() -> None:
    source = "[{{ lead.title }}][{{ lead.title | upper }}][{{ lead.title[0] }}]{% if lead.title %}x{% endif %}"
    templates.check(source, "body_template")
    assert templates.render(source, NOBODY) == "[][][]"
    assert templates.render(source, ADA) == "[CTO][CTO][C]x"


def test_an_unknown_variable_is_refused_naming_the_field_and_the_known_ones() -> None:
    message = _refusal("Hi {{ lead.fristName }}")
    assert "unknown variable lead.fristName" in message and "lead.firstName" in message
    assert "unknown variable first_name" in _refusal("Hi {{ first_name }}")
    assert "unknown variable lead.nickname" in _refusal("{{ lead['nickname'] }}")
    assert "one field of lead at a time" in _refusal("{{ lead }}")
    assert "one field of lead at a time" in _refusal("{% for k in lead %}{{ k }}{% endfor %}")


def test_a_syntax_error_is_refused_with_its_line() -> None:
    message = _refusal("Hello\n{{ lead.firstName ")
    assert message.startswith("syntax error on line 2")
    assert "syntax error" in _refusal("{% if lead.firstName %}no end")


def test_an_unknown_filter_is_refused_naming_the_filters() -> None:
    message = _refusal("{{ lead.firstName | shout }}")
    assert "No filter named 'shout'" in message and "default" in message


@pytest.mark.parametrize(
    "source",
    [
        "{{ lead.__class__ }}",
        "{{ lead.firstName.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__.__base__ }}",
        "{{ lead['__dict__'] }}",
        "{{ lead.firstName | attr('__class__') }}",
        "{{ range(10) }}",
        "{{ lipsum() }}",
        "{{ cycler }}",
        "{{ lead.firstName.upper() }}",
        "{{ 'a' * 100000000 }}",
        "{{ 9 ** 9 ** 9 }}",
        "{% include 'other' %}",
        "{% set lead = 'x' %}{{ lead }}",
        "{{ lead.firstName | truncate(-5) }}",  # fails only when rendered: the trial render at save finds it
    ],
)
def test_a_template_cannot_reach_python_or_blow_up(source: str) -> None:
    _refusal(source)


@pytest.mark.parametrize(
    "source", ["{{ lead.__class__ }}", "{{ lead.__dict__ }}", "{{ lead.firstName.__class__.__mro__ }}"]
)
def test_the_sandbox_holds_even_for_a_template_that_skipped_the_check(source: str) -> None:
    with pytest.raises(RenderError) as caught:
        templates.render(source, ADA)
    assert "unsafe" in str(caught.value)


def test_a_lead_is_not_an_object_a_template_can_call_into() -> None:
    with pytest.raises(RenderError):
        templates.render("{{ lead.items() }}", ADA)  # a dict's methods would have worked


def test_a_bad_template_in_a_definition_names_its_step_and_field() -> None:
    good = definitions.StepSpec(channel="email", subject_template="Hi", body_template="Hello")
    bad = definitions.StepSpec(channel="email", subject_template="Hi", body_template="{{ lead.fristName }}")
    with pytest.raises(InvalidArgument) as caught:
        definitions.validate(definitions.Definition(name="Outreach", steps=[good, bad]))
    assert [v.field for v in caught.value.violations] == ["steps[1].body_template"]
    assert "lead.fristName" in str(caught.value)


def test_every_fault_of_a_definition_is_named_at_once() -> None:
    steps = [
        definitions.StepSpec(channel="email", subject_template="", body_template="{{ x }}"),
        definitions.StepSpec(channel="sms", subject_template="no subject for SMS", body_template="hi"),
        definitions.StepSpec(channel="fax"),
        definitions.StepSpec(channel="email", subject_template="s", body_template="b", delay_amount=-1),
        definitions.StepSpec(
            channel="email",
            variants=[definitions.VariantSpec(subject_template="A", body_template="{{ lead.title }")],
        ),
    ]
    window = definitions.WindowSpec(days=[8], start_time="17:00", end_time="09:00", time_zone="Mars/Olympus")
    with pytest.raises(InvalidArgument) as caught:
        definitions.validate(definitions.Definition(name=" ", window=window, steps=steps, mailbox_id="sales@"))
    assert {v.field for v in caught.value.violations} == {
        "name",
        "mailbox_id",
        "window.days",
        "window.time_zone",
        "window.end_time",
        "steps[0].subject_template",
        "steps[0].body_template",
        "steps[1].subject_template",
        "steps[2].channel",
        "steps[3].delay_amount",
        "steps[4].variants",
        "steps[4].variants[0].body_template",
    }


def test_variants_are_chosen_by_weight_and_the_same_every_time() -> None:
    import uuid

    variants = [{"id": "a", "weight": 1}, {"id": "b", "weight": 3}]
    step = uuid.uuid4()
    picks = [definitions.choose_variant(variants, uuid.uuid4(), step)["id"] for _ in range(4000)]  # type: ignore[index]
    assert 0.2 < picks.count("a") / len(picks) < 0.3
    enrollment = uuid.uuid4()
    assert len({definitions.choose_variant(variants, enrollment, step)["id"] for _ in range(20)}) == 1  # type: ignore[index]
    assert definitions.choose_variant([], enrollment, step) is None
