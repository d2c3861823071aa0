"""fix_upstream: the checked edits of mlcommons/dynabench @ e1394ce3 (README.md, "Fixes").

The fixtures are small copies of the upstream lines each fix changes, with the surrounding lines
(mlcommons/dynabench @ e1394ce39d3dc8924fd9b65661dfeddc1b7357a0; line numbers below). A fix
whose text is missing, or found more than once, must fail naming the file and the text, and
change nothing after it.
"""

import os
import py_compile
import shutil
import unittest

import harness

# api/builder/build_server_decen.py lines 77-88.
BUILD_SERVER = '''import json


def parse(msg, message, queue, dotdict, ack):
    if True:
        if True:
            try:
                    s3_uri = msg["s3_uri"]
                    endpoint_only = msg.get("endpoint_only", False)

                    json_model = json.loads(msg["model_info"])
                    json_model["task"] = dotdict(json.loads(msg["task_info"]))
                    breakpoint()
                    model = dotdict(json_model)
            except Exception as e:
                    ack(queue, message)
                    print(e)
'''

# api/builder/utils/deployer.py lines 118-135, 295-300 and 536-545.
DEPLOYER = '''import shlex

import boto3
import sagemaker

build_config = {}


class ModelDeployer:
    def setup_sagemaker_env(self):
        env = {}
        region = self.config.get("sagemaker_region") or self.config.get("aws_region")
        session = boto3.Session(
            aws_access_key_id=build_config["aws_access_key_id"],
            aws_secret_access_key=build_config["aws_secret_access_key"],
            region_name=region,
        )
        env["sagemaker_session"] = sagemaker.Session(boto_session=session)
        env["bucket_name"] = env["sagemaker_session"].default_bucket()
        return env

    def build_and_push_docker(self, subprocess):
        image_ecr_path = f"{self.env['ecr_registry']}/{self.repository_name}"
        process = subprocess.run(
            shlex.split(
                f"{shlex.quote(self.repository_name)} {shlex.quote(image_ecr_path)}"
            ),
        )
        return process


def docker_build_cmd(
    repository_name: str, docker_file: str = "Dockerfile", **build_args
):
    repository_name = shlex.quote(repository_name)
    docker_file = shlex.quote(docker_file)
    docker_build_args = " ".join(
        f"--build-arg {k}={shlex.quote(str(v))}" for k, v in build_args.items()
    )
    message = "docker build --network host -t"
    return f"{message} {repository_name} -f {docker_file} {docker_build_args} ."
'''

# api/evaluation/eval_server_decen.py lines 41-57 and 98.
EVAL_SERVER = '''def load_datasets_for_task_owner(requests, DYNABENCH_API, json, util, data, secret):
    r = requests.get(
        f"{DYNABENCH_API}/tasks/listdatasets",
        data=json.dumps(util.wrap_data_with_signature(data, secret)),
        headers={"Content-Type": "application/json"},
        verify=False,
    )

    if r.status_code != 200:
        json_resp = r.json()
        status_code = json_resp["status_code"]
        error = json_resp["error"]
        print(f"Recieved {status_code} from dynabench: {error}")
        return None, False

    return {}, False, False
'''

# api/builder/utils/helpers.py lines 44-68 (and 71-80: the third request).
BUILDER_HELPERS = '''import json

import requests

DYNABENCH_API = "https://api.dynabench.org"


def api_model_update(model, model_status, prod=False):
    requests.post(
        f"{DYNABENCH_API}/models/{model.id}/update_decen_eaas",
        data=json.dumps({"deployment_status": model_status}),
        headers={"Content-Type": "application/json"},
        verify=prod,
    )


def api_send_email(model, data, prod=False):
    requests.post(f"{DYNABENCH_API}/models/{model.id}/email_decen_eaas", data=data, verify=prod)


def api_download_model(model_id, data, prod=False):
    with requests.get(f"{DYNABENCH_API}/models/{model_id}/download", data=data, verify=prod, stream=True) as r:
        return r
'''

# api/evaluation/utils/helpers.py: six requests with verify=prod (lines 349-406, 426-433) and
# one with verify=False (lines 410-418).
EVAL_HELPERS = "import requests\n\nAPI = 'https://api.dynabench.org'\n\n" + "".join(
    "\ndef call%d(data, prod=False):\n    return requests.get(API, data=data, verify=prod)\n\n" % i for i in range(6)
) + "\ndef load_models_ids_for_task_owners(data):\n    return requests.get(API, data=data, verify=False).json()\n"

FILES = {
    "api/builder/build_server_decen.py": BUILD_SERVER,
    "api/builder/utils/deployer.py": DEPLOYER,
    "api/evaluation/eval_server_decen.py": EVAL_SERVER,
    "api/builder/utils/helpers.py": BUILDER_HELPERS,
    "api/evaluation/utils/helpers.py": EVAL_HELPERS,
}


def write_repo(dir, files=None):
    for path, text in (files or FILES).items():
        full = os.path.join(dir, "repo", path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)


