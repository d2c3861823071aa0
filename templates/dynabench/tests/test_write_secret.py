"""write_secret: the server's decen_eaas_secret from Secrets Manager into a 0600 file in /run.

The secret JSON is ``{"<server stack name>": {"decen_eaas_secret": "..."}}`` (one entry per server
stack, as Theta's node secret). The part runs with a fake AWS CLI; jq, mv, mktemp and python3 log
their arguments, so the tests see every command line.
"""

import json
import os
import shutil
import unittest

import harness
import userdata

STACK = userdata.STACK
SECRET_ID = STACK + "/node-secret"
REGION = userdata.REGION


def canary(what):
    return "canary-%s-7f3a9c" % what


class WriteSecretTest(unittest.TestCase):
    def write(self, secret, out="run/dynabench-builder/decen-eaas-secret", owner="dynabench:dynabench"):
        def prepare(dir):
            os.makedirs(os.path.join(dir, os.path.dirname(out)), mode=0o700)

        result = harness.run(
            harness.part("write_secret") + '\nwrite_secret "$@"\n',
            args=[SECRET_ID, STACK, REGION, out, owner],
            secret=secret,
            prepare=prepare,
        )
        self.addCleanup(shutil.rmtree, result.dir)
        return result

    def leftovers(self, result, out="run/dynabench-builder/decen-eaas-secret"):
        folder = result.path(os.path.dirname(out))
        return sorted(name for name in os.listdir(folder) if name != os.path.basename(out))

    def test_writes_this_stacks_secret_0600_through_no_command_line(self):
        value = canary("decen") + " a'b\"c $HOME \\d=e"
        other = canary("otherstack")
        secret = json.dumps({STACK: {"decen_eaas_secret": value}, STACK + "-two": {"decen_eaas_secret": other}})
        result = self.write(secret)
        self.assertEqual(result.code, 0, result.output())
        out = result.path("run/dynabench-builder/decen-eaas-secret")
        with open(out, encoding="utf-8") as f:
            self.assertEqual(f.read(), value, "the file holds exactly the secret, no newline")
        self.assertEqual(harness.mode(out), 0o600)
        self.assertEqual(self.leftovers(result), [], "temporary files left next to the secret")
        argv = result.argv()
        self.assertIn(
            "aws secretsmanager get-secret-value --secret-id %s --query SecretString --output text --region %s\n"
            % (SECRET_ID, REGION),
            argv,
        )
        self.assertIn("chown dynabench:dynabench ", argv)
        for text in (value, canary("decen"), other):
            self.assertNotIn(text, argv, "the secret is on a command line")
            self.assertNotIn(text, result.stdout + result.stderr, "the secret is in the output")

    def test_no_owner_for_the_boot_check(self):
        secret = json.dumps({STACK: {"decen_eaas_secret": canary("decen")}})
        result = self.write(secret, out="nodectl/check", owner="")
        self.assertEqual(result.code, 0, result.output())
        self.assertNotIn("chown", result.argv())
        self.assertEqual(harness.mode(result.path("nodectl/check")), 0o600)

    def assert_refused(self, secret, reason):
        result = self.write(secret)
        self.assertEqual(result.code, 1, result.output())
        self.assertIn(reason, result.stderr)
        self.assertFalse(os.path.exists(result.path("run/dynabench-builder/decen-eaas-secret")))
        self.assertEqual(self.leftovers(result), [], "temporary files left behind")
        for text in (canary("a"), canary("b"), canary("other"), canary("raw")):
            self.assertNotIn(text, result.stderr + result.stdout + result.argv(), "a secret leaked")

    def test_refuses_a_missing_secret(self):
        self.assert_refused(None, "cannot read secret " + SECRET_ID)

    def test_refuses_a_secret_without_this_stacks_entry(self):
        self.assert_refused(
            json.dumps({STACK + "-two": {"decen_eaas_secret": canary("other")}}),
            "secret %s: no decen_eaas_secret for stack %s" % (SECRET_ID, STACK),
        )

    def test_refuses_an_empty_or_multi_line_or_non_string_secret(self):
        for value in ("", canary("a") + "\n" + canary("b"), 12345, None):
            with self.subTest(value=value):
                self.assert_refused(
                    json.dumps({STACK: {"decen_eaas_secret": value}}), "no decen_eaas_secret for stack"
                )

    def test_refuses_what_is_not_json(self):
        self.assert_refused("not json " + canary("raw"), "no decen_eaas_secret for stack")


if __name__ == "__main__":
    unittest.main()
