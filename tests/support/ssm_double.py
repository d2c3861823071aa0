#!/usr/bin/env python3
"""A test double of AWS Systems Manager for nodectl's tests, on 127.0.0.1 only.

Neither moto nor LocalStack runs an SSM command (both answer Success with empty output for any
script, any document and even a missing instance; DescribeInstanceInformation is 500/501 on
both), so the day-2 commands are tested against this double instead. It speaks the SSM JSON 1.1
protocol (X-Amz-Target: AmazonSSM.<Operation>) for the calls nodectl makes, as the AWS Systems
Manager API Reference describes them:

- SendCommand (document AWS-RunShellScript only): runs the `commands` lines for real, as one
  bash script, in the sandbox directory, with the sandbox's `bin/` first on PATH (stub docker,
  systemctl, journalctl, curl, tail that print recorded, real-format output) and the
  `executionTimeout` parameter enforced (exit code 124 and status TimedOut, as the agent does).
- GetCommandInvocation: InvocationDoesNotExist on the first call for a command (real SSM
  answers so for a moment after SendCommand), then InProgress until the script ends, then
  Success or Failed with ResponseCode = the exit code; StandardOutputContent cut at 24,000
  characters and StandardErrorContent at 8,000, as the API reference documents.
- DescribeInstanceInformation (filter InstanceIds): PingStatus from `state/ping-<instance>` in
  the sandbox, else Online.
- CancelCommand: kills the script.
- Any other operation (GetParameter: the latest AMI at deploy time) is forwarded as it is to
  `--forward` (the emulator that plays the rest of AWS), so that the double stands in for SSM's
  Run Command only.

What it cannot show: the real agent's environment (root on Amazon Linux, the instance's files:
the stub `tail` maps /var/log into the sandbox), S3 output, rate limits, IAM. Every request is
appended to `requests.log` in the sandbox (operation and instance) for the tests to read.

Usage: ssm_double.py --port PORT --sandbox DIR [--forward http://127.0.0.1:PORT]
"""

import argparse
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STDOUT_LIMIT = 24000
STDERR_LIMIT = 8000


