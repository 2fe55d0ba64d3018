"""Message templates (a sequence step's, a lead run's email): Jinja2 in a sandbox, checked when saved,
so that a send never meets a broken one.

A template sees one variable, `lead`, with the fields in VARIABLES (camelCase, as the REST API and
the web client name them). A field the lead lacks renders empty and counts as undefined, so
`{{ lead.firstName | default("there") }}` says "there" for a lead without a first name.

`check` refuses, naming the field, anything that could fail or misbehave later: a syntax error, a
variable other than `lead`'s fields, an unknown filter, a call, an include, arithmetic that can blow
up (`*`, `**`), a name starting with `_`, and then renders the template for a full and an empty lead,
so a runtime error (a filter given a bad argument) shows up now. The sandbox is the second wall:
even a template that skipped `check` cannot reach Python objects (`lead.__class__` is refused).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, fields
from types import SimpleNamespace

from jinja2 import ChainableUndefined, StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from leadflood_platform.errors import NO_NUL, InvalidArgument

MAX_TEMPLATE = 20_000
MAX_RENDERED = 100_000
FILTERS = ("default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate", "replace", "first", "last")
# Nodes a personalised message has no use for, and that could hang or blow up a render.
REFUSED = {
    nodes.Call: "calling functions or methods is not allowed; use filters such as | upper",
    nodes.Mul: "multiplication is not allowed in a template",
    nodes.Pow: "powers are not allowed in a template",
    nodes.Include: "including other templates is not allowed",
    nodes.Extends: "extending other templates is not allowed",
    nodes.Import: "importing other templates is not allowed",
    nodes.FromImport: "importing other templates is not allowed",
}


@dataclass(frozen=True)
class LeadFields:
    """A lead as templates see it (the leads service's fields, or a preview's)."""

    email: str = ""
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    title: str = ""
    company_domain: str = ""
    industry: str = ""
    location: str = ""
    seniority: str = ""
    linkedin_url: str = ""
    # Not a template variable: the zone the lead's sending window is read in (empty: the org's).
    time_zone: str = ""

    def variables(self) -> dict[str, str]:
        """The template's `lead`: every variable with its value (empty when the lead lacks it)."""
        full_name = " ".join(part for part in (self.first_name.strip(), self.last_name.strip()) if part)
        return {
            "firstName": self.first_name,
            "lastName": self.last_name,
            "fullName": full_name,
            "companyName": self.company_name,
            "title": self.title,
            "email": self.email,
            "companyDomain": self.company_domain,
            "industry": self.industry,
            "location": self.location,
            "seniority": self.seniority,
            "linkedinUrl": self.linkedin_url,
        }


VARIABLES = tuple(LeadFields().variables())
KNOWN = ", ".join(f"lead.{name}" for name in VARIABLES)
# What `check` renders every template with: every field filled, then none.
_SAMPLES = (
    LeadFields(**{field.name: f"sample {field.name}" for field in fields(LeadFields)}),
    LeadFields(),
)


class RenderError(Exception):
    """A template failed while rendering (only a template that skipped `check` can)."""


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals.clear()  # no range(), lipsum(), dict(), namespace(): `lead` is the only name
    env.filters = {name: env.filters[name] for name in FILTERS}
    return env


ENV = _environment()


def check(source: str, field: str) -> None:
    """Refuse (InvalidArgument naming `field`) a template that could not render for every lead."""
    if len(source) > MAX_TEMPLATE:
        raise InvalidArgument.on(field, f"must be at most {MAX_TEMPLATE} characters")
    if "\x00" in source:
        raise InvalidArgument.on(field, NO_NUL)
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError as error:
        raise InvalidArgument.on(field, f"syntax error on line {error.lineno}: {error.message}") from None
    try:  # the compiler knows filters and tests: an unknown one fails here
        problems = list(_problems(tree))
        compiled = ENV.from_string(source)
    except TemplateError as error:
        raise InvalidArgument.on(field, _filter_message(error)) from None
    if problems:
        raise InvalidArgument.on(field, problems[0])
    for sample in _SAMPLES:
        try:
            _render(compiled, sample)
        except RenderError as error:
            raise InvalidArgument.on(field, str(error)) from None


def render(source: str, lead: LeadFields) -> str:
    """The template rendered for the lead; RenderError if it fails (never for a template `check` passed)."""
    try:
        compiled = _compiled(source)
    except TemplateError as error:
        raise RenderError(f"the template does not compile: {error}") from None
    return _render(compiled, lead)


@functools.lru_cache(maxsize=512)
def _compiled(source: str):  # type: ignore[no-untyped-def]
    return ENV.from_string(source)


def _render(compiled, lead: LeadFields) -> str:  # type: ignore[no-untyped-def]
    # An empty field is an undefined value that renders empty (so `default` applies) and lets
    # `lead.firstName[0]` or `.upper` chain on without failing; StrictUndefined stays for the rest.
    # A namespace rather than a dict: it has no methods (lead.items()) for a template to reach.
    variables = SimpleNamespace(
        **{
            name: value if value.strip() else ChainableUndefined(name=f"lead.{name}")
            for name, value in lead.variables().items()
        }
    )
    try:
        text = compiled.render(lead=variables)
    except Exception as error:  # the sandbox's SecurityError, an UndefinedError, a filter's own error
        raise RenderError(f"cannot be rendered: {error}") from None
    if len(text) > MAX_RENDERED:
        raise RenderError(f"renders to more than {MAX_RENDERED} characters")
    return text


def _filter_message(error: TemplateError) -> str:
    message = (getattr(error, "message", None) or str(error)).rstrip(".")
    return f"{message}; the filters are {', '.join(FILTERS)}" if "filter" in message else message


def _children(node: nodes.Node) -> Iterator[tuple[nodes.Node, nodes.Node]]:
    """Every node under `node`, with its parent."""
    for child in node.iter_child_nodes():
        yield child, node
        yield from _children(child)


def _problems(tree: nodes.Template) -> Iterator[str]:
    unknown = sorted(meta.find_undeclared_variables(tree) - {"lead"})
    if unknown:
        yield f"unknown variable {unknown[0]}; the variables are {KNOWN}"
    for node, parent in _children(tree):
        for kind, message in REFUSED.items():
            if isinstance(node, kind):
                yield message
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield f"{node.attr} is not a variable; the variables are {KNOWN}"
        if isinstance(node, nodes.Name) and node.name == "lead":
            if node.ctx != "load":
                yield "lead cannot be assigned to"
            else:
                yield from _lead_use(node, parent)


def _lead_use(node: nodes.Name, parent: nodes.Node) -> Iterator[str]:
    """`lead` may only be read a field at a time: lead.firstName or lead["firstName"]."""
    if isinstance(parent, nodes.Getattr) and parent.node is node:
        name = parent.attr
    elif isinstance(parent, nodes.Getitem) and parent.node is node and isinstance(parent.arg, nodes.Const):
        name = str(parent.arg.value)
    else:
        yield f"use one field of lead at a time, e.g. lead.firstName; the variables are {KNOWN}"
        return
    if name not in VARIABLES:
        yield f"unknown variable lead.{name}; the variables are {KNOWN}"
