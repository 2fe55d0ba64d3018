"""A lead's phone number, kept in E.164 form (+, the country code and the number) for the SMS steps that text it."""

from __future__ import annotations

from leadflood_platform import phones


def normalised(value: str, field: str = "phone") -> str:
    """The number in E.164 form, by the rule the mail room texts and suppresses numbers by
    (leadflood_platform.phones); "" for none. INVALID_ARGUMENT naming `field` for anything else."""
    if not value.strip():
        return ""
    return phones.normalised(value, field=field)
