"""A connection's config: ``ctx.config`` is the integration's model, and unknown keys are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._cli import assert_error, init_project, splice

TYPED = """
from pydantic import BaseModel, HttpUrl
from splice import Integration, auth


class TypedConfig(BaseModel):
    api_url: HttpUrl
    page_size: int = 25
    region: str = "eu"


typed = Integration("typed", base_url="{config.api_url}api", auth=auth.ApiKey(), config=TypedConfig)


@typed.action
async def show_config(ctx, input):
    return {
        "is_model": isinstance(ctx.config, TypedConfig),
        "doubled": ctx.config.page_size * 2,
        "host": ctx.config.api_url.host,
        "by_name": ctx.config["api_url"],
        "get": [ctx.config.get("region"), ctx.config.get("nope", "fallback")],
        "in": ["region" in ctx.config, "nope" in ctx.config],
        "dict": dict(ctx.config),
    }
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = init_project(tmp_path_factory.mktemp("config"), "my-project", ("typed.py", TYPED))
    added = splice(
        "connections", "add", "typed", "t1", "--credential", "api_key=k-123", "--config",
        "api_url=http://127.0.0.1:9", "--config", "page_size=7", cwd=root,
    )  # fmt: skip
    assert added.code == 0, added
    return root


@pytest.mark.parametrize("mode", [[], ["--in-process"]], ids=["child", "in-process"])
def test_ctx_config_is_the_integrations_model_and_still_reads_by_name(root: Path, mode: list[str]) -> None:
    result = splice("run", "typed.show_config", "-c", "t1", "-q", *mode, cwd=root)

    assert result.code == 0, result
    assert result.json() == {
        "is_model": True,
        "doubled": 14,  # "7" on the command line, an int in the script
        "host": "127.0.0.1",  # an HttpUrl, with its parts
        "by_name": "http://127.0.0.1:9/",  # the JSON value, as ctx.config["api_url"] always gave
        "get": ["eu", "fallback"],  # the default filled in
        "in": [True, False],
        "dict": {"api_url": "http://127.0.0.1:9/", "page_size": 7, "region": "eu"},
    }


def test_an_unknown_config_key_is_refused_naming_it_and_the_declared_ones(root: Path) -> None:
    result = splice(
        "connections", "add", "typed", "t2", "--credential", "api_key=k-123",
        "--config", "api_url=http://127.0.0.1:9", "--config", "page_sise=50", cwd=root,
    )  # fmt: skip

    assert_error(result, "'page_sise'", "api_url, page_size, region", hint="spelling")
    listed = splice("connections", "list", "--json", cwd=root)
    assert [c["id"] for c in listed.json()] == ["t1"]  # nothing was stored
