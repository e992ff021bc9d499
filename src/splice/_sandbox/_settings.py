"""The sandbox's knobs, read from ``[runtime]`` in ``splice.toml``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from splice.config import RuntimeSection

Mode = Literal["auto", "strict", "off"]
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    """``mode``: ``auto`` applies what the host grants, ``strict`` refuses to start without all
    of it, ``off`` forks children without hardening (the baseline, and a debugging aid)."""

    mode: Mode = "auto"
    uid: int = 65534
    gid: int = 65534
    scratch_mb: int = 256
    file_size_bytes: int = 64 * MIB
    open_files: int = 256
    processes: int = 256

    @classmethod
    def from_config(cls, runtime: RuntimeSection) -> Settings:
        return cls(
            mode=runtime.sandbox,
            uid=runtime.sandbox_uid,
            gid=runtime.sandbox_uid,
            scratch_mb=runtime.scratch_limit_mb,
            file_size_bytes=runtime.file_size_limit_mb * MIB,
            open_files=runtime.max_open_files,
            processes=runtime.max_processes,
        )
