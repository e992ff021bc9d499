"""Loading a project: splice.toml errors, import errors, and integration declarations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import ProjectFactory

from splice.errors import NotFound, ProjectError
from splice.project import load_project

GOOD = """
from splice import Integration, auth
acme = Integration("acme", base_url="https://api.acme.test", auth=auth.ApiKey())

@acme.action
async def ping(ctx, input):
    return "pong"
"""


def test_loads_integrations_and_scripts(make_project: ProjectFactory) -> None:
    project = load_project(make_project({"acme.py": GOOD}))
    assert list(project.integrations) == ["acme"]
    assert project.script("acme.ping").name == "ping"
    assert project.script("ping").qualname == "acme.ping"
    assert project.database_url.endswith(".splice/splice.db")


def test_two_projects_do_not_see_each_other(make_project: ProjectFactory) -> None:
    first = load_project(make_project({"acme.py": GOOD}))
    second = load_project(make_project({"other.py": GOOD.replace('"acme"', '"other"')}))
    assert list(first.integrations) == ["acme"]
    assert list(second.integrations) == ["other"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[project\nname = 1", "is not valid TOML"),
        ("[runtime]\nisolaton = 'none'", "runtime.isolaton: Extra inputs are not permitted"),
        ("[runtime]\ntime_limit = -1", "runtime.time_limit: Input should be greater than 0"),
        ("[runtime]\nisolation = 'docker'", "runtime.isolation: Input should be 'process' or 'none'"),
        ("[project]\npackage = 'not a name'", "project.package"),
        ("[server]\nmax_body_kb = 0", "server.max_body_kb: Input should be greater than or equal to 1"),
        ("[runtime]\nmax_input_kb = 'big'", "runtime.max_input_kb: Input should be a valid integer"),
        ("[runtime]\nmax_state_kb = 9000", "runtime.max_state_kb: Input should be less than or equal to 8192"),
    ],
)
def test_bad_splice_toml_names_the_problem(make_project: ProjectFactory, toml: str, message: str) -> None:
    root = make_project({"acme.py": GOOD}, toml=toml)
    with pytest.raises(ProjectError, match=message) as info:
        load_project(root)
    assert "splice.toml" in info.value.message


def test_a_module_that_raises_on_import_is_named(make_project: ProjectFactory) -> None:
    root = make_project({"acme.py": GOOD, "broken.py": "import json\n\nraise RuntimeError('no config')\n"})
    with pytest.raises(ProjectError) as info:
        load_project(root)
    assert info.value.code == "IMPORT_FAILED"
    assert info.value.message == "integrations/broken.py:3 failed to import: RuntimeError: no config"


def test_a_syntax_error_is_named(make_project: ProjectFactory) -> None:
    root = make_project({"bad.py": "def oops(:\n"})
    with pytest.raises(ProjectError, match=r"integrations/bad.py:1 failed to import: SyntaxError"):
        load_project(root)


def test_missing_project_and_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectError, match=r"no splice\.toml") as info:
        load_project()
    assert "splice init" in (info.value.hint or "")
    (tmp_path / "splice.toml").write_text("")
    with pytest.raises(ProjectError, match="is not a Python package"):
        load_project(tmp_path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('Integration("Acme", base_url="https://a.test")', "must be lower-case"),
        ('Integration("acme", base_url="not a url")', "is not an absolute URL"),
        ('Integration("acme", base_url="https://a.test", auth="key")', "auth must be one of splice.auth"),
        (
            'Integration("acme", base_url="https://a.test").action(lambda ctx, i: 1)',
            "must be an 'async def' function",
        ),
    ],
)
def test_bad_declarations(make_project: ProjectFactory, source: str, message: str) -> None:
    root = make_project({"acme.py": f"from splice import Integration\nx = {source}\n"})
    with pytest.raises(ProjectError, match=message):
        load_project(root)


def test_duplicate_script_and_unknown_names(make_project: ProjectFactory) -> None:
    twice = GOOD + "\n@acme.action(name='ping')\nasync def ping2(ctx, input):\n    return 1\n"
    with pytest.raises(ProjectError, match=r"acme\.ping is declared twice"):
        load_project(make_project({"acme.py": twice}))
    project = load_project(make_project({"acme.py": GOOD}))
    with pytest.raises(NotFound, match=r"unknown integration 'nope' \(this project has: acme\)"):
        project.script("nope.ping")
    with pytest.raises(NotFound, match="unknown script 'pong'"):
        project.script("pong")


def test_engine_grants_and_lookup_caches_are_checked(tmp_path: Path) -> None:
    from splice.config import read_config

    for grants, fragment in (('{Acme = ["crm"]}', "'Acme' is not an integration name"),
                             ('{acme = ["crm x"]}', 'give integration names, or "*" for all'),
                             ('{acme = "crm"}', "grants.acme")):  # fmt: skip
        (tmp_path / "splice.toml").write_text(f"[engine]\ngrants = {grants}\n")
        with pytest.raises(ProjectError, match=re.escape(fragment)):
            read_config(tmp_path)
    (tmp_path / "splice.toml").write_text('[engine]\ngrants = {acme = ["crm", "*"]}\n')
    assert read_config(tmp_path).engine.grants == {"acme": ["crm", "*"]}

    from splice.integration import Integration

    acme = Integration("acme", base_url="http://127.0.0.1:9")
    assert acme.lookup_cache("skus-2024", description="d").id == "acme.skus-2024"
    for bad in ("Skus", "a.b", "", "x" * 65):
        with pytest.raises(ProjectError, match="lookup cache name"):
            acme.lookup_cache(bad)
    with pytest.raises(ProjectError, match=re.escape("acme.skus-2024 is declared twice")):
        acme.lookup_cache("skus-2024")