class FixUpstreamTest(unittest.TestCase):
    def fix(self, files=None):
        result = harness.run(harness.part("fix_upstream") + '\nfix_upstream "$1"\n', args=["repo"],
                             prepare=lambda dir: write_repo(dir, files))
        self.addCleanup(shutil.rmtree, result.dir)
        return result

    def text(self, result, path):
        with open(result.path("repo", path)) as f:
            return f.read()

    def test_applies_every_fix(self):
        result = self.fix()
        self.assertEqual(result.code, 0, result.output())
        build = self.text(result, "api/builder/build_server_decen.py")
        self.assertNotIn("breakpoint()", build)
        self.assertIn(
            'json_model["task"] = dotdict(json.loads(msg["task_info"]))\n                    model = dotdict(json_model)',
            build,
        )
        deployer = self.text(result, "api/builder/utils/deployer.py")
        self.assertIn('region = build_config.get("sagemaker_region") or build_config["aws_region"]', deployer)
        self.assertNotIn("self.config", deployer)
        self.assertIn('f"docker tag {shlex.quote(self.repository_name)} {shlex.quote(image_ecr_path)}"', deployer)
        self.assertIn(
            'sagemaker.Session(boto_session=session, default_bucket=build_config["model_s3_bucket"])', deployer
        )
        self.assertIn('message = "docker build -t"', deployer)
        self.assertNotIn("--network host", deployer)
        eval_server = self.text(result, "api/evaluation/eval_server_decen.py")
        self.assertIn("        return None, True, False\n", eval_server)
        for path in ("api/builder/utils/helpers.py", "api/evaluation/utils/helpers.py", "api/evaluation/eval_server_decen.py"):
            text = self.text(result, path)
            self.assertNotIn("verify=prod", text, path)
            self.assertNotIn("verify=False", text, path)
        self.assertEqual(self.text(result, "api/builder/utils/helpers.py").count("verify=True"), 3)
        self.assertEqual(self.text(result, "api/evaluation/utils/helpers.py").count("verify=True"), 7)
        for path in FILES:
            py_compile.compile(result.path("repo", path), doraise=True)

    def test_fails_loudly_when_an_upstream_text_is_missing(self):
        cases = {
            "breakpoint": ("api/builder/build_server_decen.py", "                    breakpoint()\n", ""),
            "self.config": ("api/builder/utils/deployer.py", "self.config.get(", "config.get("),
            "docker tag": ("api/builder/utils/deployer.py", 'f"{shlex.quote(self.repository_name)}', 'f"{self.repository_name}'),
            "default bucket": ("api/builder/utils/deployer.py", "sagemaker.Session(boto_session=session)", "sagemaker.Session()"),
            "network host": ("api/builder/utils/deployer.py", "--network host ", ""),
            "unpack": ("api/evaluation/eval_server_decen.py", "        return None, False\n", "        return None\n"),
            "verify (builder)": ("api/builder/utils/helpers.py", "verify=prod,\n", "verify=True,\n"),
            "verify (evaluation)": ("api/evaluation/utils/helpers.py", "verify=False", "verify=True"),
            "verify (eval server)": ("api/evaluation/eval_server_decen.py", "verify=False", "verify=True"),
        }
        for name, (path, old, new) in cases.items():
            with self.subTest(fix=name):
                files = dict(FILES)
                self.assertIn(old, files[path])
                files[path] = files[path].replace(old, new)
                result = self.fix(files)
                self.assertNotEqual(result.code, 0, "%s: a missing text must fail\n%s" % (name, result.output()))
                self.assertIn(path, result.stderr)
                self.assertRegex(result.stderr, r"found \d+ times, not \d+")
                if name == "breakpoint":
                    self.assertEqual(self.text(result, "api/builder/utils/deployer.py"), DEPLOYER,
                                     "a fix after the failed one was applied")

    def test_fails_when_a_text_is_there_twice(self):
        files = dict(FILES)
        files["api/evaluation/eval_server_decen.py"] += "\n\ndef other():\n        return None, False\n"
        result = self.fix(files)
        self.assertNotEqual(result.code, 0)
        self.assertIn("found 2 times, not 1", result.stderr)

    def test_a_second_run_fails_instead_of_patching_twice(self):
        def prepare(dir):
            write_repo(dir)

        script = harness.part("fix_upstream") + '\nfix_upstream repo\nfix_upstream repo\n'
        result = harness.run(script, prepare=prepare)
        self.addCleanup(shutil.rmtree, result.dir)
        self.assertNotEqual(result.code, 0)
        self.assertIn("found 0 times", result.stderr)

    def test_a_missing_file_fails(self):
        files = dict(FILES)
        del files["api/evaluation/eval_server_decen.py"]
        result = self.fix(files)
        self.assertNotEqual(result.code, 0)
        self.assertIn("eval_server_decen.py", result.stderr)


if __name__ == "__main__":
    unittest.main()
