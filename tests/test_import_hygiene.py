"""Heavy dependencies stay out of paths that do not need them (checked in fresh interpreters)."""

import subprocess
import sys

import pytest


def _imported_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    import json

    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_cli_help_does_not_import_torch():
    modules = _imported_after(
        "import sys\nfrom assistant.cli import app\nsys.argv=['assistant','--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass")
    assert "torch" not in modules
    assert "sentence_transformers" not in modules


@pytest.mark.parametrize("package", ["index", "index.build", "index.retriever", "assistant.config"])
def test_core_never_imports_textual(package):
    modules = _imported_after(f"import {package}")
    assert "textual" not in modules
    assert "torch" not in modules
