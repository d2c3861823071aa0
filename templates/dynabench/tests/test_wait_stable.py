"""wait_stable: the CreationPolicy signal waits until both services have run, unrestarted.

A fake systemctl answers ``show -p ActiveState|NRestarts --value <unit>`` from files; ``sleep``
advances bash's SECONDS instead of sleeping; ``fail`` (the prelude's, which signals FAILURE)
is replaced by one that prints its reason and exits 1.
"""

import os
import shutil
import unittest

import harness

FAKE_SYSTEMCTL = """#!/bin/sh
[ "$1 $2" = "show -p" ] || exit 2
cat "$STATES/$5.$3"
"""
FAKE_JOURNALCTL = """#!/bin/sh
echo "journal of $2"
"""
PRELUDE = """
fail() { echo "FAIL: $*"; exit 1; }
sleep() { SECONDS=$((SECONDS + $1)); echo "slept $1" >>"$STATES/slept"; }
"""


class WaitStableTest(unittest.TestCase):
    def wait(self, states, need=120):
        def prepare(dir):
            os.mkdir(os.path.join(dir, "states"))
            for unit, (active, restarts) in states.items():
                for name, value in (("ActiveState", active), ("NRestarts", restarts)):
                    with open(os.path.join(dir, "states", "%s.%s" % (unit, name)), "w") as f:
                        f.write(value + "\n")

        result = harness.run(
            PRELUDE + harness.part("wait_stable") + "\nwait_stable %d %s && echo STABLE\n" % (need, " ".join(states)),
            env={"STATES": "states"},
            prepare=prepare,
            fakes={"systemctl": FAKE_SYSTEMCTL, "journalctl": FAKE_JOURNALCTL},
        )
        result.env_states = os.path.join(result.dir, "states")
        self.addCleanup(shutil.rmtree, result.dir)
        return result

    def test_succeeds_after_the_units_stayed_up(self):
        result = self.wait({"dynabench-builder": ("active", "0"), "dynabench-evaluator": ("active", "0")})
        self.assertEqual(result.code, 0, result.output())
        self.assertIn("STABLE", result.stdout)
        with open(os.path.join(result.env_states, "slept")) as f:
            self.assertEqual(f.read().count("slept 10"), 12, "120 seconds in steps of 10")

    def test_fails_on_a_restarted_or_stopped_unit_naming_it(self):
        for states, bad in (
            ({"dynabench-builder": ("active", "0"), "dynabench-evaluator": ("active", "1")}, "dynabench-evaluator"),
            ({"dynabench-builder": ("activating", "0"), "dynabench-evaluator": ("active", "0")}, "dynabench-builder"),
            ({"dynabench-builder": ("active", "0"), "dynabench-evaluator": ("failed", "3")}, "dynabench-evaluator"),
        ):
            with self.subTest(bad=bad, states=states):
                result = self.wait(states)
                self.assertEqual(result.code, 1, result.output())
                self.assertIn("FAIL: %s not running" % bad, result.stdout)
                self.assertIn("journal of " + bad, result.stdout)
                self.assertNotIn("STABLE", result.stdout)


if __name__ == "__main__":
    unittest.main()
