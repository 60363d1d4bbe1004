"""What every route of the API shares: its authorizers, the API key, and the
cache headers (read at import, as `chalice deploy` reads the routes with the
stage's variables)."""

from __future__ import annotations

import os

from chalice.app import CognitoUserPoolAuthorizer, IAMAuthorizer

from chalicelib import identity

# Deployed stages: shoppers sign in with Cognito, admins sign requests with IAM.
SIGNED_IN: CognitoUserPoolAuthorizer | None = None
ADMIN: IAMAuthorizer | None = None
if os.environ.get("AUTH_MODE") == identity.COGNITO:
    SIGNED_IN = CognitoUserPoolAuthorizer(
        "FlashSaleShoppers", provider_arns=[os.environ["COGNITO_USER_POOL_ARN"]]
    )
    ADMIN = IAMAuthorizer()
# Deployed stages take requests only from their CloudFront distribution, which
# adds the stage's API key (infra/edge); a direct execute-api call is refused.
KEYED = os.environ.get("API_KEY_REQUIRED") == "true"
# Content types are checked by chalicelib so that a wrong one still gets a
# contract-shaped error instead of Chalice's own body.
ANY: list[str] = ["*/*"]


# The catalog is read through a one-second cache here and at the edge.
Headers = dict[str, str | list[str]]
CATALOG_CACHE: Headers = {"Cache-Control": "public, max-age=1"}
NO_STORE: Headers = {"Cache-Control": "no-store"}
