"""axe-core in a Playwright page: the WCAG 2 A/AA rules, serious and critical findings.

axe-core comes from frontend/node_modules (pinned in frontend/package.json), so the
browser tests need no download and check with the same engine on every machine.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from playwright.sync_api import Page

from local.stack import ROOT

AXE_SCRIPT = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


@cache
def _source() -> str:
    if not AXE_SCRIPT.exists():
        raise FileNotFoundError(f"{AXE_SCRIPT} is missing: run `make deps` (npm ci in frontend/)")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def violations(page: Page, context: str | None = None) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.0/2.1 A and AA violations on the page as it is now."""
    # Injected on demand rather than with add_init_script: a page that has already
    # loaded (and re-rendered since) is checked as the shopper sees it at this moment.
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(content=_source())
    results = page.evaluate(
        """async ([context, tags]) => {
            const options = { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] };
            return await window.axe.run(context ?? document, options);
        }""",
        [context, TAGS],
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]],
            "summary": [node.get("failureSummary", "") for node in violation["nodes"]][:3],
        }
        for violation in results["violations"]
        if violation["impact"] in BLOCKING
    ]


def describe(found: list[dict[str, Any]]) -> str:
    """A readable assertion message: one paragraph per rule."""
    return "\n".join(
        f"{v['impact']} {v['id']}: {v['help']}\n  at {v['targets']}\n  {v['summary']}"
        for v in found
    )


def assert_accessible(page: Page, where: str) -> None:
    """Fail with the findings when axe reports anything serious or critical."""
    found = violations(page)
    assert not found, f"axe-core on {where}:\n{describe(found)}"
