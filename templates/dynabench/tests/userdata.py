"""The server's user data as nodectl renders it, for the tests (stdlib only).

A Python copy of what src/template/mod.rs does to an inserted script (read-only reference):
``# nodectl:include <file>`` lines replaced by the file of templates/dynabench/ or
templates/shared/, ``# nodectl:include-gzip <file>`` by the file gzip-compressed and
base64-encoded on one line, then comment lines dropped (``strip_comments``: not the shebang,
``# shellcheck`` directives, ``# ---`` part markers or heredoc lines). ``rendered`` then applies
CloudFormation's Fn::Sub with test values, as tests/userdata.rs does.

The gzip here is Python's (zlib), nodectl's is flate2's: the compressed bytes, so the size, can
differ by a few bytes.
"""

import base64
import gzip
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
BLUEPRINT = os.path.dirname(HERE)
TEMPLATES = os.path.dirname(BLUEPRINT)
SHARED = os.path.join(TEMPLATES, "shared")
SCRIPT = os.path.join(BLUEPRINT, "user-data.sh")

INCLUDE = "# nodectl:include "
INCLUDE_GZIP = "# nodectl:include-gzip "
# EC2's limit on user data before base64 encoding (src/template/mod.rs USER_DATA_LIMIT).
USER_DATA_LIMIT = 16 * 1024
PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}

STACK = "dynabench-server-sentiment"
REGION = "us-west-1"
COMMIT = "e1394ce39d3dc8924fd9b65661dfeddc1b7357a0"

# Realistic values of every name the user data's Fn::Sub uses (server.json's parameters and
# the variable map), the longest plausible ones where it matters for the size.
VALUES = {
    "AWS::StackName": STACK,
    "AWS::Region": REGION,
    "TaskCode": "sentiment",
    "DynabenchApiUrl": "https://api.dynabench.org",
    "BuildQueueName": "dev-build",
    "EvalQueueName": "dev-eval",
    "ModelBucketName": "dynabench-task-sentiment-modelbucket-1a2b3c4d5e6f7",
    "DatasetBucketName": "dynabench-task-sentiment-datasetbucket-1a2b3c4d5e6f7",
    "SageMakerRoleArn": "arn:aws:iam::123456789012:role/dynabench-task-sentiment-SageMakerRole-1A2B3C4D5E6F",
    "SagemakerRegion": "",
    "GatewayUrl": "https://abcde12345.execute-api.us-west-1.amazonaws.com/predict",
    "MaxSubmission": "20",
    "EvalServerId": "default",
    "ComputeMetricProcesses": "1",
    "CodeRepository": "https://github.com/mlcommons/dynabench.git",
    "CodeCommit": COMMIT,
    "LogGroupName": "/nodectl/" + STACK + "/dynabench",
}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def gzip_base64(data):
    """gzip level 9, modification time 0, no file name; base64 on one line."""
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")


def included(name):
    own = os.path.join(BLUEPRINT, name)
    return read(own if os.path.exists(own) else os.path.join(SHARED, name))


def expand_includes(text):
    out = []
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip()
        if stripped.startswith(INCLUDE_GZIP):
            out.append(gzip_base64(included(stripped[len(INCLUDE_GZIP):]).encode()) + "\n")
        elif stripped.startswith(INCLUDE):
            body = included(stripped[len(INCLUDE):])
            out.append(body if body.endswith("\n") else body + "\n")
        else:
            out.append(line)
    return "".join(out)


def strip_comments(script):
    out, heredoc = [], None
    for index, line in enumerate(script.splitlines(keepends=True)):
        trimmed = line.strip()
        if heredoc is not None:
            if trimmed == heredoc:
                heredoc = None
            out.append(line)
            continue
        shebang = index == 0 and trimmed.startswith("#!")
        if (
            trimmed.startswith("#")
            and not shebang
            and not trimmed.startswith("# shellcheck")
            and not trimmed.startswith("# ---")
        ):
            continue
        at = line.find("<<")
        if at >= 0 and not line[at:].startswith("<<<"):
            rest = line[at + 2:].lstrip("-").lstrip().strip("'\"")
            marker = re.match(r"[A-Za-z0-9_]*", rest).group(0)
            if marker:
                heredoc = marker
        out.append(line)
    return "".join(out)


def script():
    """user-data.sh as nodectl inserts it into server.json (before Fn::Sub)."""
    return strip_comments(expand_includes(read(SCRIPT)))


def names(text):
    """Every ${Name} of an Fn::Sub text, in order."""
    found = re.findall(r"\$\{([^}]*)\}", text)
    for name in found:
        if name.startswith("!"):
            raise AssertionError("Fn::Sub escape ${%s}: LocalStack rejects it" % name)
    return found


def substitute(text, values):
    def one(match):
        name = match.group(1)
        if name not in values:
            raise KeyError("the user data uses ${%s}, which the test has no value for" % name)
        return values[name]

    return re.sub(r"\$\{([^}]*)\}", one, text)


def rendered(values=None):
    """The user data as the instance receives it."""
    return substitute(script(), dict(VALUES, **(values or {})))


def part(name, values=None):
    """The rendered text from ``# --- begin <name>`` to ``# --- end <name>``."""
    text = rendered(values)
    begin = text.index("# --- begin " + name)
    end = text.index("# --- end " + name)
    return text[begin:end]


def template(name):
    return json.loads(read(os.path.join(BLUEPRINT, name)))


def provided_names():
    """The names server.json gives the user data's Fn::Sub."""
    server = template("server.json")
    sub = server["Resources"]["Instance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    return set(server["Parameters"]) | set(sub[1]) | PSEUDO_PARAMETERS


def rendered_template():
    """server.json with the user data inserted, as nodectl renders it (no defaults filled)."""
    server = template("server.json")
    instance = server["Resources"]["Instance"]
    for insert in instance["Metadata"]["nodectl"].pop("insert"):
        assert insert["file"] == "user-data.sh"
        keys = insert["at"].split("/")
        slot = instance
        for key in keys[:-1]:
            slot = slot[key]
        slot[int(keys[-1]) if isinstance(slot, list) else keys[-1]] = script()
    if not instance["Metadata"]["nodectl"]:
        del instance["Metadata"]["nodectl"]
    if not instance["Metadata"]:
        del instance["Metadata"]
    return server


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--template"]:
        print(json.dumps(rendered_template(), indent=2))
    else:
        data = rendered().encode()
        print("rendered user data: %d bytes (%d left of %d)" % (len(data), USER_DATA_LIMIT - len(data), USER_DATA_LIMIT))
