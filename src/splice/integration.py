"""``Integration``: a third-party API and the scripts written for it.

Users compose, they do not subclass: an integration is declared once and scripts are
decorated functions that take ``ctx``::

    acme = Integration("acme", base_url="https://api.acme.test/v2", auth=auth.ApiKey())

    @acme.action(input=Contact, output=Contact)
    async def create_contact(ctx, input: Contact) -> Contact: ...
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from splice import _templates
from splice._validation import describe_validation, validation_errors
from splice.auth import BaseAuth
from splice.errors import InvalidInput, NotFound, ProjectError
from splice.files import file_definition
from splice.flows import Flow, FlowTrigger, Step
from splice.flows.step import STEP_ATTRIBUTE
from splice.paginate import BasePaginator
from splice.resources import AsyncHelper, Export, FileDefinition, Import, Where
from splice.schedule import Schedule
from splice.triggers import Body, ConnectionSource, Header, HmacSignature, Query
from splice.triggers._routing import check_signed_routing

ScriptKind = Literal["action", "sync", "trigger", "step", "export", "import"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CACHE_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class LookupCache:
    """A lookup cache declared in code: string keys and values kept by splice (``rt.lookups``)."""

    integration: str
    name: str
    description: str = ""
    external_id: str | None = None

    @property
    def id(self) -> str:
        """The global name, ``acme.skus``, as flows' ``acme.onboard``."""
        return f"{self.integration}.{self.name}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"integration": self.integration, "name": self.name, "description": self.description}
        if self.external_id is not None:
            data["external_id"] = self.external_id
        return data

    @classmethod
    def from_json(cls, data: Any) -> LookupCache:
        """A cache from its JSON document (created over the API); names the field that is wrong."""
        where = Where("lookup cache", data.get("name") if isinstance(data, dict) else None)
        where.only(data, "", {"integration", "name", "description", "external_id"})
        for required in ("integration", "name"):
            if required not in data:
                raise where.invalid(required, "is required")
        name = where.string(data["name"], "name")
        if not _CACHE_NAME.match(name):
            raise where.invalid("name", "must be 1-64 lower-case letters, digits, _ and -")
        return cls(where.string(data["integration"], "integration"), name,
                   where.string(data.get("description", ""), "description", empty=True),
                   where.optional_string(data.get("external_id"), "external_id"))  # fmt: skip


@dataclass(slots=True)
class Script:
    """One decorated function with what splice needs to run it."""

    integration: Integration
    name: str
    kind: ScriptKind
    fn: Callable[..., Any]
    input: type[BaseModel] | None = None
    output: type[BaseModel] | None = None
    description: str = ""
    time_limit: float | None = None
    #: syncs: the record models it saves, when it runs, whether unseen records are deleted
    models: tuple[type[BaseModel], ...] = ()
    schedule: Schedule | None = None
    track_deletes: bool = False
    #: syncs: how often a failed run is retried, and the first wait (doubling after each retry)
    retries: int = 3
    retry_delay: float = 30.0
    #: triggers: the webhook's signature check, and where its connection id is found
    signature: HmacSignature | None = None
    connection_from: ConnectionSource | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def model(self, name: str | None) -> type[BaseModel]:
        """The declared model called ``name`` (or the only one when ``name`` is None)."""
        if name is None:
            if len(self.models) == 1:
                return self.models[0]
            known = ", ".join(m.__name__ for m in self.models)
            raise InvalidInput(f"{self.qualname} saves several models ({known}); pass model=")
        for model in self.models:
            if model.__name__ == name:
                return model
        known = ", ".join(m.__name__ for m in self.models) or "none"
        raise InvalidInput(f"{self.qualname} declares no model {name!r} (it declares: {known})")

    @property
    def qualname(self) -> str:
        return f"{self.integration.name}.{self.name}"

    def describe(self) -> dict[str, Any]:
        described = {
            "name": self.name,
            "kind": self.kind,
            "models": [m.__name__ for m in self.models],
            "schedule": self.schedule.describe() if self.schedule else None,
            "description": self.description,
            "input": self.input.model_json_schema() if self.input else None,
            "output": self.output.model_json_schema() if self.output else None,
        }
        if self.kind == "trigger":
            described["webhook"] = {
                "signature": self.signature.describe() if self.signature else None,
                "connection_from": self.connection_from.describe() if self.connection_from else None,
                # True: the routing value is not signed; the operator vouched for it (trusted=True)
                "connection_from_trusted": bool(self.connection_from and self.connection_from.trusted),
            }
        return described


