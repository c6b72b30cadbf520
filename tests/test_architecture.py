"""The layout's import contracts (pyproject.toml, `lint-imports`) hold, and they do bite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = str(Path(sys.executable).with_name("lint-imports"))


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(cwd)})


def test_every_contract_is_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.fixture()
def copy_of_the_code(tmp_path: Path) -> Path:
    for name in ("socialhub", "scheduler"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", ".web"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("socialhub/core/errors.py", "import reflex", "Only the UI layer"),
    ("socialhub/core/events.py", "from socialhub.feed import models", "Packages in one order"),
    ("socialhub/channels/accounts.py", "from socialhub.schedule import posts", "Packages in one order"),
    ("socialhub/feed/sources.py", "from socialhub.feed.state import stories", "never import the UI layer"),
    ("socialhub/feed/state/stories.py", "from socialhub.schedule.state import calendar", "another package's state or pages"),
    ("socialhub/identity/teams.py", "from socialhub.identity import users", "No import circles"),
])
def test_a_wrong_import_breaks_its_contract_and_is_named(copy_of_the_code, module, line, contract):
    path = copy_of_the_code / module
    path.write_text(path.read_text() + f"\n{line}  # deliberately wrong\n")
    result = lint(copy_of_the_code)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if row.endswith("BROKEN") or "BROKEN (" in row]
    assert any(contract in row for row in broken), result.stdout
    importer = module.removesuffix(".py").replace("/", ".")
    assert importer in result.stdout or importer.rsplit(".", 1)[-1] in result.stdout
