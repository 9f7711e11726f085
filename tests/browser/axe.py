"""axe-core in the browser tests: the vendored ``static/vendor/axe/axe.min.js`` (see its README)
injected into the page in hand, run against WCAG 2.2 A and AA.

``Audit`` visits screens and records every serious or critical violation at 1280 px and 375 px
wide, in the light and the dark colour scheme (``prefers-color-scheme`` emulated); a test ends
with ``audit.assert_clean()``, which lists every finding at once (screen, width, scheme, rule,
the elements concerned) so that one run shows all there is to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
NO_TRANSITIONS = (
    "*, *::before, *::after { transition: none !important; animation: none !important; }"
)
BLOCKING = frozenset({"serious", "critical"})
WIDTHS = (1280, 375)
SCHEMES = ("light", "dark")

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
  }));
}"""


@cache
def _axe_source() -> str:
    return AXE_JS.read_text()


def violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical WCAG violations axe finds on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=_axe_source())
        # A colour that is still transitioning (the admin's buttons fade in 0.15 s) would be
        # measured halfway between the two schemes.
        page.add_style_tag(content=NO_TRANSITIONS)
    found = page.evaluate(_RUN, WCAG_TAGS)
    return [v for v in found if v["impact"] in BLOCKING]


@dataclass
class Audit:
    page: Any
    findings: list[str] = field(default_factory=list)
    screens: int = 0

    def check(self, name: str) -> None:
        """Audit the page already open in every width and colour scheme."""
        self.screens += 1
        for scheme in SCHEMES:
            self.page.emulate_media(color_scheme=scheme)
            for width in WIDTHS:
                self.page.set_viewport_size({"width": width, "height": 900})
                for violation in violations(self.page):
                    nodes = "; ".join(
                        f"{node['target']} ({node['summary'].splitlines()[-1].strip()})"
                        for node in violation["nodes"]
                    )
                    self.findings.append(
                        f"{name} @{width}px {scheme}: {violation['id']} [{violation['impact']}]"
                        f" {violation['help']} — {nodes}"
                    )
        self.page.emulate_media(color_scheme="light")
        self.page.set_viewport_size({"width": WIDTHS[0], "height": 900})

    def visit(self, name: str, path: str, status: int = 200) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == status, (
            path,
            response and response.status,
        )
        self.check(name)

    def assert_clean(self) -> None:
        assert self.screens, "no screen was audited"
        assert not self.findings, (
            f"{len(self.findings)} serious or critical axe violations:\n" + "\n".join(self.findings)
        )