class Command:
    def __init__(self, command_id, instance_id, script, timeout, sandbox):
        self.id = command_id
        self.instance_id = instance_id
        self.asked = 0
        self.status = "InProgress"
        self.code = -1
        self.stdout = ""
        self.stderr = ""
        self.started = time.time()
        env = {
            "PATH": os.path.join(sandbox, "bin") + ":/usr/local/bin:/usr/bin:/bin",
            "SANDBOX": sandbox,
            "HOME": sandbox,
            "LANG": "C.UTF-8",
        }
        self.process = subprocess.Popen(
            ["bash", "-c", script],
            cwd=sandbox,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.timeout = timeout
        threading.Thread(target=self.wait, daemon=True).start()

    def wait(self):
        try:
            out, err = self.process.communicate(timeout=self.timeout)
            code = self.process.returncode
            status = "Success" if code == 0 else "Failed"
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            out, err = self.process.communicate()
            code, status = 124, "TimedOut"
        if self.status == "Cancelled":
            return
        self.stdout = out.decode("utf-8", "replace")
        self.stderr = err.decode("utf-8", "replace")
        self.code = code
        self.status = status

    def cancel(self):
        if self.status == "InProgress":
            self.status = "Cancelled"
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Double:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.commands = {}
        self.lock = threading.Lock()

    def log(self, operation, detail):
        with self.lock, open(os.path.join(self.sandbox, "requests.log"), "a") as log:
            log.write(f"{operation} {detail}\n")

    def ping(self, instance_id):
        path = os.path.join(self.sandbox, "state", f"ping-{instance_id}")
        if os.path.exists(path):
            return open(path).read().strip()
        return "Online"

    def send_command(self, body):
        if body.get("DocumentName") != "AWS-RunShellScript":
            return error(400, "InvalidDocument", "only AWS-RunShellScript is modelled")
        instances = body.get("InstanceIds") or []
        if len(instances) != 1:
            return error(400, "InvalidInstanceId", "one instance id is modelled")
        instance_id = instances[0]
        if self.ping(instance_id) != "Online":
            return error(
                400,
                "InvalidInstanceId",
                "Instances [[%s]] not in a valid state for account 000000000000" % instance_id,
            )
        params = body.get("Parameters") or {}
        lines = params.get("commands") or []
        timeout = int((params.get("executionTimeout") or ["3600"])[0])
        command_id = str(uuid.uuid4())
        self.log("SendCommand", f"{instance_id} {json.dumps(lines)}")
        command = Command(command_id, instance_id, "\n".join(lines), timeout, self.sandbox)
        with self.lock:
            self.commands[command_id] = command
        return 200, {
            "Command": {
                "CommandId": command_id,
                "DocumentName": "AWS-RunShellScript",
                "InstanceIds": [instance_id],
                "Status": "Pending",
                "Parameters": params,
            }
        }

    def get_command_invocation(self, body):
        command = self.commands.get(body.get("CommandId"))
        if command is None or command.instance_id != body.get("InstanceId"):
            return error(400, "InvocationDoesNotExist", "")
        command.asked += 1
        self.log("GetCommandInvocation", f"{command.instance_id} {command.status}")
        if command.asked == 1:
            return error(400, "InvocationDoesNotExist", "")
        finished = command.status != "InProgress"
        return 200, {
            "CommandId": command.id,
            "InstanceId": command.instance_id,
            "DocumentName": "AWS-RunShellScript",
            "PluginName": "aws:runShellScript",
            "ResponseCode": command.code,
            "Status": command.status,
            "StatusDetails": command.status,
            "StandardOutputContent": command.stdout[:STDOUT_LIMIT] if finished else "",
            "StandardErrorContent": command.stderr[:STDERR_LIMIT] if finished else "",
        }

    def describe_instance_information(self, body):
        ids = []
        for entry in body.get("Filters") or body.get("InstanceInformationFilterList") or []:
            if entry.get("Key") in ("InstanceIds", "InstanceIds".lower()):
                ids.extend(entry.get("Values") or entry.get("valueSet") or [])
        self.log("DescribeInstanceInformation", " ".join(ids))
        infos = []
        for instance_id in ids:
            ping = self.ping(instance_id)
            if ping == "Absent":
                continue
            infos.append(
                {
                    "InstanceId": instance_id,
                    "PingStatus": ping,
                    "LastPingDateTime": time.time() - 30,
                    "AgentVersion": "3.3.1142.0",
                    "PlatformType": "Linux",
                    "PlatformName": "Amazon Linux",
                    "PlatformVersion": "2023",
                    "ResourceType": "EC2Instance",
                }
            )
        return 200, {"InstanceInformationList": infos}

    def cancel_command(self, body):
        command = self.commands.get(body.get("CommandId"))
        if command is None:
            return error(400, "InvalidCommandId", "")
        self.log("CancelCommand", command.instance_id)
        command.cancel()
        return 200, {}


def error(status, code, message):
    return status, {"__type": code, "message": message}


def forward(upstream, path, headers, body):
    request = urllib.request.Request(upstream + path, data=body, method="POST")
    for name, value in headers.items():
        if name.lower() not in ("host", "content-length", "connection"):
            request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read(), reply.headers.get("Content-Type", "")
    except urllib.error.HTTPError as reply:
        return reply.code, reply.read(), reply.headers.get("Content-Type", "")


def serve(port, sandbox, upstream):
    double = Double(sandbox)
    operations = {
        "SendCommand": double.send_command,
        "GetCommandInvocation": double.get_command_invocation,
        "DescribeInstanceInformation": double.describe_instance_information,
        "CancelCommand": double.cancel_command,
    }

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            target = self.headers.get("X-Amz-Target", "")
            operation = target.split(".")[-1]
            handler = operations.get(operation)
            if handler is None and upstream:
                double.log("forwarded", operation)
                status, data, kind = forward(upstream, self.path, dict(self.headers), raw)
                self.send_response(status)
                self.send_header("Content-Type", kind or "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            body = json.loads(raw or b"{}")
            if handler is None:
                status, reply = error(400, "UnknownOperationException", operation)
            else:
                status, reply = handler(body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--forward", default="")
    args = parser.parse_args()
    serve(args.port, args.sandbox, args.forward.rstrip("/"))
