"""models_rm is a library: importing it is cheap and it never imports Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import models_rm

PACKAGE_DIR = Path(models_rm.__file__).parent


def run_python(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE_DIR.parent)


def test_importing_the_package_and_its_light_modules_does_not_import_torch():
    run_python(
        "import sys, models_rm, models_rm.conversation, models_rm.datasets, models_rm.cache, "
        "models_rm.heads\n"
        "heavy = {'torch', 'transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )


def test_judge_module_imports_torch_only_when_a_judge_is_loaded():
    run_python("import sys, models_rm.judge\nassert 'torch' not in sys.modules")


def test_no_module_in_models_rm_imports_django():
    for source in PACKAGE_DIR.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "import django" not in text and "from django" not in text, source
