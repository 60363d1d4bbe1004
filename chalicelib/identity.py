"""Who is calling. Deployed stages put a Cognito user pool authorizer in front of
the shopper routes, so API Gateway has checked the token and passes its claims;
the local stage has no sign-in and trusts the userId it is given (dev identity).
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Forbidden

COGNITO = "cognito"


def caller(context: dict[str, Any] | None, mode: str) -> str | None:
    """The signed-in user's id (the token's `sub`), or None where there is no sign-in."""
    if mode != COGNITO:
        return None
    claims = ((context or {}).get("authorizer") or {}).get("claims") or {}
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        # API Gateway rejects unsigned calls first; this only guards a misconfigured route.
        raise Forbidden("sign in to continue")
    return subject


def ensure_self(signed_in: str | None, user_id: str) -> None:
    """A shopper acts only as themselves."""
    if signed_in is not None and signed_in != user_id:
        raise Forbidden("you can only buy and see orders as the signed-in user")
