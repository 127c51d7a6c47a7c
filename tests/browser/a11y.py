"""An automated accessibility check: axe-core (vendored from npm, MPL-2.0) run in the page."""

from pathlib import Path

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(page, impacts=BLOCKING):
    """Run axe-core on the current page; return the violations of the given impacts as
    readable lines (rule, impact, the first offending elements)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => await axe.run(document, {resultTypes: ['violations']})"""
    )
    lines = []
    for violation in result["violations"]:
        if violation["impact"] in impacts:
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return lines


def assert_accessible(page):
    violations = axe_violations(page)
    assert not violations, f"{page.url}:\n" + "\n".join(violations)
