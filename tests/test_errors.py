"""The error registry: the drawing in ``splice.errors`` is the truth about every error splice raises.

The drawing is parsed, the source of ``src/`` read with ``ast``, and both compared with the
classes: their nesting, their codes, their statuses and retries, and the class every raise site
names. A code is declared by exactly one class and raised by exactly that class (a parent would
carry it with the parent's statuses until the error is rebuilt from its dict).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from splice import errors
from splice.errors import CODES, ActionError, SpliceError, error_from_dict

SRC = Path(errors.__file__).resolve().parent
CLASSES = {cls.__name__: cls for cls in errors._classes()}

#: Raise sites in files another engineer is restructuring (runtime.py, _runtime/gateway.py,
#: _runtime/executor.py, _runtime/child.py, context.py), which this change may not edit. Each names
#: the class it uses and the code; the class that declares the code is the fix. They are rebuilt
#: as the right class from their dict (error_from_dict goes by code), so statuses and retries are
#: already right; only the in-process object is not. Empty this list as they are switched.
NOT_YET_SWITCHED: set[tuple[str, str, str]] = set()
#: Code strings that decide something outside errors.py, and why they are not what to do about an error.
CODE_TABLES = {
    ("triggers/_response.py", "INVALID_JSON"),  # _SHOWN: whose messages a webhook's caller may read
    ("triggers/_response.py", "TIME_LIMIT_EXCEEDED"),  # _SHOWN, likewise
    ("server/_errors.py", "UNAUTHORIZED"),  # _HTTP_CODES: codes for Starlette's own HTTP errors
    ("server/_errors.py", "FORBIDDEN"),
    ("server/_errors.py", "NOT_FOUND"),
    ("server/_errors.py", "PAYLOAD_TOO_LARGE"),
}


# --- the drawing ---------------------------------------------------------------------------

_ROW = re.compile(
    r"^(?P<tree>[│ ]*(?:[├└]── )?)(?P<name>[A-Z]\w+) +(?P<http>\d{3}) +(?P<run>\d{3}|own) +"
    r"(?P<engine>retry|final) +(?P<text>\S.*)$"
)
_MORE = re.compile(r"^[│ ]+(?P<text>\S.*)$")


@dataclass
class Drawn:
    name: str
    parent: str | None
    http: int
    run: str
    engine: str
    text: str

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code.strip() for code in self.text.split(": ", 1)[0].split(","))

    @property
    def what(self) -> str:
        return self.text.split(": ", 1)[1] if ": " in self.text else ""


def drawing() -> dict[str, Drawn]:
    doc = ast.get_docstring(ast.parse((SRC / "errors.py").read_text()), clean=False) or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    rows: dict[str, Drawn] = {}
    parents: list[str] = []
    last: Drawn | None = None
    for line in block.splitlines()[1:]:  # after the column headings
        line = line.removeprefix("    ")
        if row := _ROW.match(line):
            depth = len(row["tree"]) // 4
            parents[depth:] = [row["name"]]
            parent = parents[depth - 1] if depth else None
            last = Drawn(row["name"], parent, int(row["http"]), row["run"], row["engine"], row["text"])
            rows[last.name] = last
        elif (more := _MORE.match(line)) and last is not None:
            last.text += " " + more["text"]
        else:
            raise AssertionError(f"a line of the drawing that is neither a class nor its text: {line!r}")
    return rows


def test_the_drawing_has_every_class_under_its_real_parent() -> None:
    drawn = drawing()
    assert list(drawn) == list(CLASSES)
    for name, row in drawn.items():
        base = CLASSES[name].__bases__[0]
        assert row.parent == (None if base is Exception else base.__name__), name
        assert CLASSES[name].__mro__.index(SpliceError) <= 3, f"{name} is more than three levels deep"


def test_the_drawing_has_each_class_s_codes_statuses_and_retry() -> None:
    for name, row in drawing().items():
        cls = CLASSES[name]
        assert row.codes == cls.__dict__["codes"], name
        assert cls.default_code == cls.codes[0]
        assert row.http == cls.http_status, name
        assert row.run == ("own" if cls is ActionError else str(_example(cls).run_status)), name
        assert row.engine == ("retry" if cls.retryable else "final"), name
        assert row.what, f"{name}: the drawing says what to do about it"


def test_every_code_belongs_to_one_class() -> None:
    declared = [code for cls in CLASSES.values() for code in cls.__dict__["codes"]]
    assert len(declared) == len(set(declared)) == len(CODES)
    assert all(re.fullmatch(r"[A-Z][A-Z_]*[A-Z]", code) for code in declared)


# --- the source --------------------------------------------------------------------------


@dataclass(frozen=True)
class Raised:
    path: str
    line: int
    cls: str  # a class of splice.errors, "dict" for a hand-built error dict, or what the call names
    code: str


def raised_in_src() -> list[Raised]:
    found: list[Raised] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        names = _error_names(tree)
        where = path.relative_to(SRC).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                code = next((kw.value for kw in node.keywords if kw.arg == "code"), None)
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found.append(Raised(where, node.lineno, _callee(node.func, names), code.value))
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if _is_str(key, "code") and isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.append(Raised(where, node.lineno, "dict", value.value))
            elif isinstance(node, ast.ClassDef) and where == "errors.py":
                found += _declared_default(node, where)
    return found


def _error_names(tree: ast.Module) -> dict[str, str]:
    """Local name → class name of splice.errors (``from splice.errors import X as Y``); ``errors`` → the module."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("splice.errors", "splice"):
            for alias in node.names:
                if alias.name in CLASSES or alias.name == "errors":
                    names[alias.asname or alias.name] = alias.name
    return names


