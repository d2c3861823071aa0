"""``OPTIONS /`` of a Dynabench task owner's model gateway: the CORS preflight answer.

A Lambda proxy integration (``aws_proxy``), as in the task owner's OpenAPI document
(mlcommons/dynabench @ e1394ce3, api/evaluation/instructions.md lines 355-401), so the
function returns the whole HTTP response: 200 with the four headers that document declares.
Their values are those of its gateway responses (lines 428-465): methods ``OPTIONS,POST``,
credentials ``true``, and the request headers API Gateway and the Dynabench web client use
(the client sends ``Accept``, ``Content-Type`` and ``Authorization``, with credentials:
frontends/web/src/common/ApiService.js lines 990-1010).

With credentials allowed, the origin must be one origin, not ``*`` (Fetch standard, CORS
protocol): ``ALLOWED_ORIGIN``, by default ``https://dynabench.org`` (the origin of the
document's gateway responses). No AWS call, so no IAM permission beyond logging.
"""

import os

DEFAULT_ORIGIN = "https://dynabench.org"
ALLOWED_HEADERS = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"


def headers():
    """The CORS headers of the preflight answer."""
    return {
        "Access-Control-Allow-Origin": os.environ.get("ALLOWED_ORIGIN") or DEFAULT_ORIGIN,
        "Access-Control-Allow-Methods": "OPTIONS,POST",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Allow-Credentials": "true",
    }


def handler(event, context):
    """Lambda entry point (``cors.handler``): the same answer whatever the request."""
    return {"statusCode": 200, "headers": headers(), "body": ""}
