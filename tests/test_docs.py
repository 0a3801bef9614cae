"""README: the two set-up commands first, every command documented, CI runs README's test command."""
from __future__ import annotations

import re

from conftest import ROOT

from xlperf.cli import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands_block() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_the_two_setup_commands():
    first, second = _commands_block()
    assert "pip install ." in first and "xlperf merge samples/returns" in first
    assert "pip install '.[test]'" in second and second.endswith("python -m pytest -q")


def test_ci_runs_the_readme_test_command():
    test_command = _commands_block()[1].split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == test_command


def test_every_command_is_in_the_readme():
    for name in cli.commands:
        assert f"xlperf {name}" in README, name


def test_every_finding_code_family_is_documented():
    from xlperf.core.findings import CATALOG

    undocumented = [code for code in CATALOG if not code.startswith(("READ_", "PL_")) and f"`{code}`" not in README
                    and code not in README]
    assert undocumented == []
