"""authorizer.py: which tokens pass, the secret's cache, and what reaches the log."""

import base64
import json
import logging
import os
import time
import unittest
from contextlib import contextmanager
from unittest import mock

import jwt
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import authorizer

# 64 bytes or more: no PyJWT key-length warning, even for the HS512 token signed with KEY.
KEY = "model-endpoint-secret-" + "0123456789abcdef" * 3
OLD_KEY = "previous-endpoint-secret-" + "0123456789abcdef" * 3
OTHER_KEY = "not-the-endpoint-secret-" + "0123456789abcdef" * 3
SECRET_ID = "dynabench/model-endpoint"
METHOD_ARN = "arn:aws:execute-api:us-west-1:123456789012:abcdef1234/predict/POST/"


def token(claims=None, key=KEY, algorithm="HS256", expires_in=600):
    """A token as Dynabench's get_token makes it (api/common/auth.py): HS256, with exp."""
    claims = {"id": 42, "username": "alice"} if claims is None else dict(claims)
    if expires_in is not None:
        claims["exp"] = int(time.time()) + expires_in
    return jwt.encode(claims, key, algorithm=algorithm)


def unsigned_token(claims):
    """A token with ``alg: none`` and no signature, built by hand."""

    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def allowed(principal_id):
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}
            ],
        },
    }


def call(header, method_arn=METHOD_ARN):
    event = {"type": "TOKEN", "authorizationToken": header, "methodArn": method_arn}
    return authorizer.handler(event, None)


