"""Running parts of the server's user data with bash, offline, against fakes (stdlib only).

Every command a part may run with the secret nearby is wrapped: a fake ``aws`` (the canned
SecretString of ``secret.json``, and a log of its arguments), ``chown`` (records, changes
nothing: the tests need not be root) and logging wrappers around the real ``jq``, ``mv``,
``mktemp`` and ``python3`` (their arguments are logged, then the real program runs). So a test can
check that the secret never reaches a command line: ``Run.argv()`` holds every logged argument.
"""

import os
import shutil
import stat
import subprocess
import tempfile

import userdata

FAKE_AWS = """#!/bin/sh
printf 'aws %s\\n' "$*" >>"$FAKE_ARGV_LOG"
case "$1 $2" in
  "secretsmanager get-secret-value")
    [ -e "$FAKE_AWS_SECRET" ] || { echo "An error occurred (ResourceNotFoundException)" >&2; exit 254; }
    cat "$FAKE_AWS_SECRET" ;;
  *) echo "fake aws: unexpected call: $*" >&2; exit 2 ;;
esac
"""

FAKE_CHOWN = """#!/bin/sh
printf 'chown %s\\n' "$*" >>"$FAKE_ARGV_LOG"
"""

WRAPPER = """#!/bin/sh
printf '%s %s\\n' "{name}" "$*" >>"$FAKE_ARGV_LOG"
exec "{real}" "$@"
"""


def which(name):
    path = shutil.which(name)
    if path is None:
        raise RuntimeError("the tests need %s on PATH" % name)
    return path


class Run:
    def __init__(self, dir, completed):
        self.dir = dir
        self.code = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def argv(self):
        log = self.path("argv.log")
        if not os.path.exists(log):
            return ""
        with open(log, encoding="utf-8") as f:
            return f.read()

    def output(self):
        return "--- stdout\n%s--- stderr\n%s" % (self.stdout, self.stderr)


def run(script, args=(), env=None, secret=None, prepare=None, fakes=None):
    """Runs ``script`` (parts of the user data and a call) with bash in a new temporary
    directory (its working directory, kept until the test's cleanup). ``secret``: the fake
    Secrets Manager's SecretString (None: the secret does not exist)."""
    dir = tempfile.mkdtemp(prefix="dynabench-userdata-")
    bin = os.path.join(dir, "bin")
    os.mkdir(bin)
    programs = {"aws": FAKE_AWS, "chown": FAKE_CHOWN}
    for name in ("jq", "mv", "mktemp", "python3"):
        programs[name] = WRAPPER.format(name=name, real=which(name))
    programs.update(fakes or {})
    for name, text in programs.items():
        path = os.path.join(bin, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
    if secret is not None:
        with open(os.path.join(dir, "secret.json"), "w") as f:
            f.write(secret)
    if prepare:
        prepare(dir)
    harness = os.path.join(dir, "harness.sh")
    with open(harness, "w") as f:
        f.write(script)
    environment = {
        "PATH": bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": dir,
        "LC_ALL": "C.UTF-8",
        "FAKE_ARGV_LOG": os.path.join(dir, "argv.log"),
        "FAKE_AWS_SECRET": os.path.join(dir, "secret.json"),
        # Should a real AWS CLI be reached, it finds no credentials.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    environment.update(env or {})
    completed = subprocess.run(
        ["bash", harness] + list(args),
        cwd=dir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=120,
    )
    return Run(dir, completed)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def part(name):
    return userdata.part(name)
