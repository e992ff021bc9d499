"""Hardened isolation of script runs: what each run's child may and may not do.

A warm zygote forks one child per run (``splice._runtime.zygote``). This package is what
happens around that fork: :func:`setup_zygote` probes the host and confines the zygote once
(network and mount namespaces, a read-only filesystem view, Landlock, seccomp);
:meth:`Confinement.enter_child` narrows each child before its run arrives (Landlock on
its own scratch directory, an unprivileged uid, a stricter seccomp filter, a clean
environment) and :meth:`Confinement.limit_run` adds the run's rlimits; :class:`Explainer`
turns what was refused into a clear run error; :func:`probe` is also what ``splice doctor``
prints; :func:`guarded_import` guards the worker's own import of the project. One module per mechanism:

``_libc`` (syscalls Python lacks), ``_namespaces``, ``_landlock``, ``_seccomp``, ``_limits``,
``_paths`` (what a run may read), ``_probe``, ``_confine`` (the order of it all),
``_explain``, ``_guard``, ``_settings``, ``_setup``.
"""

from splice._sandbox._confine import Confinement, Granted
from splice._sandbox._explain import Explainer, refuse_processes
from splice._sandbox._guard import guarded_import
from splice._sandbox._paths import RunPaths, run_paths, sqlite_file
from splice._sandbox._probe import ORDER, Protection, Protections, probe, switched_off
from splice._sandbox._settings import Mode, Settings
from splice._sandbox._setup import check_host, setup_zygote

__all__ = [
    "ORDER",
    "Confinement",
    "Explainer",
    "Granted",
    "Mode",
    "Protection",
    "Protections",
    "RunPaths",
    "Settings",
    "check_host",
    "guarded_import",
    "probe",
    "refuse_processes",
    "run_paths",
    "setup_zygote",
    "sqlite_file",
    "switched_off",
]
