"""invoker.py: the InvokeEndpoint call, input validation and the error prefixes."""

import io
import json
import re
import unittest

from botocore.response import StreamingBody
from botocore.stub import Stubber

import invoker

ENDPOINT = "ts1643060001-newbertvfourteen"  # the runbook's example (instructions.md)
DATA = {"context": "The sky is blue.", "hypothesis": "The sky is green.", "uid": "0"}


def body(payload):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def selected(message):
    """The status codes whose selectionPattern matches a Lambda errorMessage. API Gateway
    matches Java regexes against the whole message; the patterns give the same answer if
    only a part had to match (``re.search``), which this checks too."""
    whole = [s for s, p in invoker.SELECTION_PATTERNS.items() if re.fullmatch(p, message or "")]
    part = [s for s, p in invoker.SELECTION_PATTERNS.items() if re.search(p, message or "")]
    assert whole == part, (message, whole, part)
    return whole


class InvokerTest(unittest.TestCase):
    def setUp(self):
        self.stubber = Stubber(invoker.RUNTIME)
        self.stubber.activate()
        self.addCleanup(self.stubber.deactivate)

    def expected(self, model=ENDPOINT, data=DATA):
        return {"EndpointName": model, "ContentType": "application/json", "Body": json.dumps(data)}

    def test_the_request_body_goes_to_the_named_endpoint_and_its_json_comes_back(self):
        answer = {"label": "contradiction", "prob": {"entailed": 0.1, "contradictory": 0.9}}
        self.stubber.add_response(
            "invoke_endpoint",
            {"Body": body(answer), "ContentType": "application/json"},
            self.expected(),
        )
        self.assertEqual(invoker.handler({"data": DATA, "model": ENDPOINT}, None), answer)
        self.stubber.assert_no_pending_responses()

    def test_endpoint_names_at_the_limits_are_accepted(self):
        for model in ("a" * 63, "a--b", "7", "A1-b2"):
            with self.subTest(model):
                self.stubber.add_response(
                    "invoke_endpoint", {"Body": body({"ok": True})}, self.expected(model=model)
                )
                answer = invoker.handler({"data": DATA, "model": model}, None)
                self.assertEqual(answer, {"ok": True})
        self.stubber.assert_no_pending_responses()

    def test_a_bad_endpoint_name_or_body_is_a_bad_request_without_any_call(self):
        # Nothing is stubbed: a call to SageMaker would fail with UnStubbedResponseError.
        names = [
            "",
            "a" * 64,
            "-abc",
            "abc-",
            "a_b",
            "a b",
            "a.b",
            "ab\n",
            'x","data":{}',
            None,
            123,
            ["a"],
        ]
        events = [{"data": DATA, "model": name} for name in names] + [
            {"data": DATA},
            {"data": [1, 2], "model": ENDPOINT},
            {"data": "text", "model": ENDPOINT},
            {"model": ENDPOINT},
            None,
            "not an event",
        ]
        for event in events:
            with self.subTest(event=event):
                with self.assertRaises(invoker.BadRequest) as caught:
                    invoker.handler(event, None)
                self.assertTrue(str(caught.exception).startswith("BadRequest: "))
                self.assertEqual(selected(str(caught.exception)), ["400"])

    def test_a_sagemaker_model_error_is_a_model_error_without_the_models_text(self):
        self.stubber.add_client_error(
            "invoke_endpoint",
            service_error_code="ModelError",
            service_message="Received client error (400) from primary with message "
            '"Traceback ... KeyError: hypothesis"',
            http_status_code=424,
            expected_params=self.expected(),
            modeled_fields={
                "OriginalStatusCode": 400,
                "OriginalMessage": "Traceback ... KeyError: hypothesis",
                "LogStreamArn": "arn:aws:logs:us-west-1:123456789012:log-group:/aws/sagemaker/"
                f"Endpoints/{ENDPOINT}",
            },
        )
        with self.assertLogs("invoker", "WARNING") as logs:
            with self.assertRaises(invoker.ModelError) as caught:
                invoker.handler({"data": DATA, "model": ENDPOINT}, None)
        # The error code only: not the model's message, which may echo the input.
        logged = f"WARNING:invoker:InvokeEndpoint {ENDPOINT} failed: ModelError"
        self.assertEqual(logs.output, [logged])
        message = str(caught.exception)
        self.assertEqual(message, f"ModelError: the model of endpoint {ENDPOINT} answered 400")
        self.assertEqual(selected(message), ["502"])
        self.assertIsNone(caught.exception.__cause__)

    def test_a_missing_endpoint_is_a_model_error_without_the_account(self):
        self.stubber.add_client_error(
            "invoke_endpoint",
            service_error_code="ValidationError",
            service_message=f"Endpoint {ENDPOINT} of account 123456789012 not found.",
            http_status_code=400,
            expected_params=self.expected(),
        )
        with self.assertLogs("invoker", "WARNING"):
            with self.assertRaises(invoker.ModelError) as caught:
                invoker.handler({"data": DATA, "model": ENDPOINT}, None)
        self.assertNotIn("123456789012", str(caught.exception))
        self.assertEqual(selected(str(caught.exception)), ["502"])

    def test_an_answer_that_is_not_json_is_a_model_error(self):
        self.stubber.add_response(
            "invoke_endpoint", {"Body": body(b"<html>oops</html>")}, self.expected()
        )
        with self.assertRaises(invoker.ModelError):
            invoker.handler({"data": DATA, "model": ENDPOINT}, None)

    def test_other_failures_are_server_errors(self):
        for code, status in (
            ("ThrottlingException", 400),
            ("InternalFailure", 500),
            ("ServiceUnavailable", 503),
            ("AccessDeniedException", 400),
        ):
            with self.subTest(code):
                self.stubber.add_client_error(
                    "invoke_endpoint", code, "no", status, expected_params=self.expected()
                )
                with self.assertLogs("invoker", "WARNING"):
                    with self.assertRaises(invoker.ServerError) as caught:
                        invoker.handler({"data": DATA, "model": ENDPOINT}, None)
                self.assertEqual(selected(str(caught.exception)), ["500"])

    def test_the_selection_patterns_are_exclusive_and_leave_success_to_the_default(self):
        self.assertEqual(selected(None), [])  # a success has no errorMessage
        self.assertEqual(selected("BadRequest: x"), ["400"])
        self.assertEqual(selected("ModelError: x\nmore"), ["502"])
        self.assertEqual(selected("oops: BadRequest: x"), ["500"])
        self.assertEqual(
            selected("2026-01-01T00:00:00Z abc Task timed out after 3.00 seconds"), ["500"]
        )
        self.assertEqual(selected("ServerError: x"), ["500"])


if __name__ == "__main__":
    unittest.main()
