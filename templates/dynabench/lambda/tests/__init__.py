"""Unit tests of the Dynabench Lambda handlers, offline.

Imported before any test module (``python -m unittest discover -s tests -t .`` from
``templates/dynabench/lambda``), so before the handlers create their boto3 clients:

- a region and dummy credentials in the environment, and no shared config or credentials
  file, so that boto3 looks nothing up (no profile, no instance metadata);
- botocore's HTTP sender replaced by one that fails the test: every AWS answer comes from a
  ``botocore.stub.Stubber`` (or a ``before-send`` handler), and a call that nothing stubs
  raises instead of reaching the network.
"""

import os

os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-west-1",
        "AWS_REGION": "us-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "ENDPOINT_SECRET_ID": "dynabench/model-endpoint",
    }
)
for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "ALLOWED_ORIGIN"):
    os.environ.pop(name, None)

import botocore.httpsession  # noqa: E402 (after the environment, on purpose)


def _no_network(self, request):
    raise AssertionError(f"a unit test tried to reach the network: {request.method} {request.url}")


botocore.httpsession.URLLib3Session.send = _no_network
