"""The README's two commands run on fresh machines, where another apt run (unattended upgrades)
often holds the dpkg lock for minutes: every apt-get they make waits for it instead of failing."""

import re
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


def test_every_apt_get_in_the_setup_scripts_waits_for_the_dpkg_lock():
    calls = []
    for script in sorted(SCRIPTS.glob("*.sh")):
        text = script.read_text()
        variables = dict(re.findall(r'^\s*(\w+)="([^"]*)"', text, flags=re.M))
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            for call in re.findall(r"apt-get\s+(?:\$\w+\s+)*(?:update|install)\b[^&|)]*", line):
                expanded = re.sub(r"\$(\w+)", lambda m, known=variables: known.get(m.group(1), ""), call)
                calls.append((script.name, call, "DPkg::Lock::Timeout=" in expanded))
    assert calls, "no apt-get call found: the test no longer reads the scripts"
    assert [c for c in calls if not c[2]] == []
