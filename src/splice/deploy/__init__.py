"""Deploying a project to a server, and the deployed versions workers run.

``splice deploy`` packs the project (:func:`pack`) and uploads it; the server checks it
(:func:`check_archive`) and stores it as a numbered version (``store.deploys``). Every
worker runs the newest version for new runs, unpacked once per machine (:func:`unpacked`).
"""

from splice.deploy._archive import ArchiveInfo, check_archive, digest_of, pack, project_files, unpack
from splice.deploy._cache import cache_root, unpacked
from splice.deploy._source import DeployedVersions, open_deployed

__all__ = [
    "ArchiveInfo",
    "DeployedVersions",
    "cache_root",
    "check_archive",
    "digest_of",
    "open_deployed",
    "pack",
    "project_files",
    "unpack",
    "unpacked",
]
