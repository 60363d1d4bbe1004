"""README and docs/ stay navigable: every relative link reaches a file and, with
an #anchor, a heading of it; every page is reachable from both indexes; every
source path the text names exists (files move, and the text must follow)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A path in backticks under one of the source folders, e.g. `tests/api/test_orders.py`.
SOURCE = re.compile(
    r"`((?:tests|chalicelib|local|deploy|api|bench|loadtest|infra|frontend|\.github|\.chalice)"
    r"/[\w./-]+)`"
)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"(?m)^#+ (.+)$", page.read_text())}


def links(page: Path) -> list[str]:
    return [t for t in LINK.findall(page.read_text()) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        # A missing file first: its anchors cannot be read.
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


@pytest.mark.parametrize("index", ["README.md", "docs/README.md"])
def test_every_docs_page_is_linked_from_the_index(index: str) -> None:
    page = ROOT / index
    linked = {(page.parent / t.partition("#")[0]).resolve() for t in links(page)}
    pages = {p.resolve() for p in (ROOT / "docs").glob("*.md") if p.name != "README.md"}
    assert pages <= linked, f"{index} does not link {sorted(p.name for p in pages - linked)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_source_path_named_exists(page: Path) -> None:
    missing = [p for p in SOURCE.findall(page.read_text()) if not (ROOT / p).exists()]
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_the_checks_catch_a_broken_link_and_a_stale_path(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[gone](nowhere.md) [ok](#title) [bad](#nothing)\n")
    assert links(page) == ["nowhere.md", "#title", "#nothing"]
    assert anchors(page) == {"title"}
    assert slug("Chalice's deployed state") == "chalices-deployed-state"
    assert slug("What `make test` checks here") == "what-make-test-checks-here"
    assert SOURCE.findall("see `tests/test_orders.py` and `build/x`") == ["tests/test_orders.py"]
