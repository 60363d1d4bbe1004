"""Who is calling.

Deployed stages put a Cognito user pool authorizer in front of the shopper and
admin routes: API Gateway has checked the token and passes its claims, and the
token's `sub` is the shopper. The local stage has no sign-in and trusts the
userId it is given (the dev identity). Code running in Lambda without
`AUTH_MODE=cognito` refuses instead: a misconfigured stage fails closed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from chalicelib.errors import Forbidden

COGNITO = "cognito"
ADMINS_GROUP = "admins"
# A dev identity that looks like an address is one (local stage only).
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


class Caller(NamedTuple):
    """The signed-in caller; user_id None on the local stage (no sign-in)."""

    user_id: str | None
    email: str | None
    admin: bool


LOCAL = Caller(user_id=None, email=None, admin=True)


def caller(
    context: Mapping[str, Any] | None, mode: str, env: Mapping[str, str] | None = None
) -> Caller:
    """The caller of this request, from API Gateway's authorizer claims."""
    env = os.environ if env is None else env
    if mode != COGNITO:
        if env.get("AWS_LAMBDA_FUNCTION_NAME"):
            # In Lambda every request must be signed in: never trust a body's userId.
            raise Forbidden("sign-in is not configured for this stage")
        return LOCAL
    claims = ((context or {}).get("authorizer") or {}).get("claims") or {}
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        # API Gateway rejects unsigned calls first; this only guards a misconfigured route.
        raise Forbidden("sign in to continue")
    # Only an address Cognito has verified is ever mailed.
    verified = str(claims.get("email_verified", "")).lower() == "true"
    email = claims.get("email") if verified and isinstance(claims.get("email"), str) else None
    return Caller(subject, email, ADMINS_GROUP in _groups(claims.get("cognito:groups")))


def signed_request(
    context: Mapping[str, Any] | None, mode: str, env: Mapping[str, str] | None = None
) -> None:
    """Refuse unless API Gateway's IAM authorizer admitted this request (deployed
    stages: automation signs `PUT /products` with SigV4); the local stage is open."""
    env = os.environ if env is None else env
    if mode != COGNITO:
        if env.get("AWS_LAMBDA_FUNCTION_NAME"):
            raise Forbidden("sign-in is not configured for this stage")
        return
    signer = ((context or {}).get("identity") or {}).get("userArn")
    if not isinstance(signer, str) or not signer:
        raise Forbidden("this route needs a SigV4-signed request")


def _groups(claim: Any) -> set[str]:
    # REST API authorizers pass list claims flattened to a string: "[a, b]" or "a,b".
    if isinstance(claim, list):
        return {str(group) for group in claim}
    if isinstance(claim, str):
        return {part for part in re.split(r"[\s,\[\]]+", claim) if part}
    return set()


def ensure_self(who: Caller, user_id: str) -> None:
    """A shopper acts only as themselves."""
    if who.user_id is not None and who.user_id != user_id:
        raise Forbidden("you can only buy and see orders as the signed-in user")


def ensure_admin(who: Caller) -> None:
    """Only the admins group administers (everyone, on the local stage)."""
    if not who.admin:
        raise Forbidden("this needs an operator account")


def email_for(who: Caller, user_id: str) -> str | None:
    """Where the shopper's confirmations go: the verified address of the signed-in
    shopper, or locally the dev identity when it is an address; never a body field."""
    if who.user_id is not None:
        return who.email
    return user_id if _ADDRESS.fullmatch(user_id) else None
