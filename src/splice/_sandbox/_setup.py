"""The zygote's start-up: probe, refuse in strict mode, then confine itself."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from splice._sandbox._confine import Confinement
from splice._sandbox._paths import run_paths, sqlite_file
from splice._sandbox._probe import Protections, probe
from splice._sandbox._settings import Settings


def setup_zygote(
    settings: Settings, project_root: Path, package: str, secret: Iterable[Path], base: str
) -> tuple[Confinement, Protections]:
    """Probe this host, apply what it grants to the calling process (the zygote), and return
    the confinement its children will enter plus the report; ``SANDBOX_UNAVAILABLE`` in strict
    mode when anything is missing. Call before importing the project, with no thread running.
    """
    paths = run_paths(project_root, package, secret)
    protections = probe(settings, paths, base)
    if settings.mode == "strict":
        protections.require_all()
    confinement = Confinement(settings, paths, base, protections.as_granted())
    confinement.confine_zygote()
    return confinement, protections


def check_host(root: Path | None) -> Protections:
    """What ``splice doctor`` shows: the probe for the project at ``root`` (its settings, its
    paths), or for default settings and no project when ``root`` is None. With ``sandbox =
    "off"`` the host is probed all the same; the report keeps the configured mode."""
    from splice.config import database_url, read_config, state_dir

    settings, paths = Settings(), run_paths(None, None)
    if root is not None:
        config = read_config(root)
        secret = [state_dir(root), sqlite_file(database_url(root, config))]
        settings = Settings.from_config(config.runtime)
        paths = run_paths(root, config.project.package, [p for p in secret if p is not None])
    base = tempfile.mkdtemp(prefix="splice-doctor-")
    try:
        report = probe(replace(settings, mode="auto") if settings.mode == "off" else settings, paths, base)
        return replace(report, mode=settings.mode)
    finally:
        shutil.rmtree(base, ignore_errors=True)
