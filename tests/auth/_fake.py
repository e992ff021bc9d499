"""Fabricated token-endpoint responses, form parsing and test keys."""

from __future__ import annotations

import base64
import functools
from typing import Any
from urllib.parse import parse_qs

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from multidict import CIMultiDict

from splice._http import Request, Response
from splice.auth._base import RefreshFlow


def respond(
    request: Request,
    status: int = 200,
    *,
    json: Any = None,
    text: str | None = None,
    content_type: str | None = None,
) -> Response:
    if text is None:
        content = orjson.dumps(json)
        content_type = content_type or "application/json"
    else:
        content = text.encode()
        content_type = content_type or "text/plain"
    return Response(status, CIMultiDict({"Content-Type": content_type}), content, request)


def form(request: Request) -> dict[str, str]:
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    parsed = parse_qs((request.content or b"").decode(), keep_blank_values=True)
    assert all(len(v) == 1 for v in parsed.values()), parsed
    return {k: v[0] for k, v in parsed.items()}


def basic(request: Request) -> tuple[str, str]:
    scheme, _, token = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(token).decode().partition(":")
    return user, password


def finish(flow: RefreshFlow, response_for) -> dict[str, Any]:
    """Drive ``flow`` to the end, answering each request with ``response_for(request)``."""
    try:
        request = next(flow)
        while True:
            request = flow.send(response_for(request))
    except StopIteration as stop:
        return stop.value


def get(url: str = "https://api.acme.test/v1/things") -> Request:
    return Request("GET", url)


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_key(curve: type[ec.EllipticCurve] = ec.SECP256R1) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve())


@functools.cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def private_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
