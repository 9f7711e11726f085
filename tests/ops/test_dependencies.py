"""The dependency locks (SPEC §15): requirements*.txt are the hand-edited direct dependencies;
`make lock` resolves them into requirements*.lock, where every package is pinned with hashes;
`make` installs the dev lock in pip's hash-checking mode. Offline: these tests read the files
and the running virtualenv, never an index."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"
INPUT_OF = {RUNTIME_LOCK: "requirements.txt", DEV_LOCK: "requirements-dev.txt"}
# Code that is not the deployed console: its imports need only be in the dev lock.
DEV_ONLY_FOLDERS = {"tests", "bench"}
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}(?=\s|$)")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Locked:
    name: str
    version: str
    hashes: frozenset[str]


def logical_lines(text: str) -> list[str]:
    """Requirement lines with their continuations joined and comments dropped."""
    lines = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            lines.append(line)
    return lines


def lock_problems(text: str) -> list[str]:
    """Every line of a lock must be one exact pin with at least one sha256 hash."""
    problems = []
    seen: set[str] = set()
    for line in logical_lines(text):
        pin = PIN.match(line)
        if pin is None:
            problems.append(f"not an exact pin: {line[:80]}")
            continue
        name = canonical(pin["name"])
        if name in seen:
            problems.append(f"pinned twice: {name}")
        seen.add(name)
        if not HASH.search(line):
            problems.append(f"no --hash=sha256: for {name}")
        if re.search(r"\s--hash=(?!sha256:[0-9a-f]{64}(\s|$))", line):
            problems.append(f"a malformed hash for {name}")
    if not seen:
        problems.append("no package is pinned")
    return problems


def parse_lock(text: str) -> dict[str, Locked]:
    locked = {}
    for line in logical_lines(text):
        pin = PIN.match(line)
        assert pin is not None, line
        name = canonical(pin["name"])
        locked[name] = Locked(name, pin["version"], frozenset(HASH.findall(line)))
    return locked


def read_lock(lock: str) -> dict[str, Locked]:
    return parse_lock((ROOT / lock).read_text())


def direct_requirements(path: Path) -> dict[str, str]:
    """``name -> pinned version`` of a requirements file and the files it includes (``-r``)."""
    pins: dict[str, str] = {}
    for line in logical_lines(path.read_text()):
        if line.startswith(("-r ", "--requirement ")):
            pins.update(direct_requirements(path.parent / line.split(maxsplit=1)[1]))
            continue
        pin = PIN.match(line)
        assert pin is not None and line == pin[0], (
            f"{path.name}: a direct requirement is pinned exactly (name==version): {line}"
        )
        pins[canonical(pin["name"])] = pin["version"]
    return pins


def imported_top_level_names(folders_excluded: set[str]) -> set[str]:
    """Top-level modules the project's Python files import that are neither the standard
    library nor the project's own (apps, scripts' sibling modules)."""
    names: set[str] = set()
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0].startswith(".") or relative.parts[0] in folders_excluded:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                local = (ROOT / top).exists() or (ROOT / f"{top}.py").exists()
                sibling = (path.parent / f"{top}.py").exists()
                if top not in sys.stdlib_module_names and not local and not sibling:
                    names.add(top)
    return names


def settings_named_modules() -> set[str]:
    """Top-level modules that settings name by dotted path instead of importing them: apps,
    middleware, storages, logging formatters, filters and handlers (whitenoise, for one)."""
    dotted = [*settings.INSTALLED_APPS, *settings.MIDDLEWARE]
    dotted += [storage["BACKEND"] for storage in settings.STORAGES.values()]
    for section in ("formatters", "filters", "handlers"):
        for entry in settings.LOGGING.get(section, {}).values():
            dotted += [entry[key] for key in ("()", "class") if isinstance(entry.get(key), str)]
    return {name.split(".")[0] for name in dotted}


def installed_distributions_of(modules: set[str]) -> dict[str, str]:
    """``distribution -> installed version`` for the modules found in the running venv."""
    distributions = importlib.metadata.packages_distributions()
    return {
        canonical(dist): importlib.metadata.version(dist)
        for module in modules
        for dist in distributions.get(module, [])
    }


def makefile_commands() -> list[str]:
    """The Makefile's lines with continuations joined and its ``:=`` variables expanded."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Makefile").read_text())
    variables = dict(re.findall(r"^([A-Z_]+)\s*:=\s*(.*)$", text, flags=re.MULTILINE))
    for _ in range(3):
        text = re.sub(r"\$\(([A-Z_]+)\)", lambda m: variables.get(m[1], m[0]), text)
    return text.splitlines()


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK])
def test_every_line_of_the_lock_is_an_exact_pin_with_a_hash(lock) -> None:
    assert lock_problems((ROOT / lock).read_text()) == []


