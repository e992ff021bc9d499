"""Auth schemes: how a connection's credentials reach the third-party API.

>>> from splice import auth
>>> auth.ApiKey(in_="header", name="X-API-Key")
>>> auth.OAuth2ClientCredentials(token_url="https://auth.acme.test/token", scopes=["crm"])

Every scheme follows :class:`BaseAuth`: it declares credential ``fields``, ``apply``-s them to
requests and describes refreshes as I/O-free generators the gateway drives.
"""

from splice.auth._api_key import ApiKey
from splice.auth._api_key_secret import ApiKeySecret
from splice.auth._authorization_code import OAuth2AuthorizationCode
from splice.auth._base import BaseAuth
from splice.auth._basic import Basic
from splice.auth._client_credentials import OAuth2ClientCredentials
from splice.auth._custom import Custom
from splice.auth._private_key import PrivateKey

__all__ = [
    "ApiKey",
    "ApiKeySecret",
    "BaseAuth",
    "Basic",
    "Custom",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "PrivateKey",
]
