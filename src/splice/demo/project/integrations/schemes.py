"""The same API through every other auth scheme; each has a `whoami` action."""

from splice import Integration, auth


def _whoami_integration(name: str, scheme: auth.BaseAuth) -> Integration:
    integration = Integration(name, base_url="{config.api_url}/api", auth=scheme, test_path="/whoami")

    @integration.action
    async def whoami(ctx, input) -> dict:
        """Who the API thinks we are, and which auth scheme reached it."""
        return await ctx.api.get("/whoami")

    return integration


def _sign_request(request, credentials) -> None:
    request.headers["X-API-Key"] = credentials["token"]


acme_key = _whoami_integration("acme_key", auth.ApiKey(in_="header", name="X-API-Key"))
acme_query = _whoami_integration("acme_query", auth.ApiKey(in_="query", name="api_key"))
acme_basic = _whoami_integration("acme_basic", auth.Basic())
acme_key_secret = _whoami_integration("acme_key_secret", auth.ApiKeySecret())
acme_oauth = _whoami_integration(
    "acme_oauth",
    auth.OAuth2AuthorizationCode(
        authorize_url="{config.api_url}/oauth/authorize",
        token_url="{config.api_url}/oauth/token",
        scopes=["crm"],
    ),
)
acme_jwt = _whoami_integration("acme_jwt", auth.PrivateKey(token_url="{config.api_url}/oauth/token"))
acme_custom = _whoami_integration("acme_custom", auth.Custom(apply=_sign_request, fields=("token",)))
