"""Versions of the project a process runs: the current one, and replaced ones still finishing runs.

A long-running process (``splice serve``, ``splice worker``) must not go on running the code
it started with after the project's files change, and must not break the runs already going
either. So the project is held as *versions*: each is the project as loaded at one moment,
with its own :class:`~splice._runtime.executor.Executor` (its own zygote, which imported the
same files). New runs use the current version; a run keeps the version it started on until it
ends; a replaced version's executor is closed when its last run ends.

Changes are noticed by a fingerprint of the files (``splice.toml`` and the package's ``.py``
files: path, mtime, size), taken at most once per ``interval`` when a run starts, and by
:meth:`Versions.watch` in servers (so ``GET /integrations`` and the log see a change without a
run). A changed project is loaded again, off the event loop, under the same import guard as at
start; in process mode its zygote starts at once, so the version is the code both imported
within moments of each other. A version that does not load is not used: runs go on with the
last good one, and the failure is logged once per change of the files.

Deployed versions (``splice deploy``) come from the database instead, once a worker follows
them (:meth:`Versions.follow`, as ``splice serve`` and ``splice worker`` do): when a run starts,
at most once per ``interval``, the newest deployed number is read (one indexed query); a new
one is unpacked into the machine's cache and loaded like changed files, and from then on the
files on disk are not looked at. Until something is deployed, the files are followed as before.
Each version knows the deployed number it came from (:attr:`Version.deployed`), which its runs
record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from splice._runtime.executor import Executor
from splice._runtime.resource_runs import script_of
from splice.config import CONFIG_FILE
from splice.errors import SpliceError
from splice.integration import Script
from splice.project import Project, load_project

logger = logging.getLogger("splice")

#: the project's files as (path, mtime in ns, size)
Fingerprint = frozenset[tuple[str, int, int]]


def fingerprint(root: Path, package: str) -> Fingerprint:
    """``splice.toml`` and every ``.py`` file below the package, by stat only (no reading)."""
    found: list[tuple[str, int, int]] = []
    with contextlib.suppress(OSError):
        st = os.stat(root / CONFIG_FILE)
        found.append((CONFIG_FILE, st.st_mtime_ns, st.st_size))
    folders = [str(root / package)]
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name.endswith(".py") and entry.is_file():
                    st = entry.stat()
                    found.append((entry.path, st.st_mtime_ns, st.st_size))
                elif entry.is_dir() and entry.name != "__pycache__" and not entry.name.startswith("."):
                    folders.append(entry.path)
    return frozenset(found)


class Deployed(Protocol):
    """A deployed version as the database lists it."""

    number: int
    digest: str


class DeploySource(Protocol):
    """Where deployed versions come from (:class:`splice.deploy.DeployedVersions`: the store)."""

    async def newest(self) -> Deployed | None:
        """The version new runs should use; None when nothing is deployed."""
        ...

    async def unpack(self, version: Deployed) -> Path:
        """The folder holding ``version``'s files (its project root)."""
        ...


@dataclass(eq=False, slots=True)
class Version:
    """The project as loaded once, the executor running its scripts, and how many runs use it."""

    number: int
    project: Project
    executor: Executor
    fingerprint: Fingerprint
    runs: int = 0
    #: the deployed version (``splice deploy``) it was loaded from; None: the files on disk
    deployed: int | None = None

    def holds(self, script: Script) -> bool:
        return self.project.integrations.get(script.integration.name) is script.integration

    @property
    def label(self) -> str:
        return f"version {self.number}" if self.deployed is None else f"deployed version {self.deployed}"


