#!/bin/bash
# shellcheck disable=SC2016 # jq programs: $vars in single quotes
# nodectl user data: Allora SDK worker node (WorkerRuntime sdk), Amazon Linux 2023 (log:
# /var/log/cloud-init-output.log). The Allora Python SDK worker runs as allora-sdk-worker.service,
# an unprivileged systemd service, with allora_sdk pinned per network (src/blueprint/allora/sdk.rs).
# Fn::Sub text: dollar-braces only for CloudFormation names; values are single-quoted. No set -x.
# --- begin write_worker_secrets (tests/userdata.rs runs this part with NODECTL_ROOT=<temp dir>)
set -Eeuo pipefail

STACK_NAME='${AWS::StackName}'
REGION='${AWS::Region}'
DATA_VOLUME_TYPE='${DataVolumeType}'
DATA_VOLUME_ID='${DataVolumeId}'
SECRET_ID='${AWS::StackName}/node-secret'
WORKER_B64='${SdkWorker}'
MODEL_REPO='${ModelRepo}'
MODEL_REPO_REF='${ModelRepoRef}'
MODEL_ENV_B64='${ModelEnv}'
LOG_GROUP='${WorkerLogGroupName}'
# WORKER_UID: allora-sdk-worker, the service's user. ROOT: empty on the instance. WORKER_DIR: the
# model code, the service's working directory. APP_DIR: the virtual environment and
# sdk-worker.py. RUN_DIR: the service's RuntimeDirectory (tmpfs, gone when it stops).
WORKER_UID=10002
ROOT=$(printenv NODECTL_ROOT || true)
WORKER_DIR=$ROOT/data/allora-sdk-worker
APP_DIR=$ROOT/opt/allora-sdk-worker
CONF=$ROOT/etc/allora-sdk-worker/worker.json
RUN_DIR=$ROOT/run/allora-sdk-worker

# nodectl:include prelude.sh
# nodectl:include node-secret.sh

# Writes the worker's secret files into $RUN_DIR (0600, owned by the worker): wallet (the
# mnemonic, which the SDK reads from the file), api-key (when the secret has one) and
# model-env.json (MODEL_ENV_VARS: the public lines of the template, then the secret values). The
# secret goes from the AWS CLI into a 0600 file that a trap removes: never on a command line, in
# the log or under /data. Run as root by the service's ExecStartPre before every start. Fails
# with the reason on stderr, leaving no file behind.
write_worker_secrets() (
  set -euo pipefail
  umask 077
  mkdir -p "$RUN_DIR"
  secret=$(mktemp "$RUN_DIR/.secret.XXXXXX")
  trap 'rm -f "$secret" "$RUN_DIR"/*.new' EXIT
  fetch_node_secret
  has '.apiKey // "" | type == "string"' "apiKey of $STACK_NAME must be a string"
  jq -j --arg s "$STACK_NAME" '.[$s].mnemonic' "$secret" >"$RUN_DIR/wallet.new"
  jq -j --arg s "$STACK_NAME" '.[$s].apiKey // ""' "$secret" >"$RUN_DIR/api-key.new"
  printf '%s' "$MODEL_ENV_B64" | base64 -d | jq -R -n --slurpfile sec "$secret" --arg s "$STACK_NAME" \
    '[inputs | capture("^(?<k>[A-Za-z_][A-Za-z0-9_]*)=(?<v>.+)$") | {(.k): (.v | fromjson)}]
      | add // {} | . + ($sec[0][$s].modelEnv // {} | map_values(tostring))' >"$RUN_DIR/model-env.json.new"
  for f in wallet api-key model-env.json; do
    chown "$WORKER_UID:$WORKER_UID" "$RUN_DIR/$f.new"
    mv -f "$RUN_DIR/$f.new" "$RUN_DIR/$f"
  done
  [ -s "$RUN_DIR/api-key" ] || rm -f "$RUN_DIR/api-key"
)
# --- end write_worker_secrets

log "starting (stack $STACK_NAME, data volume type $DATA_VOLUME_TYPE)"

# 1. Packages (Amazon Linux 2023 repositories only): allora_sdk needs Python 3.10 or newer, and
# AL2023's python3 is 3.9.
retry dnf install -y python3.11 amazon-cloudwatch-agent jq git

# 2. /data.
# nodectl:include data-volume.sh

# 3. CloudWatch agent: memory and disk use (dimension InstanceId), and the worker's log into the
# stack's log group (WorkerLogGroup, 30 days).
# nodectl:include cloudwatch-agent.sh
log "configuring the CloudWatch agent"
start_cw_agent '{"mem": {"measurement": ["mem_used_percent"]},
  "disk": {"measurement": ["used_percent"], "resources": ["/", "/data"], "drop_device": true}}' \
  "[{\"file_path\": \"/var/log/allora-sdk-worker/worker.log\",
    \"log_group_name\": \"$LOG_GROUP\", \"log_stream_name\": \"{instance_id}\"}]"

# 4. The worker's user, its settings (no secret), and allora_sdk pinned in a virtual environment.
getent passwd allora-sdk-worker >/dev/null ||
  useradd --system --uid "$WORKER_UID" --user-group --home-dir "$WORKER_DIR" --shell /sbin/nologin allora-sdk-worker
