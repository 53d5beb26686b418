"""The stage packages of tools/ export their public names, loaded on first use: every name
resolves to an object of the package's own modules, and importing a package alone pulls in
none of the heavy libraries."""

import importlib
import subprocess
import sys

import pytest

PACKAGES = ["data", "model", "identify", "estimate", "refute", "export"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves_to_the_package(package: str) -> None:
    module = importlib.import_module(f"causal_assistant.tools.{package}")
    assert module.__all__ == sorted(module.__all__) and module.__all__
    for name in module.__all__:
        value = getattr(module, name)
        assert value.__module__.startswith(f"causal_assistant.tools.{package}."), name
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_importing_the_packages_loads_no_heavy_library() -> None:
    packages = "; ".join(f"import causal_assistant.tools.{p}" for p in PACKAGES)
    heavy = ["dowhy", "matplotlib", "causallearn", "sklearn", "statsmodels"]
    probe = f"import sys; {packages}; print([m for m in {heavy!r} if m in sys.modules])"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"
