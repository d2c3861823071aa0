#!/bin/bash
# shellcheck disable=SC2016 # jq programs, Python and generated files in single quotes
# nodectl user data: the Dynabench decentralized task server (mlcommons/dynabench api/builder
# build_server_decen.py and api/evaluation/eval_server_decen.py), Amazon Linux 2023 (log:
# /var/log/cloud-init-output.log). An Fn::Sub text: see templates/dynabench/README.md. Dollar-braces
# only for CloudFormation names; values are single-quoted (the parameters' AllowedPatterns exclude
# quotes). No set -x: the secret passes here.
set -Eeuo pipefail

STACK_NAME='${AWS::StackName}'
REGION='${AWS::Region}'
SECRET_ID='${AWS::StackName}/node-secret'
TASK_CODE='${TaskCode}'
DYNABENCH_API='${DynabenchApiUrl}'
BUILD_QUEUE='${BuildQueueName}'
EVAL_QUEUE='${EvalQueueName}'
MODEL_BUCKET='${ModelBucketName}'
DATASET_BUCKET='${DatasetBucketName}'
SAGEMAKER_ROLE='${SageMakerRoleArn}'
SAGEMAKER_REGION='${SagemakerRegion}'
GATEWAY_URL='${GatewayUrl}'
MAX_SUBMISSION='${MaxSubmission}'
EVAL_SERVER_ID='${EvalServerId}'
METRIC_PROCESSES='${ComputeMetricProcesses}'
CODE_REPOSITORY='${CodeRepository}'
CODE_COMMIT='${CodeCommit}'
LOG_GROUP='${LogGroupName}'
# Python 3.7.9 of python-build-standalone release 20200822 (no published checksum: the sha256 is
# the one three unrelated public pins agree on, see README.md); REQ_SHA256, the packages (below);
# dynalab (dynalab_cli.utils, which the builder imports) at its last commit.
PY_URL=https://github.com/astral-sh/python-build-standalone/releases/download/20200822/cpython-3.7.9-x86_64-unknown-linux-gnu-pgo-20200823T0036.tar.zst
PY_SHA256=c6d6256d13e929e77e7ee6e53470fe63ad19d173fee6d56bb1b2dbda67081543
REQ_SHA256=f096d48db4d43486d62dc3c1ab87deebb62be48c85cec5b57d574b19f0f01578
DYNALAB_REPOSITORY=https://github.com/facebookresearch/dynalab.git
DYNALAB_COMMIT=bf6addb37129c57ef85042502702af27a266a0cc
# APP: Python, venv, code (replaced at each run). STATE: the servers' dumps and temporary files.
APP=/opt/dynabench
REPO=$APP/dynabench
STATE=/var/lib/dynabench
LOGS=/var/log/dynabench
# nodectl:include prelude.sh

# --- begin write_secret
# Writes decen_eaas_secret of stack $2 in secret $1 (region $3) to $4, mode 0600, owner $5 when
# given: via a 0600 temporary file and jq, never on a command line. Fails with the reason on
# stderr, leaving no file.
write_secret() (
  set -euo pipefail
  secret_id=$1 stack=$2 region=$3 out=$4 owner=$5
  umask 077
  json=$(mktemp "$out.XXXXXX")
  trap 'rm -f "$json" "$json.new"' EXIT
  if ! aws secretsmanager get-secret-value --secret-id "$secret_id" --query SecretString \
    --output text --region "$region" >"$json"; then
    echo "cannot read secret $secret_id" >&2
    exit 1
  fi
  if ! jq -e --arg s "$stack" '.[$s].decen_eaas_secret | type == "string" and test("^[ -~]+$")' \
    "$json" >/dev/null 2>&1; then
    echo "secret $secret_id: no decen_eaas_secret for stack $stack (one line of ASCII)" >&2
    exit 1
  fi
  jq -j --arg s "$stack" '.[$s].decen_eaas_secret' "$json" >"$json.new" &&
    { [ -z "$owner" ] || chown "$owner" "$json.new"; } && mv -f "$json.new" "$out"
)
# --- end write_secret

