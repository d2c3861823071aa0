"""API Gateway TOKEN authorizer of a Dynabench task owner's model gateway.

API Gateway calls it with ``{"type": "TOKEN", "authorizationToken": <the Authorization
header>, "methodArn": <the method's ARN>}`` (the security scheme ``APIGatewayAuthorizer`` of
the task owner's OpenAPI document: mlcommons/dynabench @ e1394ce3,
api/evaluation/instructions.md lines 413-422). It returns an IAM policy that allows
``execute-api:Invoke`` on that method, or raises ``Exception("Unauthorized")``, which makes
API Gateway answer 401 (its ``AUTHORIZER_FAILURE`` gateway response).

What the header holds. The Dynabench web client calls a model URL with
``Authorization: Bearer <token>``: the logged-in user's token, or, when nobody is logged in,
the trial token (mlcommons/dynabench @ e1394ce3, frontends/web/src/common/ApiService.js
lines 437-452 ``getModelResponse`` and 990-1001 ``doFetch``). Both are JWTs that Dynabench
signs with HMAC-SHA256 under one shared secret and always gives an ``exp``:

- legacy API: ``jwt.encode(payload, app.config["jwtsecret"], algorithm=app.config["jwtalgo"])``
  with ``payload["exp"]`` set (api/common/auth.py lines 125-137) and ``"jwtalgo": "HS256"``
  (api/common/config.py line 30; facebookresearch/dynabench @ 0a80494d,
  api/common/config.py.example line 9); it verifies with ``algorithms=[jwtalgo]``
  (api/common/auth.py lines 51-61). Login tokens carry ``{"id", "username"}``, the trial
  token ``{"username": "temp_user"}`` (api/controllers/auth.py lines 49 and 60), valid 900 s
  (``trial_jwtexp``, api/common/config.py line 43).
- new backend: python-jose ``jwt.encode({"exp": ..., **subject}, AUTH_JWT_SECRET_KEY,
  AUTH_HASH_ALGORITHM)`` with ``AUTH_HASH_ALGORITHM`` defaulting to ``HS256`` and subject
  ``{"id": ...}`` (backend/app/domain/auth/authentication.py lines 43, 58-73, 135).

So this authorizer verifies an HS256 JWT, requires ``exp``, and takes the principal from
``id`` (else ``username``). The key is the "model endpoint secret" the Dynabench admins hand
out (instructions.md lines 489-493, where the old Node.js authorizer kept it in an array in
its code); here it lives in Secrets Manager.

Not accepted, on purpose: the literal headers ``turk`` (Mechanical Turk mode) and ``None``
(nobody logged in and no trial token) that the Dynabench API accepts for some routes
(api/common/auth.py lines 84, 97 and 114). They are public constants, not secrets, so
accepting them would open the gateway to anyone; a shared-string comparison
(``hmac.compare_digest``) is therefore not needed: Dynabench sends no shared secret string.

Environment: ``ENDPOINT_SECRET_ID``, the id or ARN of a Secrets Manager secret whose value is
the JSON object ``{"endpointSecret": "<key>"}``, or ``{"endpointSecret": ["<new>", "<old>"]}``
during a rotation; with ``ENDPOINT_SECRET_ENTRY`` set, that object is the secret's entry of that
name (nodectl stores ``{"<api stack>": {"endpointSecret": ...}}``). Read once per container and
cached for ``CACHE_SECONDS``.
IAM: ``secretsmanager:GetSecretValue`` on that secret (and ``kms:Decrypt`` if it is encrypted
with a customer managed key).

Neither the token nor the secret is ever logged.
"""

import json
import logging
import os
import time

import boto3
import jwt

LOG = logging.getLogger(__name__)
# botocore logs whole response bodies at DEBUG (botocore/parsers.py: "Response body"), which
# for GetSecretValue is the secret: never let that logger go below INFO in this function.
logging.getLogger("botocore.parsers").setLevel(logging.INFO)

# The only algorithm Dynabench signs with (see the module docstring). Never taken from the
# token's header, and never "none".
ALGORITHMS = ["HS256"]
SECRET_FIELD = "endpointSecret"
CACHE_SECONDS = 300

SECRETS = boto3.client("secretsmanager")
_cache = {"keys": (), "until": 0.0}


class Unauthorized(Exception):
    """Why a request is refused; never leaves this module (API Gateway sees "Unauthorized")."""


def signing_keys():
    """The endpoint secret's key(s), from the cache or from Secrets Manager.

    A missing or malformed secret raises (``RuntimeError``, or botocore's ``ClientError``):
    API Gateway then answers 500 (``AUTHORIZER_CONFIGURATION_ERROR``), which says that the
    task owner, not the caller, has something to fix.
    """
    now = time.monotonic()
    if _cache["keys"] and now < _cache["until"]:
        return _cache["keys"]
    secret_id = os.environ["ENDPOINT_SECRET_ID"]
    response = SECRETS.get_secret_value(SecretId=secret_id)
    entry = os.environ.get("ENDPOINT_SECRET_ENTRY")
    try:
        document = json.loads(response["SecretString"])
        value = (document[entry] if entry else document)[SECRET_FIELD]
    except (KeyError, TypeError, ValueError):
        value = None
    keys = tuple(value) if isinstance(value, list) else (value,)
    if not keys or not all(isinstance(key, str) and key for key in keys):
        # Says what is wrong, never what the value is.
        raise RuntimeError(
            f"secret {secret_id}: not a JSON object whose "
            f"{(entry + '.') if entry else ''}{SECRET_FIELD!r} is a non-empty string or a list "
            "of them"
        )
    _cache.update(keys=keys, until=now + CACHE_SECONDS)
    return keys


def bearer_token(header):
    """The token of ``Bearer <token>``, read as Dynabench's own ``jwt_token_from_header``
    does (case-insensitive scheme, exactly two parts: api/common/auth.py lines 17-48)."""
    parts = header.split() if isinstance(header, str) else []
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise Unauthorized("not a Bearer token")
    return parts[1]


def verify(token, keys):
    """The token's claims, if one of ``keys`` signed it with HS256 and it has not expired.

    PyJWT checks the signature before ``exp`` (and ``nbf``/``iat`` when present); ``require``
    refuses a token without ``exp``, which Dynabench never issues.
    """
    for key in keys:
        try:
            return jwt.decode(token, key, algorithms=ALGORITHMS, options={"require": ["exp"]})
        except jwt.InvalidSignatureError:
            continue  # maybe signed with the other key of a rotation
    raise Unauthorized("bad signature")


def principal(claims):
    """Dynabench's user id (login tokens), else its user name (``temp_user``: trial tokens)."""
    for claim in ("id", "username"):
        value = claims.get(claim)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
            return str(value)
    raise Unauthorized("no id or username claim")


def policy(principal_id, method_arn):
    """The authorizer's answer: Allow ``execute-api:Invoke`` on this one method."""
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}
            ],
        },
    }


def handler(event, context):
    """Lambda entry point (``authorizer.handler``)."""
    keys = signing_keys()  # outside the try: a configuration error is a 500, not a 401
    try:
        method_arn = event["methodArn"]
        if not isinstance(method_arn, str) or not method_arn:
            raise Unauthorized("no methodArn")
        claims = verify(bearer_token(event.get("authorizationToken")), keys)
        principal_id = principal(claims)
    except Exception as err:  # fail closed: whatever went wrong, the caller gets a 401
        # The exception's class only: nothing of the token may reach the log.
        LOG.info("denied: %s", type(err).__name__)
        raise Exception("Unauthorized") from None
    LOG.info("allowed principal %s", principal_id)
    return policy(principal_id, method_arn)
