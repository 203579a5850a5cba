"""The axe-core check in Debian's Chromium: what it audits, the violations it finds."""

from __future__ import annotations

from typing import Any

import pytest

from consult_hub.config import PROJECT_ROOT

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# A module of audits (the browser and live_server fixtures are tests/support/browser.py's).
needs_axe = pytest.mark.skipif(not AXE.exists(), reason=f"{AXE.relative_to(PROJECT_ROOT)} "
                               "missing (run `npm ci`; `make test` does)")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(result => result.violations)", WCAG_TAGS)


def describe(url: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{url}: [{violation['impact']}] {violation['id']}: {violation['help']}"
                     f" ({violation['helpUrl']})")
        for node in violation["nodes"][:5]:
            summary = " / ".join(node.get("failureSummary", "").splitlines()[1:3])
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)
