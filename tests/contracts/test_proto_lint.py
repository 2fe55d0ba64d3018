"""Lints the contracts in protos/: versioned packages matching their folders, buf-style naming rules."""

from __future__ import annotations

import re
from pathlib import Path

import grpc_tools
import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTOS = sorted((ROOT / "protos").rglob("*.proto"))
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def _descriptors(tmp_path: Path) -> list[descriptor_pb2.FileDescriptorProto]:
    out = tmp_path / "set.pb"
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{ROOT / 'protos'}", f"-I{include}", f"--descriptor_set_out={out}"]
    assert protoc.main([*args, *(str(p.relative_to(ROOT / "protos")) for p in PROTOS)]) == 0
    return list(descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file)


def lint(files: list[descriptor_pb2.FileDescriptorProto]) -> list[str]:
    problems: list[str] = []
    for file in files:
        where = file.name
        parts = file.package.split(".")
        if len(parts) != 3 or parts[0] != "leadflood" or not re.fullmatch(r"v\d+", parts[2]):
            problems.append(f"{where}: package {file.package!r} is not leadflood.<area>.v<N>")
        if Path(file.name).parent.as_posix() != file.package.replace(".", "/"):
            problems.append(f"{where}: file is not in the folder of its package {file.package}")
        for enum in file.enum_type:
            prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
            if not enum.value or enum.value[0].number != 0 or enum.value[0].name != prefix + "UNSPECIFIED":
                problems.append(f"{where}: enum {enum.name} must start with {prefix}UNSPECIFIED = 0")
            problems += [
                f"{where}: {v.name} lacks prefix {prefix}" for v in enum.value if not v.name.startswith(prefix)
            ]
        for message in file.message_type:
            if not PASCAL.match(message.name):
                problems.append(f"{where}: message {message.name} is not PascalCase")
            problems += [
                f"{where}: field {message.name}.{f.name} is not snake_case"
                for f in message.field
                if not SNAKE.match(f.name)
            ]
        for service in file.service:
            if not service.name.endswith("Service"):
                problems.append(f"{where}: service {service.name} should end in Service")
            for method in service.method:
                for kind, type_name in (("Request", method.input_type), ("Response", method.output_type)):
                    if type_name.rsplit(".", 1)[-1] != f"{method.name}{kind}":
                        problems.append(f"{where}: {service.name}.{method.name} must take/return {method.name}{kind}")
    return problems


def test_there_are_contracts() -> None:
    assert PROTOS, "no .proto files found under protos/"


def test_contracts_pass_the_lint(tmp_path: Path) -> None:
    assert lint(_descriptors(tmp_path)) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("package leadflood.leads; message A { string x = 1; }", "is not leadflood.<area>.v<N>"),
        ("package leadflood.leads.v1; enum Color { RED = 0; }", "must start with COLOR_UNSPECIFIED = 0"),
        ("package leadflood.leads.v1; message A { string badName = 1; }", "is not snake_case"),
        (
            "package leadflood.leads.v1; message A {} service LeadsService { rpc Get(A) returns (A); }",
            "must take/return GetRequest",
        ),
    ],
)
def test_the_lint_catches_mistakes(tmp_path: Path, source: str, expected: str) -> None:
    folder = tmp_path / "leadflood" / "leads" / "v1"
    folder.mkdir(parents=True)
    (folder / "bad.proto").write_text(f'syntax = "proto3";\n{source}\n')
    out = tmp_path / "set.pb"
    assert protoc.main(["protoc", f"-I{tmp_path}", f"--descriptor_set_out={out}", "leadflood/leads/v1/bad.proto"]) == 0
    problems = lint(list(descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file))
    assert any(expected in p for p in problems), problems
