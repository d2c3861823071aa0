"""write_configs: build_config.py, eval_config.py and api/common/config.py from the environment.

The generated modules are imported with python3 (and Python 3.7 when one is on PATH, the servers'
version) and compared key by key with what the servers read (templates/dynabench/README.md,
"Configuration"): no access key (None), model_s3_bucket and sagemaker_region present, the secret
read at import from DECEN_EAAS_SECRET_FILE and never written into a module.
"""

import json
import os
import shutil
import subprocess
import unittest

import harness

SECRET = "canary-decen-9d2e41 'quoted' \"double\" \\back\\slash"

# Values with quotes, backslashes, a dollar and non-ASCII: they must reach the modules unchanged.
ENV = {
    "REGION": "us-west-1",
    "SAGEMAKER_REGION": "",
    "SAGEMAKER_ROLE": "arn:aws:iam::123456789012:role/task-SageMakerRole-ABC",
    "GATEWAY_URL": "https://abc123.execute-api.us-west-1.amazonaws.com/predict",
    "BUILD_QUEUE": "dev-build",
    "EVAL_QUEUE": "dev-eval",
    "MODEL_BUCKET": "task-modelbucket-1a2b",
    "DATASET_BUCKET": "task-datasetbucket-3c4d",
    "DYNABENCH_API": "https://api.dynabench.org",
    "TASK_CODE": "it's \"odd\" \\n $HOME ü",
    "MAX_SUBMISSION": "20",
    "EVAL_SERVER_ID": "default",
    "METRIC_PROCESSES": "1",
    "STATE": "/var/lib/dynabench",
}


def expected(env):
    region, sm = env["REGION"], env["SAGEMAKER_REGION"] or None
    aws = {"aws_access_key_id": None, "aws_secret_access_key": None, "aws_region": region}
    build = dict(
        aws,
        sagemaker_region=sm,
        sagemaker_role=env["SAGEMAKER_ROLE"],
        gateway_url=env["GATEWAY_URL"],
        queue_dump="/var/lib/dynabench/queue.dump",
        builder_sqs_queue=env["BUILD_QUEUE"],
        evaluation_sqs_queue=env["EVAL_QUEUE"],
        model_s3_bucket=env["MODEL_BUCKET"],
        DYNABENCH_API=env["DYNABENCH_API"],
        decen_eaas_secret=SECRET,
    )
    evaluation = dict(
        aws,
        sagemaker_region=sm,
        sagemaker_role=env["SAGEMAKER_ROLE"],
        dataset_s3_bucket=env["DATASET_BUCKET"],
        evaluation_sqs_queue=env["EVAL_QUEUE"],
        builder_sqs_queue=env["BUILD_QUEUE"],
        scheduler_status_dump="/var/lib/dynabench/scheduler.dump",
        computer_status_dump="/var/lib/dynabench/computer.dump",
        max_submission=int(env["MAX_SUBMISSION"]),
        eval_server_id=env["EVAL_SERVER_ID"],
        compute_metric_processes=int(env["METRIC_PROCESSES"]),
        DYNABENCH_API=env["DYNABENCH_API"],
        task_code=env["TASK_CODE"],
        decen_eaas_secret=SECRET,
        dataperf_aws_access_key_id=None,
        dataperf_aws_secret_access_key=None,
        dataperf_aws_region=region,
    )
    # The keys of api/common/config.py at the pinned commit (mlcommons/dynabench @ e1394ce3,
    # api/common/config.py lines 12-45), no database (db_* empty: api/models/base.py lines 17-24
    # then connects to nothing), no key, no secret.
    common = dict(
        aws,
        aws_s3_bucket_name="",
        aws_s3_profile_base_url="",
        builder_sqs_queue=env["BUILD_QUEUE"],
        new_builder_sqs_queue="",
        cookie_secret="",
        db_host="",
        db_port="",
        db_name="",
        db_user="",
        db_password="",
        eval_aws_access_key_id=None,
        eval_aws_region=region,
        eval_aws_secret_access_key=None,
        evaluation_sqs_queue=env["EVAL_QUEUE"],
        jwtalgo="HS256",
        jwtexp=1048576,
        jwtsecret="",
        profile_img_max_size=5242880,
        refreshexp=90,
        email_sender_name="DynaBench",
        smtp_port=587,
        smtp_host="",
        smtp_user="",
        smtp_secret="",
        smtp_from_email_address="",
        ssl_cert_file_path="",
        ssl_org_pem_file_path="",
        trial_jwtexp=900,
        frontend_ip="",
    )
    return {"build_config": build, "eval_config": evaluation, "config": common}