# --- begin write_configs
# Writes api/builder/build_config.py, api/evaluation/eval_config.py and api/common/config.py of
# the repository $1 from the environment (the variables above, exported), values through
# Python's repr. No access key (None: boto3 takes the instance role) and no secret: the modules
# read decen_eaas_secret when imported, from the file DECEN_EAAS_SECRET_FILE names.
write_configs() {
  python3 - "$1" <<'EOF'
import os, sys
e = os.environ
R, Q, E, S = e["REGION"], e["BUILD_QUEUE"], e["EVAL_QUEUE"], e["STATE"] + "/"
aws = dict(aws_access_key_id=None, aws_secret_access_key=None, aws_region=R)
sm = dict(aws, sagemaker_region=e["SAGEMAKER_REGION"] or None, sagemaker_role=e["SAGEMAKER_ROLE"])
build = dict(sm, gateway_url=e["GATEWAY_URL"], queue_dump=S + "queue.dump", builder_sqs_queue=Q,
    evaluation_sqs_queue=E, model_s3_bucket=e["MODEL_BUCKET"], DYNABENCH_API=e["DYNABENCH_API"])
evaluation = dict(sm, dataset_s3_bucket=e["DATASET_BUCKET"], evaluation_sqs_queue=E,
    builder_sqs_queue=Q, scheduler_status_dump=S + "scheduler.dump",
    computer_status_dump=S + "computer.dump", max_submission=int(e["MAX_SUBMISSION"]),
    eval_server_id=e["EVAL_SERVER_ID"], compute_metric_processes=int(e["METRIC_PROCESSES"]),
    DYNABENCH_API=e["DYNABENCH_API"], task_code=e["TASK_CODE"], dataperf_aws_access_key_id=None,
    dataperf_aws_secret_access_key=None, dataperf_aws_region=R)
common = dict(aws, builder_sqs_queue=Q, evaluation_sqs_queue=E, eval_aws_access_key_id=None,
    eval_aws_secret_access_key=None, eval_aws_region=R, jwtalgo="HS256", jwtexp=1048576,
    profile_img_max_size=5242880, refreshexp=90, email_sender_name="DynaBench", smtp_port=587,
    trial_jwtexp=900, **dict.fromkeys("aws_s3_bucket_name aws_s3_profile_base_url cookie_secret "
    "new_builder_sqs_queue db_host db_port db_name db_user db_password jwtsecret smtp_host "
    "smtp_user smtp_secret smtp_from_email_address ssl_cert_file_path ssl_org_pem_file_path "
    "frontend_ip".split(), ""))
read = ("import os\n\n\ndef _secret():\n    with open(os.environ[\"DECEN_EAAS_SECRET_FILE\"]) as f:"
    "\n        return f.read()\n\n\n")
for path, name, values in (("builder/build_config", "build_config", build),
        ("evaluation/eval_config", "eval_config", evaluation), ("common/config", "config", common)):
    lines = ["# Written by nodectl (user data): no access key, no secret.\n"
        + (read if values is not common else "") + name + " = {"]
    lines += ["    %r: %r," % item for item in values.items()]
    if values is not common:
        lines.append('    "decen_eaas_secret": _secret(),')
    out = os.path.join(sys.argv[1], "api", path + ".py")
    with open(out + ".new", "w") as f:
        f.write("\n".join(lines + ["}", ""]))
    os.chmod(out + ".new", 0o644)
    os.replace(out + ".new", out)
EOF
}
# --- end write_configs

# --- begin fix_upstream
# replace_once FILE OLD NEW [N]: OLD must be in FILE exactly N (1) times, else it fails naming both.
replace_once() {
  python3 - "$@" <<'EOF'
import sys
path, old, new = sys.argv[1:4]
n, text = int((sys.argv[4:] or [1])[0]), open(path).read()
if text.count(old) != n:
    sys.exit("%s: %r found %d times, not %d: not the pinned upstream code?" % (path, old, text.count(old), n))
open(path, "w").write(text.replace(old, new))
EOF
}
# The fixes the pinned commit needs (templates/dynabench/README.md, "Fixes"), each checked; the
# first that fails stops it (chained: callers test its status, which turns set -e off inside).
fix_upstream() {
  local b=$1/api/builder e=$1/api/evaluation
  replace_once "$b/build_server_decen.py" $'\n                    breakpoint()\n' $'\n' &&
    replace_once "$b/utils/deployer.py" 'self.config.get("sagemaker_region") or self.config.get("aws_region")' \
      'build_config.get("sagemaker_region") or build_config["aws_region"]' &&
    replace_once "$b/utils/deployer.py" 'f"{shlex.quote(self.repository_name)} {shlex.quote(image_ecr_path)}"' \
      'f"docker tag {shlex.quote(self.repository_name)} {shlex.quote(image_ecr_path)}"' &&
    replace_once "$b/utils/deployer.py" 'sagemaker.Session(boto_session=session)' \
      'sagemaker.Session(boto_session=session, default_bucket=build_config["model_s3_bucket"])' &&
    replace_once "$b/utils/deployer.py" '"docker build --network host -t"' '"docker build -t"' &&
    replace_once "$e/eval_server_decen.py" '        return None, False' '        return None, True, False' &&
    replace_once "$b/utils/helpers.py" verify=prod verify=True 3 &&
    replace_once "$e/utils/helpers.py" verify=prod verify=True 6 &&
    replace_once "$e/utils/helpers.py" verify=False verify=True &&
    replace_once "$e/eval_server_decen.py" verify=False verify=True
}
# --- end fix_upstream

