"""docs/grpc.md names every gRPC service and method in protos/, and nothing the protos do not have."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "protos"
DOC = ROOT / "docs" / "grpc.md"

# A service's section in the doc: its heading, then a table whose rows start with the method's name.
HEADING = re.compile(r"^### `([\w.]+)`\s*$", re.MULTILINE)
ROW = re.compile(r"^\| `(\w+)` \|", re.MULTILINE)
CODE = re.compile(r"\b[A-Z][A-Z_]{5,}\b")


def _without_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


def _body(text: str, start: int) -> str:
    """The text between the brace at `start` and its closing brace."""
    depth = 0
    for at in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[at], 0)
        if depth == 0:
            return text[start + 1 : at]
    raise AssertionError("unbalanced braces in a proto")


def services_in(text: str) -> dict[str, list[str]]:
    """Full service name -> its methods, in the order written, for one .proto file's text."""
    text = _without_comments(text)
    package = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.MULTILINE)
    found: dict[str, list[str]] = {}
    for match in re.finditer(r"\bservice\s+(\w+)\s*\{", text):
        name = f"{package.group(1)}.{match.group(1)}" if package else match.group(1)
        found[name] = re.findall(r"\brpc\s+(\w+)\s*\(", _body(text, match.end() - 1))
    return found


def proto_services() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(PROTOS.rglob("*.proto")):
        found |= services_in(path.read_text())
    return found


def doc_sections() -> dict[str, str]:
    """Documented service name -> its section's text (to the next heading of any level)."""
    text = DOC.read_text()
    sections = {}
    for match in HEADING.finditer(text):
        rest = text[match.end() :]
        end = re.search(r"^#{1,3} ", rest, re.MULTILINE)
        sections[match.group(1)] = rest[: end.start()] if end else rest
    return sections


def test_the_proto_reader_finds_services_methods_and_ignores_comments() -> None:
    text = """
    syntax = "proto3";
    package leadflood.demo.v1;
    // service Commented { rpc Nope(A) returns (B); }
    message A { string s = 1; }
    service Demo {
      /* rpc Hidden(A) returns (A); */
      rpc First(A) returns (A);
      rpc Second(stream A) returns (A) { option deprecated = true; }
    }
    """
    assert services_in(text) == {"leadflood.demo.v1.Demo": ["First", "Second"]}


def test_the_protos_have_services() -> None:
    found = proto_services()
    assert "SendMessage" in found["leadflood.inbox.v1.DeliveryService"]
    assert len(found) >= 7 and all(found.values())


@pytest.mark.parametrize("service", sorted(proto_services()))
def test_every_service_and_method_in_protos_is_documented(service: str) -> None:
    sections = doc_sections()
    assert service in sections, f"docs/grpc.md has no section '### `{service}`'"
    documented = set(ROW.findall(sections[service]))
    missing = [method for method in proto_services()[service] if method not in documented]
    assert not missing, f"docs/grpc.md's {service} section lacks a row for {missing}"


def test_the_doc_names_no_service_or_method_the_protos_lack() -> None:
    protos = proto_services()
    stale = {
        service: sorted(set(ROW.findall(section)) - set(protos.get(service, [])))
        for service, section in doc_sections().items()
    }
    assert not {service: methods for service, methods in stale.items() if methods or service not in protos}


def test_the_codes_the_doc_names_are_grpc_status_codes() -> None:
    known = {code.name for code in grpc.StatusCode}
    for service, section in doc_sections().items():
        for row in section.splitlines():
            if ROW.match(row):
                # The last column, settings and names in backticks left out.
                codes = CODE.findall(re.sub(r"`[^`]*`", "", row.rsplit("|", 2)[-2]))
                unknown = [code for code in codes if code not in known]
                assert not unknown, f"{service}: {row!r} names {unknown}, not gRPC status codes"
