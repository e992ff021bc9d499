"""Run a command as an unprivileged container would: ``unshare`` refused (no namespaces).

``python _restricted.py COMMAND ARGS...`` loads a seccomp filter on itself, then executes
COMMAND, which inherits it for good: the worker, its zygote and every run see a host that
refuses namespaces, which is how the escape suite tests the fallback on a machine that
grants everything. ``SPLICE_TEST_DENY_LANDLOCK=1`` refuses Landlock too.
"""

from __future__ import annotations

import errno
import os
import sys

import pyseccomp as sc

refuse = sc.SyscallFilter(sc.ALLOW)
refuse.add_rule(sc.ERRNO(errno.EPERM), "unshare")
if os.environ.get("SPLICE_TEST_DENY_LANDLOCK"):
    refuse.add_rule(sc.ERRNO(errno.ENOSYS), "landlock_create_ruleset")
refuse.load()
os.execv(sys.argv[1], sys.argv[1:])
