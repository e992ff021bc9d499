"""The hostile scripts of the escape suite, as project source: each tries one way out."""

from __future__ import annotations

SANDBOX_TOML = """\
[project]
name = "escape-suite"

[runtime]
time_limit = 20
rate_limit_budget_interactive = 5
# room for a 1 GiB string and its JSON (the output bound is what must stop it), not for 10 GB
memory_limit_mb = 3072
file_size_limit_mb = 8
"""

ESCAPES = '''
import asyncio, ctypes, os, signal, socket, subprocess, tempfile
from pathlib import Path

from splice import Integration, auth

box = Integration("box", base_url="https://box.test")
acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="query", name="api_key"))
other = Integration("other", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="query", name="api_key"))


def libc():
    return ctypes.CDLL(None, use_errno=True)


def check(result):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


# --- the network ----------------------------------------------------------------------

@box.action
async def tcp(ctx, input):
    with socket.create_connection((input["host"], input["port"]), timeout=2) as s:
        s.sendall(b"GET /api/whoami?api_key=demo-key HTTP/1.0\\r\\n\\r\\n")
        return s.recv(100).decode()

@box.action
async def dns(ctx, input):
    return socket.getaddrinfo(input["name"], 80)

@box.action
async def ctypes_socket(ctx, input):
    c = libc()
    fd = check(c.socket(socket.AF_INET, socket.SOCK_STREAM, 0))
    addr = socket.inet_aton(input["host"])
    sockaddr = (ctypes.c_ubyte * 16)(2, 0, input["port"] >> 8, input["port"] & 255, *addr)
    check(c.connect(fd, sockaddr, 16))
    return "connected"

@box.action
async def curl(ctx, input):
    return subprocess.run(["curl", "-s", input["url"]], capture_output=True, timeout=5).stdout.decode()

# --- files ------------------------------------------------------------------------------

@box.action
async def read_file(ctx, input):
    return Path(input["path"]).read_bytes()[:64].hex()

@box.action
async def read_proc(ctx, input):
    with open(input["path"], "rb") as f:
        f.seek(input.get("offset", 0))
        return f.read(64).hex()

@box.action
async def write_file(ctx, input):
    Path(input["path"]).write_text("escaped")
    return "written"

@box.action
async def hold_scratch(ctx, input):
    """Leave a secret in scratch, say where, and wait (another run tries to read it)."""
    secret = Path(ctx.scratch_dir) / "secret.txt"
    secret.write_text(input["secret"])
    await ctx.state.put("held", str(secret), scope="global")
    for _ in range(100):
        if await ctx.state.get("done", scope="global"):
            return "held"
        await asyncio.sleep(0.05)
    return "gave up"

@box.action
async def peek_scratch(ctx, input):
    try:
        return Path(input["path"]).read_text()
    finally:
        await ctx.state.put("done", True, scope="global")

@box.action
async def big_file(ctx, input):
    with open(Path(ctx.scratch_dir) / "big", "wb") as f:
        for _ in range(64):
            f.write(b"x" * 1024 * 1024)
    return "wrote 64 MiB"

# --- processes, memory, time --------------------------------------------------------

@box.action
async def fork_bomb(ctx, input):
    while True:
        os.fork()

@box.action
async def raw_fork(ctx, input):
    pid = check(libc().fork())
    if pid == 0:
        os._exit(0)
    return pid

@box.action
async def allocate(ctx, input):
    return len(bytearray(10 * 1024**3))

@box.action(time_limit=1)
async def spin(ctx, input):
    ctx.log.info(str(os.getpid()))
    while True:
        pass

@box.action
async def kill(ctx, input):
    os.kill(input["pid"], signal.SIGKILL)
    return "killed"

# --- what goes back to the parent -----------------------------------------------------

@box.action
async def huge_output(ctx, input):
    return "x" * 1024**3

@box.action
async def flood(ctx, input):
    for i in range(1_000_000):
        ctx.log.info(f"line {i}")
    return "flooded"

@box.action
async def raw_flood(ctx, input):
    """The same without ctx.log's own limit: frames straight onto the socket."""
    for i in range(input["lines"]):
        ctx._channel.emit({"t": "log", "level": "info", "message": f"raw {i}", "fields": {}})
    return "flooded"

@box.action
async def quick(ctx, input):
    return "quick"

# --- credentials of other connections -------------------------------------------------

@acme.action
async def leak(ctx, input):
    return dict(ctx.credentials)

@acme.action
async def steal(ctx, input):
    return await ctx.trigger_action("leak", connection="victim")

@acme.action
async def steal_other_ways(ctx, input):
    """Every other route through ctx; each answer is recorded."""
    attempts = {
        "raw_channel": lambda: ctx._channel.call("actions.trigger", {"name": "acme.leak", "connection": "victim"}),
        "other_integration": lambda: ctx.trigger_action("other.leak_other"),
        "unknown_op": lambda: ctx._channel.call("credentials.get", {"connection": "victim"}),
        "metadata": lambda: ctx.metadata.get(),
        "global_state": lambda: ctx.state.keys(scope="global"),
    }
    seen = {}
    for name, attempt in attempts.items():
        try:
            seen[name] = {"ok": repr(await attempt())}
        except Exception as exc:
            seen[name] = {"error": getattr(exc, "code", type(exc).__name__)}
    seen["own"] = sorted(ctx.credentials)
    return seen

@other.action
async def leak_other(ctx, input):
    return dict(ctx.credentials)

# --- the happy path -------------------------------------------------------------------

@acme.action
async def normal(ctx, input):
    me = await ctx.api.get("/whoami")
    count = (await ctx.state.get("count", 0)) + 1
    await ctx.state.put("count", count)
    ctx.log.info("normal run", count=count)
    print("printed line")
    note = Path(ctx.scratch_dir) / "note.txt"
    note.write_text("kept in scratch")
    with tempfile.NamedTemporaryFile("w", delete=False) as tmp:
        tmp.write("temp")
    return {
        "me": me, "count": count, "note": note.read_text(), "tmp_in_scratch": tmp.name.startswith(str(ctx.scratch_dir)),
        "scratch": str(ctx.scratch_dir), "uid": os.getuid(), "env": sorted(os.environ),
    }
'''

#: a module that escapes at import time, plainly: its project must fail to load, naming it
IMPORT_ESCAPE = """
import socket

from splice import Integration

loud = Integration("loud", base_url="https://loud.test")
socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"import-time hello")
"""

#: one that hides its attempts (swallows every error) and keeps what it got for a script to return
IMPORT_STASH = """
import socket
from pathlib import Path

from splice import Integration

quiet = Integration("quiet", base_url="https://quiet.test")
STOLEN = {{}}
_ATTEMPTS = {{
    "key": lambda: Path({key!r}).read_text(),
    "database": lambda: Path({db!r}).read_bytes()[:16].hex(),
    "tcp": lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"import-time hello"),
}}
for _name, _attempt in _ATTEMPTS.items():
    try:
        STOLEN[_name] = repr(_attempt())
    except BaseException as exc:
        STOLEN[_name] = f"refused: {{type(exc).__name__}}"


@quiet.action
async def loot(ctx, input):
    return STOLEN
"""
