"""The layer contracts (pyproject.toml, `[tool.importlinter]`) hold on the tree, and they do
catch an upward import: planted in a copy of the tree, it breaks them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.unit, pytest.mark.structure]

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "services", "deploy", "chaos", "bench")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def copy_of_tree(target: Path) -> Path:
    """The packages and the project file, without caches."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run the layer contracts on `tree` (its packages shadow the installed ones)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120
    )


def test_the_tree_keeps_its_layer_contracts():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(
    ("module", "planted", "named"),
    [
        ("services/kit/planted.py", "import services.features.handoffs\n", "services.kit"),
        ("contracts/planted.py", "import services.kit.settings\n", "contracts"),
        ("services/social/planted.py", "import services.school.api\n", "services.social"),
        ("services/portal/planted.py", "import services.audit.service\n", "services.portal"),
        ("services/school/planted.py", "import deploy.services\n", "services.school"),
        ("services/features/consent/planted.py", "import services.features.handoffs\n", "consent"),
    ],
)
def test_an_upward_import_breaks_them(tmp_path, module, planted, named):
    tree = copy_of_tree(tmp_path)
    (tree / module).write_text(f'"""Planted."""\n\n{planted}')
    done = lint_imports(tree)
    assert done.returncode != 0, done.stdout
    assert "BROKEN" in done.stdout and named in done.stdout and "planted" in done.stdout
