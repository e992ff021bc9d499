"""``splice.toml``: the schema of a project's settings, and where its files and database are.

Kept apart from :mod:`splice.project` (which imports the project's code) so that what only
needs the settings — the sandbox, ``splice doctor``, key rotation — reads them without
importing anything of the project.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from splice._validation import describe_validation
from splice.errors import ProjectError

CONFIG_FILE = "splice.toml"
_INTEGRATION = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectSection(_Section):
    name: str = "splice-project"
    package: str = Field(default="integrations", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class RuntimeSection(_Section):
    database_url: str | None = None
    isolation: Literal["process", "none"] = "process"
    time_limit: float = Field(default=60.0, gt=0, le=86400)
    #: syncs run longer than actions; a sync's own ``time_limit=`` wins over this
    sync_time_limit: float = Field(default=3600.0, gt=0, le=7 * 86400)
    #: runs one worker process (``splice serve`` / ``splice worker``) executes at once
    concurrency: int = Field(default=4, ge=1, le=64)
    #: seconds a worker may go without a heartbeat before another declares it lost and runs its jobs
    worker_timeout: float = Field(default=30.0, ge=1, le=3600)
    memory_limit_mb: int = Field(default=1024, ge=64, le=65536)
    #: seconds a waiting caller's run may spend backing off 429s before RateLimitExceeded
    rate_limit_budget_interactive: float = Field(default=15.0, ge=0)
    #: the same for background runs (syncs, flows, async actions)
    rate_limit_budget_background: float = Field(default=600.0, ge=0)
    max_attempts: int = Field(default=5, ge=1, le=50)
    #: largest webhook body a trigger accepts; bigger ones are refused (413) before any run
    max_webhook_body_kb: int = Field(default=1024, ge=1, le=8 * 1024)
    #: how long a webhook whose flow answers it (``respond="flow"``) waits for the flow's result
    flow_respond_timeout: float = Field(default=30.0, gt=0, le=300)
    #: largest run input (as JSON) from any entry point; bigger ones are refused before a run is stored
    max_input_kb: int = Field(default=1024, ge=1, le=8 * 1024)
    #: largest state value (as JSON) ctx.state, the REST API or the Python API may store
    max_state_kb: int = Field(default=1024, ge=1, le=8 * 1024)
    #: largest lookup cache (its keys and values, UTF-8); a put that would pass it is refused whole
    max_lookup_cache_mb: int = Field(default=50, ge=1, le=100 * 1024)
    #: how a run's child is confined: "auto" applies what the host grants, "strict" refuses to
    #: start unless it grants everything, "off" forks children without hardening (README, "Isolation")
    sandbox: Literal["auto", "strict", "off"] = "auto"
    #: the uid and gid a run switches to when the worker runs as root (65534: nobody)
    sandbox_uid: int = Field(default=65534, ge=1, le=2**31 - 1)
    #: largest file a run may write (RLIMIT_FSIZE)
    file_size_limit_mb: int = Field(default=64, ge=1, le=65536)
    #: size of the tmpfs holding the scratch directories of all runs of one worker
    scratch_limit_mb: int = Field(default=256, ge=1, le=1024 * 1024)
    max_open_files: int = Field(default=256, ge=16, le=65536)
    #: RLIMIT_NPROC of the sandbox uid: processes and threads of all its runs together
    max_processes: int = Field(default=256, ge=16, le=65536)


class InternalApiSection(_Section):
    base_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    #: name of an operator env var (``splice env set``) holding a bearer token
    bearer_env: str | None = None
    allowed_hosts: list[str] = Field(default_factory=list)


class ServerSection(_Section):
    """Where ``splice serve`` listens; loopback by default (put a TLS proxy in front to expose it)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: the URL third parties and browsers reach this server at (OAuth redirect URIs, webhook URLs)
    public_url: str | None = None
    #: largest request body of every endpoint but webhooks (413 before it is read); see max_webhook_body_kb
    max_body_kb: int = Field(default=1024, ge=1, le=256 * 1024)
    #: largest project archive ``splice deploy`` may upload (``POST /deploys``)
    max_deploy_mb: int = Field(default=32, ge=1, le=1024)


class EngineSection(_Section):
    """What scripts reach through ``ctx.engine`` beyond their own integration's resources.

    ``grants = {acme = ["crm", "erp"]}``: acme's scripts may also reach crm's and erp's
    resources (``"*"``: every integration's).
    """

    grants: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("grants")
    @classmethod
    def _names(cls, grants: dict[str, list[str]]) -> dict[str, list[str]]:
        for integration, others in grants.items():
            if not _INTEGRATION.match(integration):
                raise ValueError(f"{integration!r} is not an integration name (lower-case letters, digits and _)")
            for other in others:
                if other != "*" and not _INTEGRATION.match(other):
                    raise ValueError(f'{integration} = [..., {other!r}]: give integration names, or "*" for all')
        return grants


class ProjectConfig(_Section):
    project: ProjectSection = Field(default_factory=ProjectSection)
    runtime: RuntimeSection = Field(default_factory=RuntimeSection)
    server: ServerSection = Field(default_factory=ServerSection)
    internal_api: InternalApiSection | None = None
    engine: EngineSection = Field(default_factory=EngineSection)


def state_dir(root: Path) -> Path:
    """Where a project keeps its database, key file and engine tables: ``<root>/.splice``."""
    return root / ".splice"


def database_url(root: Path, config: ProjectConfig) -> str:
    """``SPLICE_DATABASE_URL``, else ``[runtime] database_url``, else SQLite under ``.splice/``."""
    url = os.environ.get("SPLICE_DATABASE_URL") or config.runtime.database_url
    return url or f"sqlite:///{state_dir(root) / 'splice.db'}"


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``splice.toml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise ProjectError(
        f"no {CONFIG_FILE} in {here} or any folder above it",
        hint="run inside a splice project, pass --project DIR, or create one with `splice init`",
    )


def read_config(root: Path) -> ProjectConfig:
    path = root / CONFIG_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path} does not exist", hint="create one with `splice init`") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path} is not valid TOML: {exc}") from None
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        raise ProjectError(f"{path} is invalid: {describe_validation(exc)}") from None