MODULES = {
    "build_config": "api/builder/build_config.py",
    "eval_config": "api/evaluation/eval_config.py",
    "config": "api/common/config.py",
}

# Imports the three modules and prints their dicts as JSON (None -> null); no third-party module.
LOADER = """
import importlib.util, json, sys
out = {}
for name, path in json.loads(sys.argv[1]).items():
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out[name] = getattr(module, name)
print(json.dumps(out))
"""


def python37():
    """A working python3.7 (a pyenv shim may exist without the version selected)."""
    path = shutil.which("python3.7")
    if path is None:
        return None
    try:
        ok = subprocess.run([path, "-c", "pass"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    except OSError:
        ok = False
    return path if ok else None


class WriteConfigsTest(unittest.TestCase):
    def generate(self, env):
        def prepare(dir):
            for path in MODULES.values():
                os.makedirs(os.path.join(dir, "repo", os.path.dirname(path)), exist_ok=True)
            # The pinned commit ships env-reading versions of two of them: they are replaced.
            with open(os.path.join(dir, "repo", MODULES["config"]), "w") as f:
                f.write('import os\nconfig = {"db_host": os.environ["DB_HOST"]}\n')
            with open(os.path.join(dir, "secret"), "w") as f:
                f.write(SECRET)
            os.chmod(os.path.join(dir, "secret"), 0o600)

        result = harness.run(harness.part("write_configs") + '\nwrite_configs "$1"\n', args=["repo"],
                             env=env, prepare=prepare)
        self.addCleanup(shutil.rmtree, result.dir)
        self.assertEqual(result.code, 0, result.output())
        return result

    def load(self, result, python="python3"):
        paths = {name: result.path("repo", path) for name, path in MODULES.items()}
        completed = subprocess.run(
            [python, "-c", LOADER, json.dumps(paths)],
            env=dict(os.environ, DECEN_EAAS_SECRET_FILE=result.path("secret")),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
        )
        self.assertEqual(completed.returncode, 0, completed.stderr)
        return json.loads(completed.stdout)

    def test_the_modules_have_exactly_the_servers_keys_and_values(self):
        result = self.generate(ENV)
        loaded = self.load(result)
        want = expected(ENV)
        for name in MODULES:
            with self.subTest(module=name):
                self.assertEqual(sorted(loaded[name]), sorted(want[name]), "keys of " + name)
                self.assertEqual(loaded[name], want[name])
        for name in ("build_config", "eval_config"):
            self.assertIn("model_s3_bucket" if name == "build_config" else "dataset_s3_bucket", loaded[name])
            self.assertIn("sagemaker_region", loaded[name])
            self.assertIsNone(loaded[name]["aws_access_key_id"])
            self.assertIsNone(loaded[name]["aws_secret_access_key"])

    def test_no_secret_and_no_key_in_the_files(self):
        result = self.generate(ENV)
        for path in MODULES.values():
            with self.subTest(path=path):
                full = result.path("repo", path)
                with open(full, encoding="utf-8") as f:
                    text = f.read()
                self.assertNotIn("canary-decen", text)
                self.assertNotIn("AKIA", text)
                self.assertEqual(harness.mode(full), 0o644)
        self.assertEqual(sorted(os.listdir(result.path("repo/api/builder"))), ["build_config.py"], "temporary file left")

    def test_a_sagemaker_region_is_kept(self):
        env = dict(ENV, SAGEMAKER_REGION="us-east-1")
        loaded = self.load(self.generate(env))
        self.assertEqual(loaded["build_config"]["sagemaker_region"], "us-east-1")
        self.assertEqual(loaded["eval_config"]["sagemaker_region"], "us-east-1")
        self.assertEqual(loaded["build_config"]["aws_region"], "us-west-1")

    def test_a_missing_variable_fails(self):
        env = dict(ENV)
        del env["MODEL_BUCKET"]
        result = harness.run(harness.part("write_configs") + '\nwrite_configs repo\n', env=env,
                             prepare=lambda dir: os.makedirs(os.path.join(dir, "repo/api/builder")))
        self.addCleanup(shutil.rmtree, result.dir)
        self.assertNotEqual(result.code, 0)
        self.assertIn("MODEL_BUCKET", result.stderr)

    @unittest.skipUnless(python37(), "no working python3.7 on PATH")
    def test_python_3_7_imports_them(self):
        result = self.generate(ENV)
        self.assertEqual(self.load(result, python=python37()), expected(ENV))


if __name__ == "__main__":
    unittest.main()
