"""A lead's phone number: any common writing of an international number kept in E.164, anything else refused
naming the field (on a form, or on its line of an imported file)."""

from __future__ import annotations

import pytest

from leadflood.leads.v1 import leads_pb2
from leadflood_platform.errors import InvalidArgument
from leads import phones
from leads.imports import ImportedFile
from leads.service import NewLead


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("+14155550123", "+14155550123"),
        (" +1 (415) 555-0123 ", "+14155550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0049 30 1234567", "+49301234567"),
        ("+49.30.123/4567", "+49301234567"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_a_number_is_kept_in_e164(given: str, kept: str) -> None:
    assert phones.normalised(given) == kept


@pytest.mark.parametrize(
    "given", ["415 555 0123", "+0 415 555 0123", "+1 415", "+1234567890123456", "call me", "+1 415 555 0123 x12"]
)
def test_anything_else_is_refused_naming_the_field(given: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        phones.normalised(given)
    [violation] = refused.value.violations
    assert violation.field == "phone" and "international form" in refused.value.message


def test_a_new_lead_s_phone_is_normalised_with_the_rest() -> None:
    lead = NewLead(email="a@b.com", first_name="A", last_name="B", phone="+1 415-555-0123").validated()
    assert lead.phone == "+14155550123"


def test_an_imported_row_s_bad_phone_is_an_error_on_its_line_and_a_good_one_is_kept() -> None:
    imported = ImportedFile()
    imported.add(
        leads_pb2.ImportLeadsRequest(
            rows=[
                leads_pb2.ImportRow(line=2, email="a@b.com", first_name="A", last_name="B", phone="+1 415 555 0123"),
                leads_pb2.ImportRow(line=3, email="c@d.com", first_name="C", last_name="D", phone="555-0123"),
                leads_pb2.ImportRow(line=4, email="e@f.com", first_name="E", last_name="F"),
            ],
            last=True,
        )
    )
    assert {email: row.phone for email, row in imported.accepted.items()} == {"a@b.com": "+14155550123", "e@f.com": ""}
    assert imported.accepted["a@b.com"].edited.split(",")[-1] == "phone"  # the file's value is the user's own
    [(line, message)] = imported.errors
    assert line == 3 and "phone" in message and "international form" in message