GOOD_HASH = "--hash=sha256:" + "a" * 64


@pytest.mark.parametrize(
    "text",
    [
        "psutil\n",
        f"psutil>=7 {GOOD_HASH}\n",
        "psutil==7.2.2\n    # via -r requirements.txt\n",
        f"psutil==7.2.2 \\\n    --hash=md5:{'a' * 32}\n",
        f"psutil==7.2.2 --hash=sha256:{'a' * 63}\n",
        f"psutil==7.2.2 {GOOD_HASH}\npsutil==7.2.2 {GOOD_HASH}\n",
        f"-r requirements.txt\npsutil==7.2.2 {GOOD_HASH}\n",
        "# nothing but comments\n",
    ],
)
def test_the_lock_check_refuses_an_unpinned_unhashed_or_included_line(text) -> None:
    assert lock_problems(text) != []


def test_the_lock_check_accepts_a_pin_with_hashes_and_comments() -> None:
    text = f"# header\npsutil==7.2.2 \\\n    {GOOD_HASH} \\\n    {GOOD_HASH}\n    # via x\n"
    assert lock_problems(text) == []
    assert parse_lock(text)["psutil"].version == "7.2.2"


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK])
def test_every_direct_requirement_is_locked_at_its_pinned_version(lock) -> None:
    direct = direct_requirements(ROOT / INPUT_OF[lock])
    locked = read_lock(lock)
    assert {"django", "psutil", "celery", "psycopg"} <= direct.keys()
    drift = {
        name: (version, locked[name].version if name in locked else None)
        for name, version in direct.items()
        if name not in locked or locked[name].version != version
    }
    assert drift == {}, f"{INPUT_OF[lock]} and {lock} disagree (run `make lock`): {drift}"


def test_the_dev_lock_holds_the_runtime_lock_at_the_same_versions() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    differing = {
        name: (entry.version, dev[name].version if name in dev else None)
        for name, entry in runtime.items()
        if name not in dev or dev[name].version != entry.version
    }
    assert differing == {}
    assert dev.keys() > runtime.keys()  # plus the test and dev tools


def test_the_lock_tool_is_no_dependency_of_the_console() -> None:
    assert "pip-tools" not in read_lock(RUNTIME_LOCK)
    assert "pip-tools" not in read_lock(DEV_LOCK)


@pytest.mark.parametrize(
    ("lock", "excluded"), [(RUNTIME_LOCK, DEV_ONLY_FOLDERS), (DEV_LOCK, set())]
)
def test_every_installed_package_the_code_imports_is_locked_at_its_installed_version(
    lock, excluded
) -> None:
    modules = imported_top_level_names(excluded) | settings_named_modules()
    installed = installed_distributions_of(modules)
    assert {"django", "psutil", "celery", "psycopg", "whitenoise"} <= installed.keys()
    locked = read_lock(lock)
    unlocked = {
        name: version
        for name, version in installed.items()
        if name not in locked or locked[name].version != version
    }
    assert unlocked == {}, f"imported but not locked at the installed version in {lock}"


def test_make_installs_the_dev_lock_in_hash_checking_mode() -> None:
    commands = makefile_commands()
    [stamp_rule] = [line for line in commands if line.startswith(".venv/.installed:")]
    assert {RUNTIME_LOCK, DEV_LOCK} <= set(stamp_rule.split(":", 1)[1].split())
    installs = [line for line in commands if "pip install" in line and " -r " in line]
    assert installs, "the Makefile installs no requirements file"
    for install in installs:
        assert "--require-hashes" in install and "--no-deps" in install, install
        assert re.search(r"-r requirements(-dev)?\.lock(\s|$)", install), install
    assert any(f"-r {DEV_LOCK}" in install for install in installs)
