"""A splice project: a folder with ``splice.toml`` and an ``integrations/`` package.

Loading imports the package and every module below it, then collects the
:class:`~splice.integration.Integration` objects found in module globals. There is no
global registry on purpose: two projects loaded one after another (tests, the demo) never
see each other's integrations.

A module that fails to import fails the load, naming its file and line. Commands that only
read what is stored (logs, runs, connections) load *leniently* instead: the modules that
import are kept, the failures are recorded on the project (:attr:`Project.load_errors`),
and running a script of such a project is refused with the first failure.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from splice._sandbox import guarded_import, sqlite_file
from splice.config import ProjectConfig, database_url, find_root, read_config, state_dir
from splice.errors import InvalidInput, NotFound, ProjectError
from splice.flows import Flow
from splice.flows._check import check_flow
from splice.integration import Integration, Script


@dataclass
class Project:
    """A loaded project: its root, its settings and its integrations by name."""

    root: Path
    config: ProjectConfig
    integrations: dict[str, Integration] = field(default_factory=dict)
    #: modules that failed to import in a lenient load (empty otherwise): what this project lacks
    load_errors: tuple[ProjectError, ...] = ()

    @property
    def state_dir(self) -> Path:
        return state_dir(self.root)

    @property
    def database_url(self) -> str:
        return database_url(self.root, self.config)

    def integration(self, name: str) -> Integration:
        try:
            return self.integrations[name]
        except KeyError:
            known = ", ".join(sorted(self.integrations)) or "none"
            raise NotFound(
                f"unknown integration {name!r} (this project has: {known}){self._missing_note()}",
                hint="fix that module, then try again"
                if self.load_errors
                else "integrations are defined in the project's integrations/ package",
            ) from None

    def _missing_note(self) -> str:
        if not self.load_errors:
            return ""
        return f"; it may be defined where the project failed to load: {self.load_errors[0].message}"

    def loaded(self, name: str) -> Integration | None:
        """The integration ``name``; None when it is missing but a module failed to import
        (it may be defined there), so reading what is stored for it goes on without it.
        Unknown otherwise: :class:`NotFound`, as :meth:`integration`."""
        if name not in self.integrations and self.load_errors:
            return None
        return self.integration(name)

    def check_complete(self) -> None:
        """Refuse to run scripts of a project that loaded only in part: the first import failure."""
        if self.load_errors:
            first = self.load_errors[0]
            raise ProjectError(
                first.message,
                code=first.code,
                details=first.details,
                hint="fix the module; commands that only read (logs, runs, connections) work meanwhile",
            )

    def script(self, qualname: str) -> Script:
        """``"acme.create_contact"`` → the script; a bare name works when it is unambiguous."""
        integration, dot, name = qualname.partition(".")
        if dot:
            return self.integration(integration).script(name)
        matches = [i.scripts[qualname] for i in self.integrations.values() if qualname in i.scripts]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFound(f"unknown script {qualname!r}{self._missing_note()}", hint="name it as integration.script")
        raise NotFound(f"script name {qualname!r} is ambiguous; name it as integration.script")

    def flows(self) -> list[Flow]:
        """Every flow declared in the project, in declaration order."""
        return [f for i in self.integrations.values() for f in i.flows.values()]

    def flow(self, flow_id: str) -> Flow:
        """``"acme.onboard"`` → the flow declared on ``acme``."""
        integration, _, name = flow_id.partition(".")
        found = self.integrations.get(integration)
        if found is None or name not in found.flows:
            known = ", ".join(f.id for f in self.flows()) or "none"
            raise NotFound(f"unknown flow {flow_id!r} (this project has: {known})", hint="flows are declared with "
                           "integration.flow(...) in the project's integrations package")  # fmt: skip
        return found.flows[name]

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


def load_project(root: Path | str | None = None, *, lenient: bool = False, fresh: bool = False) -> Project:
    """Read ``splice.toml`` and import the project's integrations package.

    ``lenient``: a module that fails to import is recorded in :attr:`Project.load_errors`
    instead of failing the load (``splice.toml`` itself must still be valid). ``fresh``:
    import the package's modules again even if this process imported them before (a reload
    after the files changed); the previous modules stay alive for whoever still uses them.
    """
    root = Path(root).resolve() if root else find_root()
    config = read_config(root)
    project = Project(root=root, config=config)
    failures: list[ProjectError] | None = [] if lenient else None
    for module in _import_guarded(project, failures, fresh):
        for value in vars(module).values():
            if isinstance(value, Integration):
                other = project.integrations.setdefault(value.name, value)
                if other is not value:
                    _fail(ProjectError(f"integration {value.name!r} is defined twice"), failures)
    for flow in project.flows():
        try:
            check_flow(flow, project.integrations)
        except InvalidInput as exc:
            flow_error = ProjectError(f"flow {flow.id}: {exc.message}", details=exc.details, hint=exc.hint)
            _fail(flow_error, failures)
    project.load_errors = tuple(failures or ())
    return project


def _fail(error: ProjectError, failures: list[ProjectError] | None) -> None:
    """Raise ``error``, or record it when loading leniently."""
    if failures is None:
        raise error from None
    failures.append(error)


def _import_guarded(project: Project, failures: list[ProjectError] | None, fresh: bool) -> list[ModuleType]:
    """Import the package; unless the sandbox is off, under the guard that keeps import-time
    code away from the network, processes and the store (:mod:`splice._sandbox._guard`)."""
    package = project.config.project.package
    if project.config.runtime.sandbox == "off":
        return _import_package(project.root, package, failures, fresh)
    secret = [project.state_dir]
    database = sqlite_file(project.database_url)
    if database is not None:
        secret.append(database)
    with guarded_import(secret):
        return _import_package(project.root, package, failures, fresh)


def _import_package(root: Path, package: str, failures: list[ProjectError] | None, fresh: bool) -> list[ModuleType]:
    if not (root / package / "__init__.py").is_file():
        raise ProjectError(
            f"{root / package} is not a Python package",
            hint=f"create {package}/__init__.py in the project",
        )
    _forget(package, root, everything=fresh)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    top = _import(package, root, failures)
    if top is None:
        return []
    modules = [top]
    # onerror: a subpackage that failed is already reported by _import; walk on past it
    for info in pkgutil.walk_packages(top.__path__, prefix=f"{package}.", onerror=lambda name: None):
        module = _import(info.name, root, failures)
        if module is not None:
            modules.append(module)
    return modules


def _import(name: str, root: Path, failures: list[ProjectError] | None) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ProjectError as exc:
        _fail(exc, failures)
    except Exception as exc:
        where = _user_frame(exc, root)
        error = ProjectError(
            f"{where} failed to import: {type(exc).__name__}: {exc}",
            code="IMPORT_FAILED",
            details={"module": name, "traceback": "".join(traceback.format_exception(exc))},
        )
        _fail(error, failures)
    return None


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


def _forget(package: str, root: Path, *, everything: bool = False) -> None:
    """Drop a same-named package imported from another project (tests load many), or with
    ``everything`` this project's own modules too, so the next import reads the files again."""
    loaded = sys.modules.get(package)
    if loaded is None:
        return
    paths = [Path(p).resolve() for p in getattr(loaded, "__path__", [])]
    if paths and all(p.parent == root for p in paths) and not everything:
        return
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    stale = [p for p in sys.path if p and Path(p).resolve() != root and (Path(p) / package).is_dir()]
    for p in stale:
        sys.path.remove(p)
