"""Check every Terraform argument and block in infra/ against the pinned AWS provider.

No terraform binary runs here, so the provider's schema comes from the npm
package @cdktf/provider-aws (pinned in infra/provider-schema/package-lock.json),
which is generated from it: one TypeScript declaration per resource and data
source, each argument documented with its Terraform name
(`{@link https://registry.terraform.io/.../docs/resources/dynamodb_table#billing_mode ...}`)
and each block typed by an interface of its own. A resource, data source,
argument or block the provider does not have is an error; so is a module whose
provider pin is not the version the package was generated from.

cdktf types some very deep nestings as `any`: the WAFv2 rule `statement`, which
the provider copies from the WAFv2 API, is checked against that API's model
(botocore's wafv2 `Statement`, snake_cased; a list member may be named in the
singular, as the provider does). Below any other `any` nothing is checked.

    .venv/bin/python -m infra.provider_schema [paths...]   (make provider-schema first)
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

INFRA = Path(__file__).resolve().parent
PACKAGE = INFRA.parent / "build" / "provider-schema" / "node_modules" / "@cdktf" / "provider-aws"
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle"}
PROVIDER_META = {"alias"}
_INTERFACE = re.compile(r"^export interface (\w+)(?: extends [\w.]+)? \{$", re.M)
_CONFIG = re.compile(r"^export interface (\w+) extends cdktf\.TerraformMetaArguments \{$", re.M)
_FIELD = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/hashicorp/aws/[\d.]+/docs"
    r"(?:/(?:resources|data-sources)/(\w+))?#(\w+) [\w#]+\}\s*\n"
    r"(?:\s*\*.*\n)*?\s*\*/\s*\n\s*readonly (\w+)\??: ([^;]+);"
)


@dataclass
class Block:
    """Argument names and nested blocks of one schema level; `open` below an `any`."""

    arguments: set[str] = field(default_factory=set)
    blocks: dict[str, Block] = field(default_factory=dict)
    open: bool = False


def provider_version(package: Path = PACKAGE) -> str:
    """The AWS provider version the installed package was generated from."""
    meta = json.loads((package / "package.json").read_text())
    return str(meta["cdktf"]["provider"]["version"])


def _interfaces(text: str) -> dict[str, str]:
    """Interface name -> its body, for one declaration file."""
    starts = list(_INTERFACE.finditer(text))
    bodies = {}
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        end = following.start() if following else len(text)
        bodies[match.group(1)] = text[match.end() : end]
    return bodies


def _block(name: str, interfaces: dict[str, str], seen: frozenset[str] = frozenset()) -> Block:
    block = Block()
    for _type, tf_name, _ts_name, ts_type in _FIELD.findall(interfaces[name]):
        referenced = [t for t in re.findall(r"\b(\w+)\b", ts_type) if t in interfaces]
        if referenced and referenced[0] not in seen:
            block.blocks[tf_name] = _block(referenced[0], interfaces, seen | {name})
        elif ts_type.strip() == "any":
            block.blocks[tf_name] = Block(open=True)
            block.arguments.add(tf_name)
        else:
            block.arguments.add(tf_name)
    return block


# (resource type prefix, block name) typed `any` by cdktf -> (botocore service, shape)
API_SHAPES = {("aws_wafv2_", "statement"): ("wafv2", "Statement")}


def _api_block(service: str, shape_name: str) -> Block:
    """A Block from an AWS API model: structures and lists of them are blocks."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    built: dict[str, Block] = {}

    def build(shape: Any) -> Block:
        if shape.name in built:
            return built[shape.name]
        block = built[shape.name] = Block()
        for member, member_shape in shape.members.items():
            name = xform_name(member)
            target = member_shape.member if member_shape.type_name == "list" else member_shape
            if target.type_name == "structure":
                nested = build(target)
                for alias in {name, name.removesuffix("s")}:
                    block.blocks[alias] = nested
            else:
                block.arguments.add(name)
        return block

    return build(model.shape_for(shape_name))


def _close(type_name: str, block: Block) -> None:
    """Replace the `any` blocks an API model describes with that model."""
    for name, nested in list(block.blocks.items()):
        shape = next(
            (
                s
                for (prefix, n), s in API_SHAPES.items()
                if type_name.startswith(prefix) and n == name
            ),
            None,
        )
        if nested.open and shape is not None:
            block.blocks[name] = _api_block(*shape)
        elif not nested.open:
            _close(type_name, nested)


