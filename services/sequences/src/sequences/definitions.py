"""A sequence as a user defines it (name, window, mailbox, steps): validated whole, every fault named by its field."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field

from leadflood_platform import templates
from leadflood_platform.errors import NO_NUL, FieldViolation, InvalidArgument
from sequences import schedule
from sequences.models import CALL_TASK, CHANNELS, EMAIL, SMS

MAX_NAME, MAX_STEPS, MAX_VARIANTS, MAX_MAILBOX_ID = 200, 20, 5, 100


@dataclass(frozen=True)
class WindowSpec:
    days: list[int] = field(default_factory=list)
    start_time: str = ""
    end_time: str = ""
    time_zone: str = ""


@dataclass(frozen=True)
class VariantSpec:
    id: str = ""
    name: str = ""
    weight: int = 0
    subject_template: str = ""
    body_template: str = ""


@dataclass(frozen=True)
class StepSpec:
    channel: str
    id: str = ""
    delay_amount: int = 0
    delay_unit: str = schedule.BUSINESS_DAYS
    subject_template: str = ""
    body_template: str = ""
    variants: list[VariantSpec] = field(default_factory=list)


@dataclass(frozen=True)
class Definition:
    name: str
    window: WindowSpec = field(default_factory=WindowSpec)
    mailbox_id: str = ""
    steps: list[StepSpec] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """A validated window: what the sequences table stores."""

    days: list[int]
    start: dt.time
    end: dt.time
    time_zone: str


@dataclass(frozen=True)
class ValidStep:
    id: uuid.UUID | None  # None: a new step
    channel: str
    delay_amount: int
    delay_unit: str
    subject_template: str
    body_template: str
    variants: list[dict[str, object]]


@dataclass(frozen=True)
class ValidDefinition:
    name: str
    window: Window
    mailbox_id: str
    steps: list[ValidStep]


class _Problems:
    """Collects field violations; `raise_if_any` raises them as one InvalidArgument."""

    def __init__(self) -> None:
        self.found: list[FieldViolation] = []

    def add(self, field_name: str, message: str) -> None:
        self.found.append(FieldViolation(field_name, message))

    def checked(self, fn, *args: object) -> object:  # type: ignore[no-untyped-def]
        """fn(*args), its InvalidArgument's violations collected instead of raised (None then)."""
        try:
            return fn(*args)
        except InvalidArgument as error:
            self.found += error.violations
            return None

    def raise_if_any(self) -> None:
        if self.found:
            raise InvalidArgument("; ".join(f"{v.field}: {v.message}" for v in self.found), self.found)


