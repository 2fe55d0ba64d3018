"""`classifier`: the inbox's inbound classifier on the public fixture corpora, right answers per kind, the
visible reply text's exact matches, and messages/s beside the email package's own parse rate. No stack.

The expected answers are the ones written per file in services/inbox/tests (read from there, so the bench
and the tests cannot disagree on what "right" is).
"""

from __future__ import annotations

import email
import email.policy
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from bench.context import Context, Limit
from bench.report import Row
from inbox.classify import classify
from inbox.reply_text import iter_parts, visible_text

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "services" / "inbox" / "tests"
SECONDS = 2.0
SETTINGS = {"seconds": SECONDS}
_DEFAULT_PLACES = (ROOT.parent / "shared" / "fixtures", Path("/work/shared/fixtures"))


def fixtures_dir() -> Path | None:
    """The public corpora: $LEADFLOOD_FIXTURES when set, else ../shared/fixtures beside the repository, else
    /work/shared/fixtures; None when the chosen folder is not there."""
    if chosen := os.environ.get("LEADFLOOD_FIXTURES"):
        return Path(chosen) if Path(chosen).is_dir() else None
    return next((p for p in _DEFAULT_PLACES if p.is_dir()), None)


def missing_fixtures() -> str:
    """What to do when `fixtures_dir` finds nothing (the tests fail with it, never skip)."""
    chosen = os.environ.get("LEADFLOOD_FIXTURES")
    where = f"LEADFLOOD_FIXTURES={chosen} is not a folder" if chosen else "LEADFLOOD_FIXTURES is not set"
    looked = ", ".join(dict.fromkeys(str(p) for p in _DEFAULT_PLACES))
    return f"the public fixture corpora are missing: {where}, and none at {looked}; point LEADFLOOD_FIXTURES at them"


def _tests(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", TESTS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _rate(work: list[bytes], run: Callable[[bytes], object]) -> tuple[float, int]:
    """Messages/s of `run` over `work`, again and again for SECONDS."""
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SECONDS:
        for raw in work:
            run(raw)
        done += len(work)
    return done / elapsed, done


def _parse_and_walk(raw: bytes) -> None:
    for _ in iter_parts(email.message_from_bytes(raw, policy=email.policy.compat32)):
        pass


async def rows(ctx: Context) -> list[Row]:
    folder = fixtures_dir()
    if folder is None:
        raise RuntimeError(missing_fixtures())
    expected_classes, expected_texts = _tests("test_classify"), _tests("test_reply_text")
    bounces_dir, replies_dir = folder / expected_classes.BOUNCES_DIR, folder / expected_texts.REPLIES_DIR
    misses: list[str] = []

    def right(name: str, ok: bool) -> bool:
        if not ok:
            misses.append(name)
        return ok

    ctx.progress("classifier: accuracy on the fixtures")
    bounce_ok = sum(
        right(name, expected_classes.Bounce.of(classify((bounces_dir / name).read_bytes())) == want)
        for name, want in expected_classes.BOUNCES.items()
    )
    complaint_ok = sum(
        right(name, expected_classes.Complaint.of(classify((bounces_dir / name).read_bytes())) == want)
        for name, want in expected_classes.COMPLAINTS.items()
    )
    replies = {name: (replies_dir / name).read_bytes() for name in expected_texts.VISIBLE}
    reply_ok = sum(right(name, classify(raw).kind == "reply") for name, raw in replies.items())
    text_ok = sum(
        right(f"{name} (visible text)", visible_text(raw.decode("utf-8")) == expected_texts.VISIBLE[name])
        for name, raw in replies.items()
    )

    ctx.progress(f"classifier: messages/s, {SECONDS:g} s each for the parse and the classifier")
    corpus = [
        *((bounces_dir / name).read_bytes() for name in [*expected_classes.BOUNCES, *expected_classes.COMPLAINTS]),
        *replies.values(),
    ]
    parse_rate, _ = _rate(corpus, _parse_and_walk)
    rate, done = _rate(corpus, classify)
    parse = Limit("email_parse", "email package parse + walk", parse_rate, "msgs/s")
    ctx.limits[parse.key] = parse
    ctx.notes.append(
        "classifier: fixtures from "
        f"{folder}; misses: {', '.join(misses) if misses else 'none'}; throughput = the {len(corpus)} fixtures "
        f"({sum(map(len, corpus)):,} bytes) classified over and over for {SECONDS:g} s in one process"
    )
    n_bounces, n_complaints, n_texts = len(expected_classes.BOUNCES), len(expected_classes.COMPLAINTS), len(replies)
    return [
        Row(
            "classifier: bounces right", bounce_ok, f"of {n_bounces}", note="hard/soft, status, recipients, original id"
        ),
        Row("classifier: complaints right", complaint_ok, f"of {n_complaints}", note="address, original id, type"),
        Row("classifier: replies right", reply_ok, f"of {n_texts}", note="the reply corpus, each taken for a reply"),
        Row("classifier: visible text exact", 100.0 * text_ok / n_texts, "%", note=f"{text_ok} of {n_texts} replies"),
        Row("classifier: throughput", rate, "msgs/s", parse, note=f"{done:,} classifications, one core"),
    ]