def _callee(func: ast.expr, names: dict[str, str]) -> str:
    if isinstance(func, ast.Name):
        return names.get(func.id, func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and names.get(func.value.id) == "errors":
        return func.attr
    return ast.unparse(func)


def _is_str(node: ast.expr | None, value: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == value


def _declared_default(node: ast.ClassDef, where: str) -> list[Raised]:
    return [
        Raised(where, stmt.lineno, node.name, stmt.value.value)
        for stmt in node.body
        if isinstance(stmt, ast.AnnAssign | ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "default_code" for t in _targets(stmt))
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    ]


def _targets(stmt: ast.AnnAssign | ast.Assign) -> list[ast.expr]:
    return [stmt.target] if isinstance(stmt, ast.AnnAssign) else stmt.targets


def test_every_code_raised_in_src_is_drawn() -> None:
    drawn = {code for row in drawing().values() for code in row.codes}
    missing = sorted({f"{r.code} ({r.path}:{r.line})" for r in raised_in_src() if r.code not in drawn})
    assert not missing, f"codes raised but not in the drawing: {missing}"


def test_every_raise_site_uses_the_class_that_declares_its_code() -> None:
    wrong: set[tuple[str, str, str]] = set()
    for site in raised_in_src():
        assert site.cls in CLASSES or site.cls == "dict", f"{site}: code= given to something not an error class"
        if site.cls == "dict" or CODES.get(site.code) is not CLASSES[site.cls]:
            wrong.add((site.path, site.cls, site.code))
    assert wrong == NOT_YET_SWITCHED, "raise sites with the wrong class (fix them, or NOT_YET_SWITCHED is stale)"


def test_no_code_decides_anything_outside_errors_py() -> None:
    """The four tables that disagreed are gone: a registered code compared or listed elsewhere is a new one."""
    found = set()
    for path in sorted(SRC.rglob("*.py")):
        where = path.relative_to(SRC).as_posix()
        if where == "errors.py" or where.startswith("templates/"):  # a new project's tests may check codes
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            for item in _compared_or_listed(node):
                if isinstance(item, ast.Constant) and item.value in CODES:
                    found.add((where, item.value))
    assert found == CODE_TABLES


def _compared_or_listed(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators]
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return list(node.elts)
    if isinstance(node, ast.Dict):  # an error dict's own "code" is a raise site, checked above
        pairs = zip(node.keys, node.values, strict=True)
        return [item for key, value in pairs if not _is_str(key, "code") for item in (key, value) if item is not None]
    return []


# --- rebuilding from a dict --------------------------------------------------------------


def _example(cls: type[SpliceError], code: str | None = None) -> SpliceError:
    if cls is ActionError:
        return ActionError({"x": 1}, status=409, code=code)
    return cls("boom", code=code, details={"status": 418})


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_comes_back_as_its_class(code: str) -> None:
    cls = CODES[code]
    original = _example(cls, code)
    for data in (original.to_dict(), {**original.to_dict(), "type": "SpliceError"}, {"code": code}):
        copy = error_from_dict(data)
        assert type(copy) is cls and copy.code == code
    copy = error_from_dict(original.to_dict())
    assert (copy.message, copy.details, copy.hint) == (original.message, original.details, original.hint)


def test_a_dict_built_by_hand_knows_its_statuses_and_retry() -> None:
    lost = error_from_dict({"code": "WORKER_LOST", "message": "the worker stopped", "type": "SpliceError"})
    assert isinstance(lost, errors.WorkerLost) and lost.retryable and lost.hint
    cancelled = error_from_dict({"code": "CANCELLED", "message": "gave up", "details": {}})
    assert isinstance(cancelled, errors.Cancelled) and not cancelled.retryable
    timed_out = error_from_dict({"code": "TIME_LIMIT_EXCEEDED", "type": "LimitExceeded", "message": "late"})
    assert isinstance(timed_out, errors.TimeLimitExceeded) and timed_out.run_status == 504


def test_an_unknown_code_keeps_its_type_and_an_action_error_its_own_code() -> None:
    custom = error_from_dict({"code": "MY_CODE", "type": "InvalidInput", "message": "m"})
    assert type(custom) is errors.InvalidInput and custom.code == "MY_CODE"
    assert type(error_from_dict({"code": "MY_CODE", "message": "m"})) is SpliceError
    mine = error_from_dict(ActionError({"why": "gone"}, status=410, code="NOT_FOUND").to_dict())
    assert type(mine) is ActionError
    assert (mine.code, mine.payload, mine.run_status) == ("NOT_FOUND", {"why": "gone"}, 410)
    assert type(error_from_dict({})) is SpliceError


# --- the rules ------------------------------------------------------------------------------


def _by(code: str) -> SpliceError:
    return _example(CODES[code], code)


@pytest.mark.parametrize(
    ("code", "status"),
    [("UNAUTHORIZED", 401), ("INVALID_SIGNATURE", 401), ("WEBHOOK_REPLAYED", 401), ("FORBIDDEN", 403),
     ("NOT_FOUND", 404), ("SYNC_RUNNING", 409), ("INVALID_INPUT", 422), ("PAYLOAD_TOO_LARGE", 413),
     ("INVALID_JSON", 400), ("REFRESH_FAILED", 409), ("CONNECTION_BROKEN", 409), ("PAGINATION_ERROR", 502),
     ("HOST_NOT_ALLOWED", 502), ("TOKEN_EXCHANGE_FAILED", 502), ("DATABASE_UNAVAILABLE", 503),
     ("WEBHOOK_SECRET_MISSING", 500), ("INTERNAL_ERROR", 500)],
)  # fmt: skip
def test_the_status_of_an_error_answering_a_request(code: str, status: int) -> None:
    assert _by(code).http_status == status


@pytest.mark.parametrize(
    ("code", "status"),
    [("NOT_FOUND", 500), ("UNAUTHORIZED", 500), ("CAPABILITY_NOT_GRANTED", 500), ("INVALID_INPUT", 500),
     ("INVALID_JSON", 400), ("REFRESH_FAILED", 409), ("CONNECTION_BROKEN", 409), ("PAGINATION_ERROR", 502),
     ("HOST_NOT_ALLOWED", 502), ("NETWORK_ERROR", 502), ("TIME_LIMIT_EXCEEDED", 504),
     ("MEMORY_LIMIT_EXCEEDED", 500), ("SCRIPT_ERROR", 500), ("WORKER_LOST", 500), ("LOCK_TIMEOUT", 503)],
)  # fmt: skip
def test_the_status_of_a_failed_run_s_error(code: str, status: int) -> None:
    assert _by(code).run_status == status


@pytest.mark.parametrize(("given", "answered"), [(409, 409), (503, 503), (302, 400), (600, 400), (True, 400)])
def test_an_action_error_answers_the_status_its_script_chose(given: int, answered: int) -> None:
    assert ActionError("no", status=given).run_status == answered


def test_the_third_party_and_the_credentials_answer_the_same_on_every_path() -> None:
    for code in ("REFRESH_FAILED", "CONNECTION_BROKEN", "PAGINATION_ERROR", "HOST_NOT_ALLOWED", "API_ERROR"):
        assert _by(code).http_status == _by(code).run_status, code


@pytest.mark.parametrize(
    ("code", "retryable"),
    [("REFRESH_FAILED", True), ("CONNECTION_BROKEN", False), ("WORKER_LOST", True), ("CANCELLED", False),
     ("TIME_LIMIT_EXCEEDED", False), ("MEMORY_LIMIT_EXCEEDED", False), ("OUTPUT_TOO_LARGE", False),
     ("PROCESS_LIMIT_EXCEEDED", False), ("CHILD_CRASHED", True), ("NOT_FOUND", False), ("SYNC_RUNNING", False),
     ("INVALID_CONFIG", False), ("SCRIPT_ERROR", True), ("RATE_LIMIT_EXCEEDED", True), ("NETWORK_ERROR", True),
     ("INTERNAL_ERROR", True), ("DATABASE_UNAVAILABLE", True)],
)  # fmt: skip
def test_whether_the_engine_retries_an_attempt_that_failed_with_it(code: str, retryable: bool) -> None:
    assert _by(code).retryable is retryable


def test_a_hint_worded_for_rest_survives_the_dict_and_defaults_to_the_hint() -> None:
    error = errors.InvalidInput("no connection", hint="pass --connection ID", hints={"rest": 'send "connection_id"'})
    copy = error_from_dict(error.to_dict())
    assert (copy.hint_for("rest"), copy.hint_for("cli"), copy.hint) == (
        'send "connection_id"', "pass --connection ID", "pass --connection ID",
    )  # fmt: skip
    assert errors.NotFound("x", hint="look").hint_for("rest") == "look" and not errors.NotFound("x").hints