def _text(problems: _Problems, field_name: str, value: str, limit: int, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        problems.add(field_name, "is required")
    elif len(value) > limit:
        problems.add(field_name, f"must be at most {limit} characters")
    elif "\x00" in value:
        problems.add(field_name, NO_NUL)
    return value


def validate_window(spec: WindowSpec, problems: _Problems) -> Window | None:
    before = len(problems.found)
    days = sorted(set(spec.days)) or sorted(schedule.DEFAULT_DAYS)
    if not set(days) <= schedule.ALL_DAYS:
        problems.add("window.days", "must be weekdays 1 (Monday) to 7 (Sunday)")
    start = problems.checked(schedule.parse_time, spec.start_time, "window.start_time") if spec.start_time else None
    end = problems.checked(schedule.parse_time, spec.end_time, "window.end_time") if spec.end_time else None
    start = start if spec.start_time else schedule.DEFAULT_START
    end = end if spec.end_time else schedule.DEFAULT_END
    zone_name = spec.time_zone.strip() or schedule.DEFAULT_ZONE
    problems.checked(schedule.zone, zone_name)
    if isinstance(start, dt.time) and isinstance(end, dt.time) and not start < end:
        problems.add("window.end_time", "must be after start_time (a window does not cross midnight)")
    if len(problems.found) > before:
        return None
    return Window(days=days, start=start, end=end, time_zone=zone_name)  # type: ignore[arg-type]


def _templates(problems: _Problems, where: str, channel: str, subject: str, body: str) -> None:
    """The subject and body a channel needs, each one a template `templates.check` passes."""
    if channel == EMAIL and not subject.strip():
        problems.add(f"{where}.subject_template", "is required for an email step")
    if channel == CALL_TASK and not subject.strip():
        problems.add(f"{where}.subject_template", "is required for a call task (it is the task's title)")
    if channel == SMS and subject.strip():
        problems.add(f"{where}.subject_template", "must be empty for an SMS step")
    if channel in (EMAIL, SMS) and not body.strip():
        problems.add(f"{where}.body_template", f"is required for an {channel.replace('_', ' ')} step")
    for name, source in (("subject_template", subject), ("body_template", body)):
        if source:
            problems.checked(templates.check, source, f"{where}.{name}")


def _variants(problems: _Problems, where: str, step: StepSpec, known: set[str]) -> list[dict[str, object]]:
    if not step.variants:
        return []
    if step.channel == CALL_TASK:
        problems.add(f"{where}.variants", "a call task has no variants")
        return []
    if not 2 <= len(step.variants) <= MAX_VARIANTS:
        problems.add(f"{where}.variants", f"must be 2 to {MAX_VARIANTS} variants (or none)")
    if step.subject_template or step.body_template:
        problems.add(f"{where}.subject_template", "must be empty when the step has variants: each variant has its own")
    out, seen = [], set()
    for number, variant in enumerate(step.variants):
        at = f"{where}.variants[{number}]"
        if variant.id and (variant.id not in known or variant.id in seen):
            problems.add(f"{at}.id", "is not a variant of this step (leave it empty for a new one)")
        seen.add(variant.id)
        weight = variant.weight or 1
        if not 1 <= weight <= 100:
            problems.add(f"{at}.weight", "must be between 1 and 100")
        name = _text(problems, f"{at}.name", variant.name, 100, required=False) or chr(ord("A") + number)
        _templates(problems, at, step.channel, variant.subject_template, variant.body_template)
        out.append(
            {
                "id": variant.id or str(uuid.uuid4()),
                "name": name,
                "weight": weight,
                "subject_template": variant.subject_template,
                "body_template": variant.body_template,
            }
        )
    return out


def validate(definition: Definition, *, known_steps: dict[uuid.UUID, set[str]] | None = None) -> ValidDefinition:
    """The definition cleaned up, or InvalidArgument listing every field at fault.

    `known_steps`: the sequence's current steps and their variants' ids, which the definition may
    keep by naming them (an update); a new sequence has none.
    """
    known_steps = known_steps or {}
    problems = _Problems()
    name = _text(problems, "name", definition.name, MAX_NAME, required=True)
    mailbox_id = _text(problems, "mailbox_id", definition.mailbox_id, MAX_MAILBOX_ID, required=False)
    if mailbox_id and not _is_uuid(mailbox_id):
        problems.add("mailbox_id", "is not a mailbox id (leave it empty for the org's default mailbox)")
    window = validate_window(definition.window, problems)
    if len(definition.steps) > MAX_STEPS:
        problems.add("steps", f"must be at most {MAX_STEPS} steps")
    steps, seen = [], set()
    for number, step in enumerate(definition.steps[:MAX_STEPS]):
        where = f"steps[{number}]"
        step_id = _known_id(problems, f"{where}.id", step.id, known_steps, seen)
        if step.channel not in CHANNELS:
            problems.add(f"{where}.channel", f"must be one of {', '.join(CHANNELS)}")
            continue
        if step.delay_unit not in schedule.UNITS:
            problems.add(f"{where}.delay_unit", f"must be one of {', '.join(schedule.UNITS)}")
            continue
        limit = schedule.MAX_DELAY[step.delay_unit]
        if not 0 <= step.delay_amount <= limit:
            problems.add(f"{where}.delay_amount", f"must be between 0 and {limit} {step.delay_unit.replace('_', ' ')}")
        variants = _variants(problems, where, step, known_steps.get(step_id, set()) if step_id else set())
        if not step.variants:
            _templates(problems, where, step.channel, step.subject_template, step.body_template)
        steps.append(
            ValidStep(
                id=step_id,
                channel=step.channel,
                delay_amount=step.delay_amount,
                delay_unit=step.delay_unit,
                subject_template=step.subject_template,
                body_template=step.body_template,
                variants=variants,
            )
        )
    problems.raise_if_any()
    assert window is not None  # no problems means the window was valid
    return ValidDefinition(name=name, window=window, mailbox_id=mailbox_id, steps=steps)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _known_id(
    problems: _Problems, field_name: str, value: str, known: dict[uuid.UUID, set[str]], seen: set[uuid.UUID]
) -> uuid.UUID | None:
    if not value:
        return None
    try:
        step_id = uuid.UUID(value)
    except ValueError:
        step_id = None
    if step_id is None or step_id not in known or step_id in seen:
        problems.add(field_name, "is not a step of this sequence (leave it empty for a new step)")
        return None
    seen.add(step_id)
    return step_id


def choose_variant(variants: list[dict[str, object]], enrollment_id: uuid.UUID, step_id: uuid.UUID) -> dict | None:
    """The variant an enrollment gets at a step, by weight: the same every time it is asked (no state needed)."""
    if not variants:
        return None
    total = sum(int(v["weight"]) for v in variants)  # type: ignore[call-overload]
    digest = hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for variant in variants:
        point -= int(variant["weight"])  # type: ignore[call-overload]
        if point < 0:
            return variant
    return variants[-1]