class Integration:
    """A third-party API: base URL, auth scheme, defaults, allowed hosts and config schema.

    ``base_url`` may hold ``{config.x}`` / ``{credentials.y}`` placeholders resolved per
    connection; the resolved host joins the allowlist. ``config`` is a pydantic model whose
    fields are the connection's config vars (with their defaults).
    """

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        auth: BaseAuth | None = None,
        headers: Mapping[str, str] | None = None,
        paginate: BasePaginator | None = None,
        allowed_hosts: tuple[str, ...] | list[str] = (),
        config: type[BaseModel] | None = None,
        test_path: str | None = None,
        display_name: str | None = None,
    ) -> None:
        if not _NAME.match(name):
            raise ProjectError(
                f"integration name {name!r} must be lower-case letters, digits and _ (starting with a letter)"
            )
        if not _templates.has_placeholders(base_url) and not urlsplit(base_url).hostname:
            raise ProjectError(f"integration {name!r}: base_url {base_url!r} is not an absolute URL")
        if auth is not None and not isinstance(auth, BaseAuth):
            raise ProjectError(f"integration {name!r}: auth must be one of splice.auth.*")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.auth: BaseAuth = auth or BaseAuth()
        self.headers = dict(headers or {})
        self.paginate = paginate
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts)
        self.config_model = config
        self.test_path = test_path
        self.display_name = display_name or name
        self.scripts: dict[str, Script] = {}
        #: flows declared on this integration (they may use others' steps and actions)
        self.flows: dict[str, Flow] = {}
        #: Celigo's platform resources declared in code, and the hook functions they name
        self.exports: dict[str, Export] = {}
        self.imports: dict[str, Import] = {}
        self.hooks: dict[str, Callable[..., Any]] = {}
        self.async_helpers: dict[str, AsyncHelper] = {}
        self.file_definitions: dict[str, FileDefinition] = {}
        #: lookup caches declared on this integration, by name
        self.lookup_caches: dict[str, LookupCache] = {}

    def __repr__(self) -> str:
        return f"Integration({self.name!r}, base_url={self.base_url!r})"

    def action(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        input: type[BaseModel] | None = None,
        output: type[BaseModel] | None = None,
        name: str | None = None,
        time_limit: float | None = None,
        description: str | None = None,
    ) -> Any:
        """Declare an action: ``async def fn(ctx, input)`` run on demand."""

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self._add(
                Script(
                    self,
                    name or func.__name__,
                    "action",
                    func,
                    input=input,
                    output=output,
                    description=description or inspect.getdoc(func) or "",
                    time_limit=time_limit,
                )
            )
            return func

        return register(fn) if fn is not None else register

    def sync(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        models: list[type[BaseModel]] | tuple[type[BaseModel], ...],
        every: str | None = None,
        cron: str | None = None,
        track_deletes: bool = False,
        retries: int = 3,
        retry_delay: float = 30.0,
        name: str | None = None,
        time_limit: float | None = None,
        description: str | None = None,
    ) -> Any:
        """Declare a sync: ``async def fn(ctx)`` run on a schedule, saving ``models`` records.

        A failed run is retried ``retries`` times, first after ``retry_delay`` seconds, then
        twice as long each time; every attempt resumes from the last checkpoint.

        >>> @acme.sync(models=[Contact], every="15m", track_deletes=True)
        ... async def contacts(ctx): ...
        """
        try:
            schedule = Schedule.parse(every=every, cron=cron)
        except InvalidInput as exc:
            raise ProjectError(f"integration {self.name!r}: {exc.message}", hint=exc.hint) from None
        if not models:
            raise ProjectError(f"integration {self.name!r}: a sync needs models=[...] (pydantic models with an id)")
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 20:
            raise ProjectError(f"integration {self.name!r}: retries={retries!r} must be a whole number from 0 to 20")
        if not isinstance(retry_delay, int | float) or isinstance(retry_delay, bool) or not 0 <= retry_delay <= 86400:
            raise ProjectError(f"integration {self.name!r}: retry_delay={retry_delay!r} must be 0 to 86400 seconds")

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self._add(
                Script(
                    self,
                    name or func.__name__,
                    "sync",
                    func,
                    description=description or inspect.getdoc(func) or "",
                    time_limit=time_limit,
                    models=tuple(models),
                    schedule=schedule,
                    track_deletes=track_deletes,
                    retries=retries,
                    retry_delay=float(retry_delay),
                )
            )
            return func

        return register(fn) if fn is not None else register

    def trigger(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        signature: HmacSignature | None = None,
        connection_from: ConnectionSource | None = None,
        time_limit: float | None = None,
        description: str | None = None,
    ) -> Any:
        """Declare a webhook trigger: ``async def fn(ctx, request)`` answering ``/webhooks/{integration}/{name}``.

        ``signature`` refuses requests not signed with the operator's secret (401, no run);
        ``connection_from`` picks the connection whose id the request carries, and must be
        signed by ``signature`` (or marked ``trusted=True``): it chooses the tenant. The script
        returns None (``200 {"ok": true}``), a dict or list (200 JSON) or a
        :class:`splice.triggers.Response`.

        >>> @acme.trigger(signature=HmacSignature(secret_env="ACME_SECRET", signed_payload="{header:X-Account}|{body}"),
        ...               connection_from=Header("X-Account"))
        ... async def contact_events(ctx, request): ...
        """
        if signature is not None and not isinstance(signature, HmacSignature):
            raise ProjectError(f"integration {self.name!r}: signature= must be splice.triggers.HmacSignature(...)")
        if connection_from is not None and not isinstance(connection_from, Header | Body | Query):
            raise ProjectError(
                f"integration {self.name!r}: connection_from= must be splice.triggers.Header, Body or Query"
            )
        if time_limit is not None and (
            isinstance(time_limit, bool) or not isinstance(time_limit, int | float) or not 0 < time_limit <= 86400
        ):
            raise ProjectError(f"integration {self.name!r}: time_limit={time_limit!r} must be 0 to 86400 seconds")

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            if connection_from is not None:
                check_signed_routing(f"trigger {self.name}.{name or func.__name__}", connection_from, signature)
            self._add(
                Script(
                    self,
                    name or func.__name__,
                    "trigger",
                    func,
                    description=description or inspect.getdoc(func) or "",
                    time_limit=time_limit,
                    signature=signature,
                    connection_from=connection_from,
                )
            )
            return func

        return register(fn) if fn is not None else register

    def step(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        time_limit: float | None = None,
        description: str | None = None,
    ) -> Any:
        """Declare a flow's code block: ``async def fn(ctx, step_results)``, used by ``step.code(...)``.

        It runs in a sandboxed child like every script, with the flow run's connection for this
        integration; ``step_results`` holds the trigger's payload and earlier steps' results.

        >>> @acme.step()
        ... async def tag_vip(ctx, step_results):
        ...     return {"vip": step_results["Get contact"]["revenue"] > 10_000}
        """

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            script = Script(self, name or func.__name__, "step", func, time_limit=time_limit,
                            description=description or inspect.getdoc(func) or "")  # fmt: skip
            self._add(script)
            setattr(func, STEP_ATTRIBUTE, script.qualname)
            return func

        return register(fn) if fn is not None else register

    def flow(
        self,
        name: str,
        *,
        steps: list[Step] | tuple[Step, ...],
        trigger: str | None = None,
        respond: Literal["trigger", "flow"] = "trigger",
        every: str | None = None,
        cron: str | None = None,
        on_error: list[Step] | tuple[Step, ...] = (),
        description: str = "",
    ) -> Flow:
        """Declare a flow: a webhook ``trigger`` (or ``every=`` / ``cron=``, or neither: on demand)
        and its steps; ``on_error`` steps run whenever a step fails the flow.

        Steps and actions are checked when the project has loaded (they may be another
        integration's); the flow's document is then what ``GET /flows/acme.onboard`` returns.
        """
        if sum(x is not None for x in (trigger, every, cron)) > 1:
            raise ProjectError(f"flow {self.name}.{name}: give one of trigger=, every= or cron=")
        if trigger is not None:
            start = FlowTrigger(type="webhook", trigger=trigger, respond=respond)
        elif every is not None or cron is not None:
            start = FlowTrigger(type="schedule", every=every, cron=cron)
        else:
            start = FlowTrigger()
        flow = Flow(integration=self.name, name=name, steps=tuple(steps), trigger=start, on_error=tuple(on_error),
                    description=description)  # fmt: skip
        if name in self.flows:
            raise ProjectError(f"flow {flow.id} is declared twice")
        self.flows[name] = flow
        return flow

    def hook(self, fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
        """Declare a hook of an export or import, with Celigo's argument and return shapes
        (``splice.resources.PreMapOptions`` … say them): ``def fn(options) -> result``, sync or
        async. Name it in the resource: ``hooks={"pre_map": clean}``. It runs in the sandboxed
        child that runs the resource's page, never in the worker.

        >>> @acme.hook()
        ... def clean(options):
        ...     return [{"data": {**r, "email": r["email"].lower()}} for r in options["data"]]
        """

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            hook_name = name or func.__name__
            if not _NAME.match(hook_name):
                raise ProjectError(f"hook name {hook_name!r} must be lower-case letters, digits and _")
            if hook_name in self.hooks:
                raise ProjectError(f"hook {self.name}.{hook_name} is declared twice")
            self.hooks[hook_name] = func
            setattr(func, HOOK_ATTRIBUTE, f"{self.name}.{hook_name}")
            return func

        return register(fn) if fn is not None else register

    def export(self, name: str, *, path: str, hooks: Mapping[str, Any] | None = None, **fields: Any) -> Export:
        """Declare an export: Celigo's declarative HTTP source (``splice.resources.Export``'s fields:
        ``records_path``, ``paging``, ``query``, ``delta``, …). Read-only over the API; run it with
        ``rt.exports.run("acme.contacts", connection=...)`` or as a flow's ``step.export``."""
        value = _declared(Export, self, name, path=path, hooks=self._hook_names(name, hooks), **fields)
        if name in self.exports:
            raise ProjectError(f"export {self.name}.{name} is declared twice")
        self.exports[name] = value
        return value

    def import_(self, name: str, *, path: str, hooks: Mapping[str, Any] | None = None, **fields: Any) -> Import:
        """Declare an import: Celigo's declarative HTTP destination (``splice.resources.Import``'s
        fields: ``mapping``, ``batch_size``, ``response_id_path``, …)."""
        value = _declared(Import, self, name, path=path, hooks=self._hook_names(name, hooks), **fields)
        if name in self.imports:
            raise ProjectError(f"import {self.name}.{name} is declared twice")
        self.imports[name] = value
        return value

    def async_helper(self, name: str, *, job_id_path: str, status_path: str, **fields: Any) -> AsyncHelper:
        """Declare an async helper (Celigo's): how this API's "job accepted" answers are followed —
        ``status_path`` polled until ``status_value_path`` is a done value, then ``result_path``
        (``splice.resources.AsyncHelper``'s fields). An export names it: ``async_helper="bulk"``."""
        value = _declared(AsyncHelper, self, name, job_id_path=job_id_path, status_path=status_path, **fields)
        if name in self.async_helpers:
            raise ProjectError(f"async helper {self.name}.{name} is declared twice")
        self.async_helpers[name] = value
        return value

    def file_definition(self, name: str, rules: Any, *, external_id: str | None = None) -> FileDefinition:
        """Declare a file definition: ``rules`` a ``splice.files`` format (``Delimited``,
        ``FixedWidth``, ``X12``) or its JSON document. An export or import names it: ``file="orders"``."""
        if isinstance(rules, Mapping):
            rules = _files_rules(rules)
        value = _declared(FileDefinition, self, name, rules=rules, external_id=external_id)
        if name in self.file_definitions:
            raise ProjectError(f"file definition {self.name}.{name} is declared twice")
        self.file_definitions[name] = value
        return value

    def _hook_names(self, resource: str, hooks: Mapping[str, Any] | None) -> dict[str, str]:
        """``{"pre_map": fn}`` → ``{"pre_map": "acme.fn"}``: a hook is one of this integration's."""
        names: dict[str, str] = {}
        for stage, hook in (hooks or {}).items():
            qualname = getattr(hook, HOOK_ATTRIBUTE, None) if callable(hook) else hook
            if not isinstance(qualname, str):
                raise ProjectError(f"{self.name}.{resource}: hooks[{stage!r}] must be a function declared with "
                                   f"@{self.name}.hook() or its name")  # fmt: skip
            owner, dot, short = qualname.rpartition(".")
            if dot and owner != self.name:
                raise ProjectError(f"{self.name}.{resource}: hook {qualname!r} is another integration's; "
                                   f"a resource's hooks are its own integration's")  # fmt: skip
            names[stage] = f"{self.name}.{short}"
        return names

    def hook_function(self, qualname: str) -> Callable[..., Any]:
        """The function a resource's hook names (``"acme.clean"``)."""
        short = qualname.rpartition(".")[2]
        try:
            return self.hooks[short]
        except KeyError:
            known = ", ".join(sorted(self.hooks)) or "none"
            raise NotFound(f"integration {self.name!r} has no hook {short!r} (it has: {known})",
                           hint=f"declare it with @{self.name}.hook()") from None  # fmt: skip

    def lookup_cache(self, name: str, *, description: str = "", external_id: str | None = None) -> LookupCache:
        """Declare a lookup cache (Celigo's): string keys and values, filled and read through
        ``rt.lookups``, ``/lookup_caches/acme.skus/data``, ``splice lookups`` or ``ctx.engine.lookups``.

        >>> skus = acme.lookup_cache("skus", description="ERP item id by SKU")
        """
        if not isinstance(name, str) or not _CACHE_NAME.match(name):
            raise ProjectError(f"lookup cache name {name!r} must be 1-64 lower-case letters, digits, _ and -")
        if name in self.lookup_caches:
            raise ProjectError(f"lookup cache {self.name}.{name} is declared twice")
        cache = self.lookup_caches[name] = LookupCache(self.name, name, description, external_id)
        return cache

    def _add(self, script: Script) -> None:
        if not inspect.iscoroutinefunction(script.fn):
            raise ProjectError(f"script {script.qualname} must be an 'async def' function")
        if not _NAME.match(script.name):
            raise ProjectError(f"script name {script.name!r} must be lower-case letters, digits and _")
        if script.name in self.scripts:
            raise ProjectError(f"script {script.qualname} is declared twice")
        for model in (script.input, script.output, *script.models):
            if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise ProjectError(f"{script.qualname}: input, output and models must be pydantic models")
        for model in script.models:
            if "id" not in model.model_fields:
                raise ProjectError(f"{script.qualname}: model {model.__name__} needs an id field")
        self.scripts[script.name] = script

    def script(self, name: str) -> Script:
        try:
            return self.scripts[name]
        except KeyError:
            known = ", ".join(sorted(self.scripts)) or "none"
            raise NotFound(f"integration {self.name!r} has no script {name!r} (it has: {known})") from None

    def validate_config(self, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """Config about to be stored on a connection: :meth:`resolve_config`, and a key the
        ``config=`` model does not declare is refused too (``INVALID_CONFIG`` naming it and the
        declared ones): pydantic would drop it silently, and a misspelt key would leave its
        setting at the default. A model with ``extra="allow"`` takes any key; an integration
        without a model takes any key (its placeholders read them).
        """
        if config is not None and not isinstance(config, Mapping):
            raise InvalidInput("config must be a JSON object", code="INVALID_CONFIG")
        model = self.config_model
        if model is not None and config and model.model_config.get("extra") != "allow":
            unknown = sorted(set(config) - _field_names(model))
            if unknown:
                declared = sorted(model.model_fields)
                raise InvalidInput(
                    f"config for {self.name!r} has no {_listed(unknown)} "
                    f"(it declares: {', '.join(declared) or 'nothing'})",
                    code="INVALID_CONFIG",
                    details={"unknown": unknown, "declared": declared},
                    hint=f"check the spelling; {model.__name__} in the integration's module lists the config keys",
                )
        return self.resolve_config(config)

    def resolve_config(self, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """The connection's config vars validated against the schema, with defaults filled.

        Keys the model does not declare are dropped: config stored before they were refused
        (:meth:`validate_config`) still runs.
        """
        config = dict(config or {})
        if self.config_model is None:
            return config
        try:
            return self.config_model.model_validate(config).model_dump(mode="json")
        except ValidationError as exc:
            raise InvalidInput(
                f"config for {self.name!r} is invalid: {describe_validation(exc)}",
                code="INVALID_CONFIG",
                details={"errors": validation_errors(exc)},
            ) from None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "base_url": self.base_url,
            "auth": self.auth.describe(),
            "allowed_hosts": list(self.allowed_hosts),
            "config": self.config_model.model_json_schema() if self.config_model else None,
            "scripts": [s.describe() for s in self.scripts.values()],
        }


#: set on a function declared with ``@integration.hook()``: its qualified name
HOOK_ATTRIBUTE = "__splice_hook__"


def _declared(cls: type[Any], integration: Integration, name: str, **fields: Any) -> Any:
    """A resource value declared in code; a bad field is a :class:`ProjectError` naming it."""
    try:
        return cls(name=name, integration=integration.name, **fields)
    except InvalidInput as exc:
        raise ProjectError(exc.message) from None
    except TypeError as exc:
        raise ProjectError(f"{cls.__name__.lower()} {integration.name}.{name}: {exc}") from None


def _files_rules(document: Mapping[str, Any]) -> Any:
    try:
        return file_definition(document)
    except InvalidInput as exc:
        raise ProjectError(exc.message) from None


def _field_names(model: type[BaseModel]) -> set[str]:
    """The keys a model reads: its field names and their string aliases."""
    names = set(model.model_fields)
    for field_info in model.model_fields.values():
        for alias in (field_info.alias, field_info.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
    return names


def _listed(keys: list[str]) -> str:
    quoted = [repr(k) for k in keys]
    return ("key " if len(quoted) == 1 else "keys ") + ", ".join(quoted)