@cache
def schema(kind: str, type_name: str, package: Path = PACKAGE) -> Block | None:
    """The schema of a resource or data source (kind "resource"/"data"), or the
    provider's own (kind "provider"); None when the provider has no such type."""
    if kind == "provider":
        directory, config = "provider", "AwsProviderConfig"
    else:
        stem = type_name.removeprefix("aws_").replace("_", "-")
        directory = stem if kind == "resource" else f"data-aws-{stem}"
        config = None
    path = package / "lib" / directory / "index.d.ts"
    if not path.exists():
        return None
    text = path.read_text()
    interfaces = _interfaces(text)
    if config is None:
        docs = "resources" if kind == "resource" else "data-sources"
        if f"/docs/{docs}/{type_name.removeprefix('aws_')}#" not in text:
            return None  # a directory of that name documents another type
        match = _CONFIG.search(text)
        if match is None:
            return None
        config = match.group(1)
    block = _block(config, interfaces)
    _close(type_name, block)
    return block


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _walk(found: dict[str, Any], expected: Block, where: str) -> Iterator[str]:
    """Unknown names in one block as written (hcl2: blocks are lists of dicts
    marked __is_block__; a map argument is a plain dict)."""
    if expected.open:
        return
    for name, value in found.items():
        if name.startswith("__"):
            continue
        nested = expected.blocks.get(name)
        written_as_block = (
            isinstance(value, list)
            and bool(value)
            and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
        )
        if name == "dynamic" and isinstance(value, list):
            # dynamic "<block>" { for_each = ...  content { ... } }
            for item in value:
                for label, body in item.items():
                    if label.startswith("__"):
                        continue
                    block = expected.blocks.get(_unquote(label))
                    if block is None:
                        yield f"{where}: the provider has no block {_unquote(label)!r} (dynamic)"
                        continue
                    for content in body.get("content", []):
                        yield from _walk(content, block, f"{where}.{_unquote(label)}")
            continue
        if written_as_block:
            if nested is None:
                yield f"{where}: the provider has no block {name!r}"
                continue
            for item in value:
                yield from _walk(item, nested, f"{where}.{name}")
        elif name not in expected.arguments and name not in expected.blocks:
            yield f"{where}: the provider has no argument {name!r}"


def check_file(path: Path, package: Path = PACKAGE) -> list[str]:
    """Every unknown resource type, data source, argument or block in one file."""
    with path.open() as handle:
        parsed = hcl2.load(handle)
    errors: list[str] = []
    for kind in ("resource", "data"):
        for entry in parsed.get(kind, []):
            for quoted_type, named in entry.items():
                type_name = _unquote(quoted_type)
                expected = schema(kind, type_name, package)
                for name, body in named.items():
                    if name.startswith("__"):
                        continue
                    where = f"{path.parent.name}/{path.name}: {kind} {type_name}.{_unquote(name)}"
                    if expected is None:
                        errors.append(f"{where}: the provider has no {kind} type {type_name!r}")
                        continue
                    written = {k: v for k, v in body.items() if k not in META_ARGUMENTS}
                    errors.extend(_walk(written, expected, where))
    for entry in parsed.get("provider", []):
        for provider_name, body in entry.items():
            if _unquote(provider_name) != "aws":
                continue
            expected = schema("provider", "aws", package)
            assert expected is not None
            written = {k: v for k, v in body.items() if k not in PROVIDER_META}
            errors.extend(_walk(written, expected, f"{path.parent.name}/{path.name}: provider aws"))
    pin = f"= {provider_version(package)}"
    for block in parsed.get("terraform", []):
        for required in block.get("required_providers", []):
            aws = required.get("aws")
            if aws is not None and _unquote(str(aws.get("version"))) != pin:
                errors.append(
                    f'{path.parent.name}/{path.name}: pin the AWS provider to "{pin}" (the '
                    f"schema checked here), not {_unquote(str(aws.get('version')))!r}"
                )
    return errors


def check(paths: list[Path], package: Path = PACKAGE) -> list[str]:
    if not (package / "package.json").exists():
        raise SystemExit(f"{package} is missing: run `make provider-schema`")
    return [error for path in paths for error in check_file(path, package)]


def main() -> int:
    paths = [Path(p) for p in sys.argv[1:]] or sorted(INFRA.glob("*/*.tf"))
    errors = check(paths)
    for error in errors:
        print(error)
    version = provider_version()
    print(f"provider schema {version}: {len(paths)} files, {len(errors)} unknown names")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
