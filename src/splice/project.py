"""A splice project: a folder with ``splice.toml`` and an ``integrations/`` package.

Loading imports the package and every module below it, then collects the
:class:`~splice.integration.Integration` objects found in module globals. There is no
global registry on purpose: two projects loaded one after another (tests, the demo) never
see each other's integrations.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from splice._sandbox import guarded_import, sqlite_file
from splice.errors import NotFound, ProjectError
from splice.integration import Integration, Script, describe_validation

CONFIG_FILE = "splice.toml"


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
    memory_limit_mb: int = Field(default=1024, ge=64, le=65536)
    #: seconds a waiting caller's run may spend backing off 429s before RateLimitExceeded
    rate_limit_budget_interactive: float = Field(default=15.0, ge=0)
    #: the same for background runs (syncs, flows, async actions)
    rate_limit_budget_background: float = Field(default=600.0, ge=0)
    max_attempts: int = Field(default=5, ge=1, le=50)
    #: largest webhook body a trigger accepts; bigger ones are refused (413) before any run
    max_webhook_body_kb: int = Field(default=1024, ge=1, le=8 * 1024)
    #: largest run input (as JSON) from any entry point; bigger ones are refused before a run is stored
    max_input_kb: int = Field(default=1024, ge=1, le=8 * 1024)
    #: largest state value (as JSON) ctx.state, the REST API or the Python API may store
    max_state_kb: int = Field(default=1024, ge=1, le=8 * 1024)
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


class ProjectConfig(_Section):
    project: ProjectSection = Field(default_factory=ProjectSection)
    runtime: RuntimeSection = Field(default_factory=RuntimeSection)
    server: ServerSection = Field(default_factory=ServerSection)
    internal_api: InternalApiSection | None = None


@dataclass
class Project:
    """A loaded project: its root, its settings and its integrations by name."""

    root: Path
    config: ProjectConfig
    integrations: dict[str, Integration] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.root / ".splice"

    @property
    def database_url(self) -> str:
        url = os.environ.get("SPLICE_DATABASE_URL") or self.config.runtime.database_url
        return url or f"sqlite:///{self.state_dir / 'splice.db'}"

    def integration(self, name: str) -> Integration:
        try:
            return self.integrations[name]
        except KeyError:
            known = ", ".join(sorted(self.integrations)) or "none"
            raise NotFound(
                f"unknown integration {name!r} (this project has: {known})",
                hint="integrations are defined in the project's integrations/ package",
            ) from None

    def script(self, qualname: str) -> Script:
        """``"acme.create_contact"`` → the script; a bare name works when it is unambiguous."""
        integration, dot, name = qualname.partition(".")
        if dot:
            return self.integration(integration).script(name)
        matches = [i.scripts[qualname] for i in self.integrations.values() if qualname in i.scripts]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFound(f"unknown script {qualname!r}", hint="name it as integration.script")
        raise NotFound(f"script name {qualname!r} is ambiguous; name it as integration.script")

    def syncs(self) -> list[Script]:
        """Every sync of every integration, in declaration order."""
        return [s for i in self.integrations.values() for s in i.scripts.values() if s.kind == "sync"]

    def sync(self, qualname: str) -> Script:
        """Like :meth:`script`, but the script must be a sync."""
        script = self.script(qualname)
        if script.kind != "sync":
            known = ", ".join(s.qualname for s in self.syncs()) or "none"
            raise NotFound(f"{script.qualname} is not a sync (it is the {script.kind} {script.name!r})",
                           hint=f"the syncs are: {known}")  # fmt: skip
        return script


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


def load_project(root: Path | str | None = None) -> Project:
    """Read ``splice.toml`` and import the project's integrations package."""
    root = Path(root).resolve() if root else find_root()
    config = read_config(root)
    project = Project(root=root, config=config)
    for module in _import_guarded(project):
        for value in vars(module).values():
            if isinstance(value, Integration):
                other = project.integrations.setdefault(value.name, value)
                if other is not value:
                    raise ProjectError(f"integration {value.name!r} is defined twice")
    return project


def _import_guarded(project: Project) -> list[ModuleType]:
    """Import the package; unless the sandbox is off, under the guard that keeps import-time
    code away from the network, processes and the store (:mod:`splice._sandbox._guard`)."""
    if project.config.runtime.sandbox == "off":
        return _import_package(project.root, project.config.project.package)
    secret = [project.state_dir]
    database = sqlite_file(project.database_url)
    if database is not None:
        secret.append(database)
    with guarded_import(secret):
        return _import_package(project.root, project.config.project.package)


def _import_package(root: Path, package: str) -> list[ModuleType]:
    if not (root / package / "__init__.py").is_file():
        raise ProjectError(
            f"{root / package} is not a Python package",
            hint=f"create {package}/__init__.py in the project",
        )
    _forget(package, root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    top = _import(package, root)
    modules = [top]
    for info in pkgutil.walk_packages(top.__path__, prefix=f"{package}."):
        modules.append(_import(info.name, root))
    return modules


def _import(name: str, root: Path) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ProjectError:
        raise
    except Exception as exc:
        where = _user_frame(exc, root)
        raise ProjectError(
            f"{where} failed to import: {type(exc).__name__}: {exc}",
            code="IMPORT_FAILED",
            details={"module": name, "traceback": "".join(traceback.format_exception(exc))},
        ) from None


def _user_frame(exc: BaseException, root: Path) -> str:
    """``integrations/acme.py:12`` of the deepest frame inside the project."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(root):
            found = f"{path.relative_to(root)}:{frame.lineno}"
    if found is None and isinstance(exc, SyntaxError) and exc.filename:
        path = Path(exc.filename)
        found = f"{path.relative_to(root) if path.is_relative_to(root) else path}:{exc.lineno}"
    return found or "the integrations package"


def _forget(package: str, root: Path) -> None:
    """Drop a same-named package imported from another project (tests load many)."""
    loaded = sys.modules.get(package)
    if loaded is None:
        return
    paths = [Path(p).resolve() for p in getattr(loaded, "__path__", [])]
    if paths and all(p.parent == root for p in paths):
        return
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    stale = [p for p in sys.path if p and Path(p).resolve() != root and (Path(p) / package).is_dir()]
    for p in stale:
        sys.path.remove(p)
