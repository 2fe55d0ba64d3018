"""The restore drill's verdict (devstack/drill_restore.py differences): a restore that lost, added or changed anything
the manifest describes is reported, naming what; one that matches is not. The drill itself runs in tests/restore."""

from __future__ import annotations

import copy
from typing import Any

from devstack.drill_restore import differences

MANIFEST: dict[str, Any] = {
    "schemas": {
        "leads": {"leads": {"rows": 3, "sample": ["a1", "b2", "c3"]}, "outbox": {"rows": 0, "sample": []}},
        "gateway": {"users": {"rows": 1, "sample": ["d4"]}},
    },
    "sequences": {"leads.outbox_id_seq": 42},
    "roles": ["gateway_svc", "leads_svc"],
}


def restored(change: Any = None) -> dict[str, Any]:
    found = copy.deepcopy(MANIFEST)
    if change:
        change(found)
    return found


def test_a_restore_that_matches_the_manifest_has_no_differences() -> None:
    assert differences(MANIFEST, restored()) == []


def test_each_kind_of_loss_or_change_is_named() -> None:
    def row_lost(found: dict[str, Any]) -> None:
        found["schemas"]["leads"]["leads"] = {"rows": 2, "sample": ["a1", "b2"]}

    def row_changed(found: dict[str, Any]) -> None:
        found["schemas"]["leads"]["leads"]["sample"][1] = "zz"

    def table_lost(found: dict[str, Any]) -> None:
        del found["schemas"]["leads"]["outbox"]

    def schema_lost(found: dict[str, Any]) -> None:
        del found["schemas"]["gateway"]

    def sequence_behind(found: dict[str, Any]) -> None:
        found["sequences"]["leads.outbox_id_seq"] = 1

    def table_added(found: dict[str, Any]) -> None:
        found["schemas"]["leads"]["stray"] = {"rows": 0, "sample": []}

    assert differences(MANIFEST, restored(row_lost)) == ["leads.leads has 2 rows, the backup 3"]
    assert differences(MANIFEST, restored(row_changed)) == ["leads.leads: sampled rows differ from the backup's"]
    assert differences(MANIFEST, restored(table_lost)) == ["table leads.outbox is missing"]
    assert differences(MANIFEST, restored(schema_lost)) == ["schema gateway is missing"]
    assert differences(MANIFEST, restored(sequence_behind)) == ["sequence leads.outbox_id_seq at 1, the backup 42"]
    assert differences(MANIFEST, restored(table_added)) == ["leads.stray was not in the backup"]
