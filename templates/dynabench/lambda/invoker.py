"""``POST /?model=<endpoint>`` of a Dynabench task owner's model gateway: one SageMaker call.

API Gateway runs it through a non-proxy Lambda integration whose request template builds
``{"data": <request JSON body>, "model": "<query parameter model>"}`` (mlcommons/dynabench @
e1394ce3, api/evaluation/instructions.md lines 347-349). The model URL that Dynabench stores
is ``<gateway_url>?model=<SageMaker endpoint name>`` (api/builder/utils/deployer.py line 419),
and the web client POSTs the example as a JSON object (frontends/web/src/common/ApiService.js
lines 437-452). This calls ``InvokeEndpoint(EndpointName=model,
ContentType="application/json", Body=json.dumps(data))`` and returns the endpoint's JSON
answer, which the integration passes on unchanged (``$input.json("$")``).

Errors are raised with a message prefix that the integration's responses select on
(``selectionPattern``, a Java regex matched against the Lambda error's ``errorMessage``):

- ``BadRequest: ...`` -> 400: no valid endpoint name, or data that is not a JSON object;
- ``ModelError: ...`` -> 502: SageMaker's ``ModelError`` (the model container answered
  4xx/5xx), its ``ValidationError`` (no such endpoint, or not in service), or an answer
  that is not JSON;
- ``ServerError: ...`` -> 500: any other SageMaker or SDK failure (throttling,
  ``InternalFailure``, ``ServiceUnavailable``, access denied). Its pattern is a catch-all
  that also takes what the runtime reports without a prefix (a timeout).

``SELECTION_PATTERNS`` below holds the three regexes for the template.

The messages name the endpoint and SageMaker's error code, never the request data, the
model's own error text or the account (SageMaker's ``ValidationError`` message names it).

Environment: none (the region is the function's). IAM: ``sagemaker:InvokeEndpoint`` on
``arn:aws:sagemaker:<region>:<account>:endpoint/<name>`` for the task's endpoints.
"""

import json
import logging
import re

import boto3
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger(__name__)

# SageMaker's EndpointName: at most 63 characters of this pattern (the sagemaker-runtime
# service model, botocore/data/sagemaker-runtime/2017-05-13/service-2.json.gz, shape
# EndpointName; SageMaker API Reference, CreateEndpoint).
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
ENDPOINT_NAME_MAX = 63

# The integration responses of the POST method: status code -> selectionPattern. Every
# error message matches exactly one, whether the regex must match the whole message or only
# a part of it (anchored; (?s): a message may span lines); a success (no errorMessage)
# matches none and takes the default (200) response.
SELECTION_PATTERNS = {
    "400": r"(?s)^BadRequest: .*",
    "502": r"(?s)^ModelError: .*",
    "500": r"(?s)^(?!BadRequest: |ModelError: ).+",
}

RUNTIME = boto3.client("sagemaker-runtime")


class BadRequest(Exception):
    """The request cannot name a model or carry its input (400)."""

    def __init__(self, detail):
        super().__init__(f"BadRequest: {detail}")


class ModelError(Exception):
    """The endpoint or its model failed to answer (502)."""

    def __init__(self, detail):
        super().__init__(f"ModelError: {detail}")


class ServerError(Exception):
    """Anything else on the way to SageMaker (500)."""

    def __init__(self, detail):
        super().__init__(f"ServerError: {detail}")


def endpoint_name(event):
    """The ``model`` of the event, if it is a valid SageMaker endpoint name."""
    model = event.get("model") if isinstance(event, dict) else None
    if (
        not isinstance(model, str)
        or len(model) > ENDPOINT_NAME_MAX
        or not ENDPOINT_NAME.fullmatch(model)
    ):
        raise BadRequest(
            "query parameter 'model' must be a SageMaker endpoint name "
            "(1-63 letters, digits and inner hyphens)"
        )
    return model


def invoke(model, data):
    """The endpoint's JSON answer to ``data``."""
    try:
        response = RUNTIME.invoke_endpoint(
            EndpointName=model, ContentType="application/json", Body=json.dumps(data)
        )
        body = response["Body"].read()
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        LOG.warning("InvokeEndpoint %s failed: %s", model, code)
        if code == "ModelError":
            status = err.response.get("OriginalStatusCode", "unknown")
            raise ModelError(f"the model of endpoint {model} answered {status}") from None
        if code == "ValidationError":
            raise ModelError(f"endpoint {model} does not exist or is not in service") from None
        raise ServerError(f"InvokeEndpoint {model} failed: {code or 'unknown error'}") from None
    except BotoCoreError as err:
        LOG.warning("InvokeEndpoint %s failed: %s", model, type(err).__name__)
        raise ServerError(f"InvokeEndpoint {model} failed: {type(err).__name__}") from None
    try:
        return json.loads(body)
    except ValueError:
        raise ModelError(f"endpoint {model} answered something that is not JSON") from None


def handler(event, context):
    """Lambda entry point (``invoker.handler``)."""
    model = endpoint_name(event)
    data = event.get("data")
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return invoke(model, data)
