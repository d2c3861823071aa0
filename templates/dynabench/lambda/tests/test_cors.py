"""cors.py: the preflight answer."""

import os
import unittest
from unittest import mock

import cors

# The values of the gateway responses in the task owner's OpenAPI document
# (mlcommons/dynabench @ e1394ce3, api/evaluation/instructions.md lines 428-465).
EXPECTED = {
    "Access-Control-Allow-Origin": "https://dynabench.org",
    "Access-Control-Allow-Methods": "OPTIONS,POST",
    "Access-Control-Allow-Headers": "Content-Type,X-Amz-Date,Authorization,X-Api-Key,"
    "X-Amz-Security-Token",
    "Access-Control-Allow-Credentials": "true",
}
PREFLIGHT = {
    "httpMethod": "OPTIONS",
    "path": "/",
    "queryStringParameters": {"model": "ts1643060001-newbertvfourteen"},
    "headers": {"Origin": "https://dynabench.org", "Access-Control-Request-Method": "POST"},
}


class CorsTest(unittest.TestCase):
    def test_the_preflight_allows_dynabench_by_default(self):
        with mock.patch.dict(os.environ):
            os.environ.pop("ALLOWED_ORIGIN", None)
            self.assertEqual(
                cors.handler(PREFLIGHT, None), {"statusCode": 200, "headers": EXPECTED, "body": ""}
            )

    def test_the_allowed_origin_is_configurable(self):
        with mock.patch.dict(os.environ, {"ALLOWED_ORIGIN": "https://dev.dynabench.org"}):
            answer = cors.handler(PREFLIGHT, None)
        expected = {**EXPECTED, "Access-Control-Allow-Origin": "https://dev.dynabench.org"}
        self.assertEqual(answer["headers"], expected)

    def test_the_answer_does_not_depend_on_the_request(self):
        other = {**PREFLIGHT, "headers": {"Origin": "https://evil.example"}}
        self.assertEqual(cors.handler(other, None), cors.handler(PREFLIGHT, None))
        self.assertEqual(cors.handler({}, None), cors.handler(PREFLIGHT, None))


if __name__ == "__main__":
    unittest.main()
