"""A real OpenID Connect provider on 127.0.0.1, for tests and `make run`.

Built from Authlib's server components: an AuthorizationServer with the
authorization code grant, PKCE (S256, required) and OpenID Connect Core (ID
tokens signed RS256 with a key made at start), plus discovery, JWKS and the
UserInfo endpoint. A GitHub-shaped API (`/github/user`, `/github/user/emails`)
serves the same users, so the GitHub provider's code runs against it too.

Who signs in is chosen on the login page, or by query fields on /authorize
(what tests do): `login=allow|deny`, `sub`, `email`, `email_verified`, `name`.
`fault=` makes the provider misbehave for one sign-in, to test that the app
refuses it (faults.py).

models.py: what Authlib stores and asks for (client, codes, tokens, requests);
server.py: the Authlib server, grant and endpoint classes; faults.py: the faults;
pages.py: the login page; http.py: the HTTP server; provider.py: the provider.
"""

from infra.local.oidc_provider.faults import FAULTS
from infra.local.oidc_provider.models import TestUser
from infra.local.oidc_provider.provider import OidcTestProvider

__all__ = ["FAULTS", "OidcTestProvider", "TestUser"]