# --- begin wait_stable
# Succeeds once every unit of $2... has been active, never restarted, for $1 seconds.
wait_stable() {
  local need=$1 since=$SECONDS unit state
  shift
  while :; do
    for unit in "$@"; do
      state="$(systemctl show -p ActiveState --value "$unit") $(systemctl show -p NRestarts --value "$unit")"
      if [ "$state" != "active 0" ]; then
        journalctl -u "$unit" -n 30 --no-pager || true
        fail "$unit not running ($state): task code, secret or API wrong? (journalctl -u $unit)"
      fi
    done
    [ $((SECONDS - since)) -lt "$need" ] || return 0
    sleep 10
  done
}
# --- end wait_stable

log "starting (stack $STACK_NAME, task $TASK_CODE, $CODE_REPOSITORY at $CODE_COMMIT)"
retry dnf install -y docker git jq tar zstd rsyslog logrotate amazon-cloudwatch-agent
# The servers read the secret at every start; check it now, naming the stack if it is missing.
install -d -m 0700 /run/nodectl
err=$(write_secret "$SECRET_ID" "$STACK_NAME" "$REGION" /run/nodectl/check '' 2>&1) || fail "$err"
rm -f /run/nodectl/check

# A re-apply replaces the code and the Python environment and keeps $STATE and $LOGS.
systemctl stop dynabench-builder dynabench-evaluator 2>/dev/null || true
getent passwd dynabench >/dev/null ||
  useradd --system --user-group --home-dir "$STATE" --shell /sbin/nologin dynabench
install -d -m 0750 -o dynabench -g dynabench "$STATE" "$LOGS"
systemctl enable --now docker

log "installing Python 3.7.9 and the packages"
rm -rf "$APP"
install -d -m 0755 "$APP/python"
retry curl -fsSL -o "$APP/python.tar.zst" "$PY_URL"
echo "$PY_SHA256  $APP/python.tar.zst" | sha256sum -c --quiet - || fail "$PY_URL: wrong sha256"
tar --zstd -xf "$APP/python.tar.zst" -C "$APP/python" --strip-components=2 python/install
rm -f "$APP/python.tar.zst"
"$APP/python/bin/python3.7" -m venv "$APP/venv"
base64 -d <<'EOF' | gunzip >"$APP/requirements.txt"
# nodectl:include-gzip server-requirements.txt
EOF
# pip, setuptools and wheel by their hashes; then every other file at its pinned version, all of
# them checked against one sha256 (REQ_SHA256: of `sha256sum` over the files, see README.md),
# and installed from those files only.
grep -e '--hash=' "$APP/requirements.txt" >"$APP/bootstrap.txt"
grep -v -e '--hash=' "$APP/requirements.txt" >"$APP/pins.txt"
retry "$APP/venv/bin/python" -m pip install -q --no-deps --require-hashes -r "$APP/bootstrap.txt"
retry "$APP/venv/bin/python" -m pip download -q --no-deps --no-build-isolation -d "$APP/files" -r "$APP/pins.txt"
sum=$(cd "$APP/files" && LC_ALL=C sha256sum -- * | tee "$APP/files.sha256" | sha256sum | cut -d ' ' -f 1)
[ "$sum" = "$REQ_SHA256" ] ||
  fail "Python packages: not the pinned files ($APP/files.sha256)"
"$APP/venv/bin/python" -m pip install -q --no-deps --no-build-isolation --no-index --find-links "$APP/files" \
  -r "$APP/pins.txt"
rm -rf "$APP/files"