class CapturedLogs(logging.Handler):
    """Every record at DEBUG and above, formatted with its traceback, as one text."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))

    @property
    def text(self):
        return "\n".join(self.lines)


@contextmanager
def captured_logs():
    """All logging at DEBUG, as the function would log with its log level set to DEBUG."""
    root = logging.getLogger()
    handler, level = CapturedLogs(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class AuthorizerTest(unittest.TestCase):
    def setUp(self):
        authorizer._cache.update(keys=(), until=0.0)
        self.stubber = Stubber(authorizer.SECRETS)
        self.stubber.activate()
        self.addCleanup(self.stubber.deactivate)

    def expect_secret(self, value):
        """One GetSecretValue of the configured secret, answering ``value`` (JSON-encoded
        unless it is a string already)."""
        text = value if isinstance(value, str) else json.dumps(value)
        self.stubber.add_response(
            "get_secret_value",
            {
                "ARN": f"arn:aws:secretsmanager:us-west-1:123456789012:secret:{SECRET_ID}-AbCdEf",
                "Name": SECRET_ID,
                "SecretString": text,
            },
            {"SecretId": SECRET_ID},
        )

    def assert_refused(self, header, method_arn=METHOD_ARN):
        with self.assertRaises(Exception) as caught:
            call(header, method_arn)
        self.assertIs(type(caught.exception), Exception)
        self.assertEqual(str(caught.exception), "Unauthorized")
        # Nothing chained: the runtime's traceback shows no PyJWT message.
        self.assertIsNone(caught.exception.__cause__)
        self.assertTrue(caught.exception.__suppress_context__)

    def test_dynabench_tokens_are_allowed_with_their_user_as_principal(self):
        self.expect_secret({"endpointSecret": KEY})
        # Legacy API login token, its trial token, the new backend's login token.
        self.assertEqual(call("Bearer " + token()), allowed("42"))
        self.assertEqual(call("Bearer " + token({"username": "temp_user"})), allowed("temp_user"))
        self.assertEqual(call("Bearer " + token({"id": 7})), allowed("7"))
        # The scheme is case-insensitive, as in Dynabench's jwt_token_from_header.
        self.assertEqual(call("bearer " + token()), allowed("42"))
        self.stubber.assert_no_pending_responses()

    def test_the_key_is_read_from_the_stacks_entry_when_named(self):
        # nodectl's layout: {"<api stack>": {"endpointSecret": ...}}, ENDPOINT_SECRET_ENTRY set.
        with mock.patch.dict(os.environ, {"ENDPOINT_SECRET_ENTRY": "dynabench-nli-api"}):
            self.expect_secret({"dynabench-nli-api": {"endpointSecret": KEY}})
            self.assertEqual(call("Bearer " + token()), allowed("42"))
            authorizer._cache.update(keys=(), until=0.0)
            self.expect_secret({"endpointSecret": KEY})
            with self.assertRaises(RuntimeError) as caught:
                call("Bearer " + token())
            self.assertIn("dynabench-nli-api.'endpointSecret'", str(caught.exception))
            self.assertNotIn(KEY, str(caught.exception))

    def test_both_keys_of_a_rotation_are_accepted(self):
        self.expect_secret({"endpointSecret": [KEY, OLD_KEY]})
        self.assertEqual(call("Bearer " + token(key=OLD_KEY)), allowed("42"))
        self.assertEqual(call("Bearer " + token(key=KEY)), allowed("42"))
        self.assert_refused("Bearer " + token(key=OTHER_KEY))

    def test_bad_tokens_are_unauthorized(self):
        self.expect_secret({"endpointSecret": KEY})
        good = token()
        header, payload, signature = good.split(".")
        tampered_claims = (
            base64.urlsafe_b64encode(
                json.dumps({"id": 1, "username": "admin", "exp": int(time.time()) + 600}).encode()
            )
            .rstrip(b"=")
            .decode()
        )
        cases = {
            "expired": "Bearer " + token(expires_in=-60),
            "bad signature": "Bearer " + token(key=OTHER_KEY),
            "tampered payload": f"Bearer {header}.{tampered_claims}.{signature}",
            "HS512 with the right key": "Bearer " + token(algorithm="HS512"),
            "HS384 with the right key": "Bearer " + token(algorithm="HS384"),
            "alg none": "Bearer " + unsigned_token({"id": 42, "exp": int(time.time()) + 600}),
            "alg none, signature kept": "Bearer "
            + unsigned_token({"id": 42, "exp": int(time.time()) + 600})
            + signature,
            "no exp": "Bearer " + token(expires_in=None),
            "not yet valid": "Bearer " + token({"id": 42, "nbf": int(time.time()) + 600}),
            "no id or username": "Bearer " + token({"role": "admin"}),
            "missing Bearer": good,
            "other scheme": "Basic " + good,
            "Bearer alone": "Bearer",
            "three parts": f"Bearer {good} extra",
            "empty": "",
            "absent": None,
            "not a JWT": "Bearer not-a-jwt",
            "malformed JWT": "Bearer a.b.c",
            "Dynabench's mturk header": "turk",
            "Dynabench's anonymous header": "None",
        }
        for name, value in cases.items():
            with self.subTest(name):
                self.assert_refused(value)
        with self.subTest("no methodArn"):
            self.assert_refused("Bearer " + good, method_arn=None)
        self.stubber.assert_no_pending_responses()

    def test_the_secret_is_read_once_then_again_after_the_ttl(self):
        # One answer queued: a second read would fail with UnStubbedResponseError.
        self.expect_secret({"endpointSecret": KEY})
        with mock.patch.object(authorizer.time, "monotonic", return_value=1000.0) as clock:
            self.assertEqual(call("Bearer " + token()), allowed("42"))
            clock.return_value = 1000.0 + authorizer.CACHE_SECONDS - 1
            self.assertEqual(call("Bearer " + token()), allowed("42"))
            self.stubber.assert_no_pending_responses()
            self.expect_secret({"endpointSecret": OTHER_KEY})  # rotated meanwhile
            clock.return_value = 1000.0 + authorizer.CACHE_SECONDS + 1
            self.assert_refused("Bearer " + token())
            self.assertEqual(call("Bearer " + token(key=OTHER_KEY)), allowed("42"))
        self.stubber.assert_no_pending_responses()

    def test_a_missing_or_malformed_secret_is_a_configuration_error(self):
        self.stubber.add_client_error(
            "get_secret_value",
            "ResourceNotFoundException",
            "Secrets Manager can't find it.",
            400,
            expected_params={"SecretId": SECRET_ID},
        )
        with self.assertRaises(ClientError):
            call("Bearer " + token())
        bad_values = [
            "not json " + KEY,
            {"otherField": KEY},
            {"endpointSecret": ""},
            {"endpointSecret": []},
            {"endpointSecret": [KEY, 3]},
            {"endpointSecret": {"key": KEY}},
        ]
        for value in bad_values:
            with self.subTest(value=value):
                self.expect_secret(value)
                with self.assertRaises(RuntimeError) as caught:
                    call("Bearer " + token())
                self.assertIn("endpointSecret", str(caught.exception))
                self.assertNotIn(KEY, str(caught.exception))
        self.stubber.assert_no_pending_responses()

    def test_neither_token_nor_secret_reaches_the_log(self):
        self.expect_secret({"endpointSecret": KEY})
        good, expired, forged = token(), token(expires_in=-60), token(key=OTHER_KEY)
        with captured_logs() as logs:
            call("Bearer " + good)
            for header in ("Bearer " + expired, "Bearer " + forged, good, "Bearer x.y.z"):
                with self.assertRaisesRegex(Exception, "^Unauthorized$"):
                    call(header)
        self.assertIn("allowed principal 42", logs.text)
        self.assertEqual(logs.text.count("denied: "), 4, logs.text)
        for secret in (KEY, OTHER_KEY, good, expired, forged, good.split(".")[2]):
            self.assertNotIn(secret, logs.text)


class _Raw:
    """The raw HTTP body botocore reads (``AWSResponse.raw.stream()``)."""

    def __init__(self, body):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


class SecretResponseLoggingTest(unittest.TestCase):
    """botocore logs whole response bodies at DEBUG; the Stubber skips that parser, so this
    answers GetSecretValue through a ``before-send`` handler, as if it came over HTTP."""

    def setUp(self):
        authorizer._cache.update(keys=(), until=0.0)
        body = json.dumps({"Name": SECRET_ID, "SecretString": json.dumps({"endpointSecret": KEY})})

        def answer(request, **kwargs):
            headers = {"x-amzn-RequestId": "1", "Content-Type": "application/x-amz-json-1.1"}
            return AWSResponse(request.url, 200, headers, _Raw(body.encode()))

        events = authorizer.SECRETS.meta.events
        events.register("before-send.secrets-manager.GetSecretValue", answer)
        self.addCleanup(events.unregister, "before-send.secrets-manager.GetSecretValue", answer)

    def read_secret_with_logs(self):
        authorizer._cache.update(keys=(), until=0.0)
        with captured_logs() as logs:
            self.assertEqual(call("Bearer " + token()), allowed("42"))
        return logs.text

    def test_the_secret_response_is_not_logged_at_debug(self):
        text = self.read_secret_with_logs()
        self.assertIn("botocore", text, "botocore logged at DEBUG")
        self.assertNotIn(KEY, text)

    def test_without_the_guard_it_would_be(self):
        parsers = logging.getLogger("botocore.parsers")
        self.addCleanup(parsers.setLevel, parsers.level)
        parsers.setLevel(logging.NOTSET)
        self.assertIn(KEY, self.read_secret_with_logs())


if __name__ == "__main__":
    unittest.main()