install -d -m 0755 "$APP_DIR" "$(dirname "$CONF")"
printf '%s' "$WORKER_B64" | base64 -d >"$CONF"
chmod 0644 "$CONF"
SDK_VERSION=$(jq -er .sdk "$CONF")
log "installing allora_sdk $SDK_VERSION"
python3.11 -m venv "$APP_DIR/venv"
echo "allora_sdk==$SDK_VERSION" >"$APP_DIR/constraints.txt"
retry "$APP_DIR/venv/bin/pip" install -q -c "$APP_DIR/constraints.txt" "allora_sdk==$SDK_VERSION"
# templates/allora/sdk-worker.py, gzip and base64 (without its comments and docstrings).
base64 -d <<'EOF' | gunzip >"$APP_DIR/sdk-worker.py"
# nodectl:include-gzip sdk-worker.py
EOF

# 5. The model code: MODEL_REPO (its requirements.txt installed, allora_sdk kept at the pin), or
# the example model.
rm -rf "$WORKER_DIR"
if [ -n "$MODEL_REPO" ]; then
  log "cloning $MODEL_REPO into $WORKER_DIR"
  retry git clone -q "$MODEL_REPO" "$WORKER_DIR"
  if [ -n "$MODEL_REPO_REF" ]; then
    git -C "$WORKER_DIR" checkout -q "$MODEL_REPO_REF" || fail "$MODEL_REPO has no ref '$MODEL_REPO_REF'"
  fi
  if [ -f "$WORKER_DIR/requirements.txt" ]; then
    retry "$APP_DIR/venv/bin/pip" install -q -c "$APP_DIR/constraints.txt" -r "$WORKER_DIR/requirements.txt"
  fi
else
  log "no MODEL_REPO: running the example model (templates/allora/sdk-model.py)"
  install -d -m 0755 "$WORKER_DIR"
  cat >"$WORKER_DIR/model.py" <<'EOF'
# nodectl:include sdk-model.py
EOF
fi
chown -R allora-sdk-worker:allora-sdk-worker "$WORKER_DIR"

# 6. The service: secrets written before every start (as root, the "+"), the worker unprivileged
# and confined, READY only after its chain-id check, restarted always.
{
  printf '#!/bin/bash\n# allora-sdk-worker-secrets: /run/allora-sdk-worker from the node secret\n'
  declare -p STACK_NAME REGION SECRET_ID MODEL_ENV_B64 RUN_DIR WORKER_UID
  declare -f has fetch_node_secret write_worker_secrets
  echo 'write_worker_secrets'
} >/usr/local/sbin/allora-sdk-worker-secrets
chmod 0700 /usr/local/sbin/allora-sdk-worker-secrets
cat >/etc/systemd/system/allora-sdk-worker.service <<EOF
[Unit]
Description=Allora SDK worker (allora_sdk $SDK_VERSION)
After=network-online.target
Wants=network-online.target
RequiresMountsFor=/data
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
User=allora-sdk-worker
Group=allora-sdk-worker
WorkingDirectory=$WORKER_DIR
RuntimeDirectory=allora-sdk-worker
RuntimeDirectoryMode=0700
LogsDirectory=allora-sdk-worker
ExecStartPre=+/usr/local/sbin/allora-sdk-worker-secrets
ExecStart=$APP_DIR/venv/bin/python $APP_DIR/sdk-worker.py $CONF
Restart=always
RestartSec=30
TimeoutStartSec=10min
TimeoutStopSec=60
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths=$WORKER_DIR

[Install]
WantedBy=multi-user.target
EOF
# The worker's chain submissions to CloudWatch every minute, for the stack's SubmissionAlarm:
# "submissions" of its status file, as allora_worker_chain_submission_count (namespace CWAgent,
# dimension InstanceId), the metric the offchain runtime publishes.
cat >/usr/local/bin/allora-sdk-worker-metrics <<'EOF'
#!/bin/bash
set -euo pipefail
imds=http://169.254.169.254/latest
token=$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/api/token")
meta() { curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"; }
count=$(jq -er '.submissions' /run/allora-sdk-worker/status.json)
aws cloudwatch put-metric-data --region "$(meta placement/region)" --namespace CWAgent \
  --metric-name allora_worker_chain_submission_count --unit Count --value "$count" \
  --dimensions "InstanceId=$(meta instance-id)"
EOF
chmod 0755 /usr/local/bin/allora-sdk-worker-metrics
printf '[Service]\nType=oneshot\nUser=allora-sdk-worker\nEnvironment=HOME=/tmp\nExecStart=/usr/local/bin/allora-sdk-worker-metrics\n' \
  >/etc/systemd/system/allora-sdk-worker-metrics.service
printf '[Timer]\nOnBootSec=2min\nOnUnitActiveSec=60s\n[Install]\nWantedBy=timers.target\n' \
  >/etc/systemd/system/allora-sdk-worker-metrics.timer
systemctl daemon-reload
systemctl enable allora-sdk-worker.service
systemctl enable --now allora-sdk-worker-metrics.timer

# 7. Start: systemctl returns once the worker has checked the chain id (READY=1), or fails.
log "starting allora-sdk-worker.service"
systemctl restart allora-sdk-worker.service || {
  journalctl -u allora-sdk-worker.service -n 20 --no-pager || true
  fail "allora-sdk-worker.service did not start: wrong network, no wallet, or the model failed to import? (journalctl -u allora-sdk-worker)"
}
log "worker running; signalling success"
signal 0 "nodectl user data completed: allora SDK worker running"
log "done"