# The code at exactly the pinned commits, then the fixes and the configuration modules.
clone() {
  git init -q "$3"
  git -C "$3" remote add origin "$1"
  retry git -C "$3" fetch -q --depth 1 origin "$2"
  git -C "$3" checkout -q --detach FETCH_HEAD
  [ "$(git -C "$3" rev-parse HEAD)" = "$2" ] || fail "$1: HEAD is not $2"
}
log "cloning $CODE_REPOSITORY at $CODE_COMMIT"
clone "$CODE_REPOSITORY" "$CODE_COMMIT" "$REPO"
clone "$DYNALAB_REPOSITORY" "$DYNALAB_COMMIT" "$APP/dynalab"
err=$(fix_upstream "$REPO" 2>&1) || fail "$err"
export REGION SAGEMAKER_REGION SAGEMAKER_ROLE GATEWAY_URL BUILD_QUEUE EVAL_QUEUE MODEL_BUCKET \
  DATASET_BUCKET DYNABENCH_API TASK_CODE MAX_SUBMISSION EVAL_SERVER_ID METRIC_PROCESSES STATE
write_configs "$REPO"
# The servers log to ../logs (utils/logging.py): $LOGS.
ln -sfn "$LOGS" "$REPO/api/logs"

# Logs: journald (the services' output) through rsyslog to a file, and the servers' own files,
# into the stack's log group; rotated daily.
cat >/etc/rsyslog.d/dynabench.conf <<'EOF'
if $programname startswith 'dynabench-' or ($programname == 'systemd' and $msg contains 'dynabench-') then action(type="omfile" file="/var/log/dynabench/services.log" fileOwner="dynabench" fileGroup="dynabench")
EOF
printf '%s {\n su dynabench dynabench\n daily\n rotate 7\n compress\n missingok\n copytruncate\n}\n' "$LOGS/*.log" \
  >/etc/logrotate.d/dynabench
systemctl enable rsyslog
systemctl restart rsyslog
# nodectl:include cloudwatch-agent.sh
start_cw_agent '{"mem": {"measurement": ["mem_used_percent"]},
  "disk": {"measurement": ["used_percent"], "resources": ["/"], "drop_device": true}}' \
  "$(jq -n --arg g "$LOG_GROUP" --arg d "$LOGS" '[["services", $d + "/services.log"],
  ["builder", $d + "/dynabench-server-builder.log"], ["evaluator", $d + "/dynabench-server-evaluation.log"],
  ["cloud-init", "/var/log/cloud-init-output.log"]] | map({file_path: .[1], log_group_name: $g,
  log_stream_name: ("{instance_id}/" + .[0])})')"

# The services: the secret written before every start (as root, the "+") into the service's
# RuntimeDirectory; the servers unprivileged (the builder in the docker group: it runs docker);
# /tmp on disk ($STATE), as models can be large.
{
  printf '#!/bin/bash\nset -euo pipefail\n'
  declare -p SECRET_ID STACK_NAME REGION
  declare -f write_secret
  echo 'write_secret "$SECRET_ID" "$STACK_NAME" "$REGION" "$1" dynabench:dynabench'
} >/usr/local/sbin/nodectl-dynabench-secret
chmod 0700 /usr/local/sbin/nodectl-dynabench-secret
unit() {
  install -d -m 0700 -o dynabench -g dynabench "$STATE/tmp-$1"
  cat >"/etc/systemd/system/$1.service" <<EOF
[Unit]
Description=Dynabench $2 server (task $TASK_CODE)
After=network-online.target docker.service
Wants=network-online.target
StartLimitIntervalSec=0
[Service]
User=dynabench
Group=dynabench
$5
WorkingDirectory=$REPO/api/$3
Environment=PYTHONPATH=$REPO/api:$APP/dynalab PYTHONBREAKPOINT=0 PYTHONUNBUFFERED=1 PATH=$APP/venv/bin:/usr/bin
Environment=DECEN_EAAS_SECRET_FILE=/run/$1/decen-eaas-secret
RuntimeDirectory=$1
RuntimeDirectoryMode=0700
BindPaths=$STATE/tmp-$1:/tmp
ExecStartPre=+/usr/local/sbin/nodectl-dynabench-secret /run/$1/decen-eaas-secret
ExecStart=$APP/venv/bin/python $4
SyslogIdentifier=$1
Restart=always
RestartSec=30
NoNewPrivileges=yes
ProtectHome=yes
[Install]
WantedBy=multi-user.target
EOF
}
unit dynabench-builder build builder build_server_decen.py SupplementaryGroups=docker
unit dynabench-evaluator evaluation evaluation eval_server_decen.py ''
systemctl daemon-reload
systemctl enable dynabench-builder dynabench-evaluator
log "starting dynabench-builder and dynabench-evaluator"
systemctl restart dynabench-builder dynabench-evaluator ||
  fail "the servers do not start (journalctl -u dynabench-builder -u dynabench-evaluator)"
wait_stable 120 dynabench-builder dynabench-evaluator
signal 0 "nodectl user data completed: Dynabench build and evaluation servers running"
log "done"
