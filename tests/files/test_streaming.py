"""A 1 GB delimited file parsed with iter_parse in a child process: its peak memory stays bounded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROW = b'12345,"Smith, Ann","a note with ""quotes"" and a comma, here",2024-01-05,199.99,' + b"x" * 100 + b"\r\n"
CHILD = textwrap.dedent(
    """
    import resource, sys
    from splice.files import Delimited
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = 0
    with open(sys.argv[1], "rb") as stream:
        for record in Delimited().iter_parse(stream):
            count += 1
    print(count, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def test_a_1_gb_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = 1024 * 1024 * 1024 // len(ROW)
    with path.open("wb") as out:
        out.write(b"id,name,note,date,amount,pad\r\n")
        block = ROW * 10_000
        for _ in range(rows // 10_000):
            out.write(block)
    assert path.stat().st_size > 1000 * 1024 * 1024
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr
    count, before, after = map(int, done.stdout.split())
    assert count == rows // 10_000 * 10_000
    assert after - before < 64 * 1024, f"peak memory grew by {(after - before) // 1024} MB"  # ru_maxrss is in KiB
