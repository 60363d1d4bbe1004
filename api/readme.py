"""README's table of request inputs, rendered from the contract (chalicelib/
contract.py via api/openapi.py); `make check` fails when README disagrees.

    .venv/bin/python -m api.readme            # print the table
    .venv/bin/python -m api.readme --write    # put it into README.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from api.openapi import generate
from chalicelib import contract, validation

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- contract:begin (python -m api.readme --write) -->"
END = "<!-- contract:end -->"


def table() -> str:
    """The markdown table: one row per input a route reads."""
    document = generate()
    components = document["components"]["schemas"]
    rows = ["| route | input | name | required | must be |", "|---|---|---|---|---|"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            route = f"{method.upper()} {path}"
            for parameter in operation["parameters"]:
                required = "yes" if parameter["required"] else "no"
                rows.append(
                    f"| {route} | {parameter['in']} | `{parameter['name']}` | {required} | "
                    f"{contract.rule(parameter['schema'])} |"
                )
            if "requestBody" in operation:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                body = components[ref.rsplit("/", 1)[1]]
                required = set(body.get("required", []))
                for name, schema in body["properties"].items():
                    rows.append(
                        f"| {route} | body | `{name}` | {'yes' if name in required else 'no'} | "
                        f"{contract.rule(schema, components)} |"
                    )
    rows.append("")
    rows.append(
        f"Every body is one JSON object of at most {validation.contract.MAX_BODY_BYTES} bytes "
        "with `Content-Type: application/json` (else 415). A key given twice, an unknown "
        "field, NaN or Infinity, a number longer than "
        f"{validation.MAX_NUMBER_CHARS} characters, a string where a number belongs (or the "
        "reverse), text that is not valid Unicode and nesting deeper than the parser follows "
        "are all 400 `INVALID_REQUEST`; patterns match the whole value."
    )
    return "\n".join(rows)


def section() -> str:
    """The table with the markers README keeps around it."""
    return f"{BEGIN}\n{table()}\n{END}"


def main() -> None:
    text = README.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if "--write" in sys.argv:
        if start < 0 or end < 0:
            raise SystemExit(f"README.md has no {BEGIN} ... {END} markers")
        README.write_text(text[:start] + section() + text[end + len(END) :])
        print("README.md: contract table updated")
    else:
        print(table())


if __name__ == "__main__":
    main()
