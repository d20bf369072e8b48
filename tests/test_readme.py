"""The README and docs/ stand on their own: every setting is in the configuration table,
and nothing refers a reader to files they do not have."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from eventrail.config import Settings

ROOT = Path(__file__).resolve().parents[1]

# Files of the project's own working notes, not shipped to users: the product contract
# (SPEC.md and its sections), the reference samples (seeds/), the style guide, the tracker.
ELSEWHERE = re.compile(
    r"\bSPEC\b|SPEC\.md|\bseeds?/\d|\bseeds/|STYLE\.md|\.\./shared|\bissue #?\d+|§", re.I
)


def _configuration_table() -> dict[str, str]:
    """variable -> its default cell, from README.md's configuration table."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    rows = re.findall(r"^\| `(EVENTRAIL_[A-Z0-9_]+)` \| ([^|]*) \|", section, re.M)
    return dict(rows)


def test_the_configuration_table_lists_every_setting() -> None:
    table = _configuration_table()
    settings = {f"EVENTRAIL_{name.upper()}": field for name, field in Settings.model_fields.items()}
    assert set(table) == set(settings), (
        f"missing from README.md: {sorted(set(settings) - set(table))}; "
        f"not settings: {sorted(set(table) - set(settings))}"
    )
    for variable, field in settings.items():
        default = field.default
        if isinstance(default, int | str | Path):
            assert f"`{default}`" in table[variable], (variable, default, table[variable])


def test_the_readme_says_how_to_change_the_port() -> None:
    text = (ROOT / "README.md").read_text()
    assert "make run PORT=" in text and "eventrail serve --port" in text


def _references(text: str) -> list[str]:
    return [text[max(0, m.start() - 40) : m.end() + 40] for m in ELSEWHERE.finditer(text)]


def test_the_docs_refer_to_no_file_a_reader_does_not_have() -> None:
    found = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        if hits := _references(path.read_text()):
            found[str(path.relative_to(ROOT))] = hits
    assert not found


def test_the_pattern_finds_what_it_must() -> None:
    for text in ("see SPEC §3", "SPEC.md", "as in seeds/003", "../shared/STYLE.md", "issue #4"):
        assert _references(text), text
    assert not _references("a SPECIAL case, seeded randomly, an issued card")


async def test_openapi_json_refers_to_no_file_a_reader_does_not_have(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/openapi.json")
    assert answer.status_code == 200
    assert not _references(answer.text)


def test_the_audit_trail_doc_uses_the_demo_credentials() -> None:
    text = (ROOT / "docs" / "audit-trail.md").read_text()
    # the demo's password is random: its examples read it from .eventrail-demo.env
    assert "Pass123" not in text and "demo.till:" not in text
    assert ". ./.eventrail-demo.env" in text and '"$DEMO_TILL"' in text