class Versions:
    """The current version of the project, loaded again when its files change (or, once
    :meth:`follow` is called, when a newer version is deployed).

    ``on_load`` is called with each new version's project before runs use it.
    """

    def __init__(
        self,
        project: Project,
        isolation: str,
        *,
        interval: float = 1.0,
        on_load: Callable[[Project], None] | None = None,
        deployed: int | None = None,
    ) -> None:
        """``deployed``: the deployed version ``project`` was unpacked from, if it was."""
        self.isolation = isolation
        self.interval = interval
        self.on_load = on_load
        executor = Executor(project, isolation)
        self.current = Version(1, project, executor, _fingerprint(project), deployed=deployed)
        self._source: DeploySource | None = None
        #: a deployed version that did not load: not tried again (a new deploy or rollback is a new number)
        self._failed_deploy: int | None = None
        #: replaced versions with runs still going
        self._replaced: list[Version] = []
        self._checked = time.monotonic()
        #: files whose load failed: not tried (nor logged) again until they change
        self._failed: Fingerprint | None = None
        self._loading: asyncio.Task[Version] | None = None
        self._watcher: asyncio.Task[None] | None = None
        #: executors of retired versions being closed
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def project(self) -> Project:
        """The current version's project (no check for changes: see :meth:`refresh`)."""
        return self.current.project

    async def refresh(self, max_age: float | None = None) -> Version:
        """The current version, after loading the project again if its files changed.

        The files are looked at when the last look is older than ``max_age`` (default: the
        interval), so calling this at every run start costs a clock read. While a new version
        loads, callers wait for it: a run started after a change runs the changed code.
        """
        if self._loading is None:
            now = time.monotonic()
            if now - self._checked < (self.interval if max_age is None else max_age):
                return self.current
            self._checked = now
            load = await self._change()
            if self._loading is None:  # (nobody started loading while the database answered)
                if load is None:
                    return self.current
                self._loading = asyncio.create_task(load())
        return await asyncio.shield(self._loading)

    async def follow(self, source: DeploySource) -> Version:
        """Run the newest deployed version from ``source`` from now on (the files until one exists).

        Loads it at once when there is one, so a worker starts on the deployed code.
        """
        self._source = source
        return await self.refresh(max_age=0)

    async def _change(self) -> Callable[[], Awaitable[Version]] | None:
        """How to load what changed: the newest deployed version, or the files; None: nothing did."""
        if self._source is not None:
            newest = await self._source.newest()
            if newest is not None:
                if newest.number in (self.current.deployed, self._failed_deploy):
                    return None
                return partial(self._load_deployed, newest)
        if self.current.deployed is not None:
            return None
        seen = _fingerprint(self.current.project)
        if seen == self.current.fingerprint or seen == self._failed:
            return None
        return partial(self._load, self.current.project.root, seen)

    async def _load_deployed(self, version: Deployed) -> Version:
        assert self._source is not None
        try:
            root = await self._source.unpack(version)
        except Exception as exc:
            self._loading = None
            return self._not_loaded(exc, f"deployed version {version.number} cannot be unpacked", version.number)
        return await self._load(root, None, version.number)

    async def _load(self, root: Path, seen: Fingerprint | None, deployed: int | None = None) -> Version:
        executor: Executor | None = None
        try:
            project = await asyncio.to_thread(load_project, root, fresh=True)
            executor = Executor(project, self.isolation, announce=False)
            await executor.start()  # its zygote imports the files now, not at some later first run
            if executor.protections != self.current.executor.protections:
                executor.announce_protections()  # the sandbox settings changed, or the first zygote is not started
        except Exception as exc:
            if executor is not None:
                await executor.close()
            if deployed is None:
                return self._not_loaded(exc, "the project changed but does not load", None, seen)
            return self._not_loaded(exc, f"deployed version {deployed} does not load", deployed)
        finally:
            self._loading = None
        fingerprint = seen if seen is not None else _fingerprint(project)
        self._replace(Version(self.current.number + 1, project, executor, fingerprint, deployed=deployed))
        return self.current

    def _not_loaded(self, exc: Exception, what: str, deployed: int | None, seen: Fingerprint | None = None) -> Version:
        """Log once why a version is not used; runs go on with the current one."""
        if deployed is None:
            self._failed = seen
        else:
            self._failed_deploy = deployed
        reason = exc.message if isinstance(exc, SpliceError) else f"{type(exc).__name__}: {exc}"
        logger.error(
            "%s: %s (runs go on with %s)",
            what,
            reason,
            self.current.label,
            exc_info=None if isinstance(exc, SpliceError) else exc,
        )
        return self.current

    def _replace(self, new: Version) -> None:
        old, self.current, self._failed = self.current, new, None
        if self.on_load is not None:
            self.on_load(new.project)
        going = f"; {old.runs} running finish on {old.label}" if old.runs else ""
        what = "the project changed" if new.deployed is None else "a new version was deployed"
        logger.info("%s: %s loaded, new runs use it%s", what, new.label, going)
        fixed = _fixed_at_start(old.project, new.project)
        if fixed and new.deployed is not None:
            logger.warning("%s's splice.toml sets %s otherwise; this process keeps the settings it started with",
                           new.label, ", ".join(fixed))  # fmt: skip
        elif fixed:
            logger.warning("splice.toml: %s changed; that takes effect when this process restarts", ", ".join(fixed))
        if old.runs:
            self._replaced.append(old)
        else:
            self._retire(old)

    @contextlib.asynccontextmanager
    async def use(self, script: Script) -> AsyncIterator[tuple[Version, Script]]:
        """Hold the version ``script`` belongs to for the length of a run.

        A script of a version already retired (resolved just before a change) is run as the
        current version's script of the same name, like any run starting now. A version that
        loaded only in part (:attr:`Project.load_errors`) runs nothing.
        """
        version = next((v for v in (self.current, *self._replaced) if v.holds(script)), None)
        if version is None:
            version = self.current
            script = script_of(version.project, script.integration.name, script.name, script.kind)
        version.project.check_complete()
        async with self._held(version):
            yield version, script

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[Version]:
        """Hold the current version for a run made of runs (a flow attempt): the scripts its steps
        take from the held version's project run on that version, a deploy or an edit landing
        mid-flow notwithstanding (:meth:`use` finds the version a script belongs to)."""
        async with self._held(self.current) as version:
            yield version

    @contextlib.asynccontextmanager
    async def _held(self, version: Version) -> AsyncIterator[Version]:
        version.runs += 1
        try:
            yield version
        finally:
            version.runs -= 1
            if version.runs == 0 and version in self._replaced:
                self._replaced.remove(version)
                self._retire(version)

    def watch(self) -> None:
        """Look for changes every interval in the background, not only when runs start."""
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watching())

    async def _watching(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh(max_age=0)
            except Exception:
                logger.exception("looking for project changes failed")

    def _retire(self, version: Version) -> None:
        task = asyncio.create_task(version.executor.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Stop watching and close every version's executor (runs still going are the caller's)."""
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        if self._loading is not None:
            await asyncio.gather(self._loading, return_exceptions=True)
        await asyncio.gather(*self._closing, return_exceptions=True)
        for version in (self.current, *self._replaced):
            await version.executor.close()
        self._replaced.clear()


def _fingerprint(project: Project) -> Fingerprint:
    return fingerprint(project.root, project.config.project.package)


def _fixed_at_start(old: Project, new: Project) -> list[str]:
    """Settings of splice.toml that shape the running process, which a reload cannot change."""
    before, after = old.config, new.config
    changed = {
        "the database": old.database_url != new.database_url,
        "[server]": before.server != after.server,
        "[runtime] concurrency": before.runtime.concurrency != after.runtime.concurrency,
        "[runtime] isolation": before.runtime.isolation != after.runtime.isolation,
    }
    return [name for name, differs in changed.items() if differs]
