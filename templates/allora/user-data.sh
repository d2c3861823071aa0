#!/bin/bash
# shellcheck disable=SC2016 # jq programs: $vars in single quotes
# nodectl user data: Allora worker node, Amazon Linux 2023 (log: /var/log/cloud-init-output.log).
# Fn::Sub text: dollar-braces only for CloudFormation names, no Fn::Sub escape (LocalStack rejects
# it); values are single-quoted (no single quote in them). No set -x: the mnemonic passes here.
# --- begin write_node_config (tests/userdata.rs runs this part with NODECTL_ROOT=<temp dir>)
set -Eeuo pipefail

STACK_NAME='${AWS::StackName}'
REGION='${AWS::Region}'
DATA_VOLUME_TYPE='${DataVolumeType}'
DATA_VOLUME_ID='${DataVolumeId}'
SECRET_ID='${AWS::StackName}/node-secret'
NODE_IMAGE='${OffchainNodeImage}'
NODE_CONFIG_B64='${OffchainNodeConfig}'
MODEL_REPO='${ModelRepo}'
MODEL_REPO_REF='${ModelRepoRef}'
MODEL_ENV_B64='${ModelEnv}'
HEALTH_URL='${InferenceHealthUrl}'
INFERENCE_ALIAS='${InferenceHostAlias}'
COMPOSE_VERSION=v2.29.7
NODE_UID=10001
ROOT=$(printenv NODECTL_ROOT || true) # empty on the instance
NODE_DIR=$ROOT/data/allora
MODEL_DIR=$NODE_DIR/model
OVERRIDE=$NODE_DIR/compose.override.yaml
RUN_DIR=$ROOT/run/allora # tmpfs: the files that hold secrets, written again at every start

# nodectl:include prelude.sh
# nodectl:include node-secret.sh

# The node's directories on /data, which hold no secret: the keyring (the worker's HOME),
# worker-data with an empty env_file (no config in the environment), the model's .env as a link
# to the one write_node_config writes in /run, and the compose override on top of the model's
# compose file (absolute paths; start_period: the worker waits for a healthy inference server,
# which trains first).
prepare_node_dirs() {
  local old_umask
  old_umask=$(umask)
  umask 077
  mkdir -p "$NODE_DIR/keyring" "$MODEL_DIR/worker-data"
  chmod 0700 "$NODE_DIR" "$NODE_DIR/keyring" "$MODEL_DIR/worker-data"
  : >"$MODEL_DIR/worker-data/env_file"
  chmod 0600 "$MODEL_DIR/worker-data/env_file"
  chown "$NODE_UID:$NODE_UID" "$NODE_DIR/keyring" "$MODEL_DIR/worker-data"
  ln -sfn "$RUN_DIR/model.env" "$MODEL_DIR/.env"
  cat >"$OVERRIDE" <<EOF
services:
  inference:
    restart: unless-stopped
    healthcheck:
      start_period: 15m
    networks:
      default:
        aliases: ["$INFERENCE_ALIAS"]
  worker:
    image: "$NODE_IMAGE"
    restart: unless-stopped
    user: "$NODE_UID:$NODE_UID"
    environment:
      HOME: /keyring
      ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH: /config/config.json
    volumes:
      - "$RUN_DIR/config.json:/config/config.json:ro"
      - "$NODE_DIR/keyring:/keyring"
EOF
  chmod 0644 "$OVERRIDE"
  umask "$old_umask"
}

# Writes the files that hold this node's secrets into $RUN_DIR (tmpfs; 0700, files 0600):
# config.json (the generated config with the mnemonic, the worker's) and model.env (the model's
# .env: the public lines, then the secret ones escaped for compose's double quotes). The secret
# goes from the AWS CLI into a 0600 file that jq reads and a trap removes on every exit path:
# never on a command line, in the log or under /data. Runs at boot and before every start of
# allora-node.service (/run is emptied at reboot). Fails with the reason on stderr, leaving no
# file behind.
write_node_config() (
  set -euo pipefail
  umask 077
  mkdir -p "$RUN_DIR"
  secret=$(mktemp "$RUN_DIR/.secret.XXXXXX")
  trap 'rm -f "$secret" "$RUN_DIR/config.json.new" "$RUN_DIR/model.env.new"' EXIT
  fetch_node_secret
  printf '%s' "$NODE_CONFIG_B64" | base64 -d | gunzip |
    jq --slurpfile sec "$secret" --arg s "$STACK_NAME" \
      '.wallet.addressRestoreMnemonic = $sec[0][$s].mnemonic' >"$RUN_DIR/config.json.new"
  {
    printf '%s' "$MODEL_ENV_B64" | base64 -d
    echo
    jq -r --arg s "$STACK_NAME" '.[$s].modelEnv // {} | to_entries[] | "\(.key)=\"\(.value | tostring
      | gsub("\\\\"; "\\\\") | gsub("\""; "\\\"") | gsub("\\$"; "\\$") | gsub("\n"; "\\n"))\""' \
      "$secret"
  } >"$RUN_DIR/model.env.new"
  chown "$NODE_UID:$NODE_UID" "$RUN_DIR/config.json.new"
  mv -f "$RUN_DIR/config.json.new" "$RUN_DIR/config.json"
  mv -f "$RUN_DIR/model.env.new" "$RUN_DIR/model.env"
)
# --- end write_node_config

log "starting (stack $STACK_NAME, data volume type $DATA_VOLUME_TYPE)"

# 1. Packages (Amazon Linux 2023 repositories only).
retry dnf install -y docker amazon-cloudwatch-agent jq git

# 2. /data, prepared before docker starts.
# nodectl:include data-volume.sh

# 3. Docker, data root on /data (written before docker first starts).
# nodectl:include docker.sh

# Compose v2 plugin: not in AL2023's repositories. The only download outside dnf: the pinned
# release binary, checked against its published .sha256.
install_compose_plugin() (
  f=docker-compose-linux-$(uname -m)
  url=https://github.com/docker/compose/releases/download/$COMPOSE_VERSION/$f
  cd "$(mktemp -d)" && curl -fsSLO "$url" && curl -fsSLO "$url.sha256" &&
    printf '%s  %s\n' "$(cut -d ' ' -f 1 "$f.sha256")" "$f" | sha256sum -c - &&
    install -D -m 0755 "$f" /usr/local/lib/docker/cli-plugins/docker-compose
)
log "installing docker compose $COMPOSE_VERSION"
retry install_compose_plugin
docker compose version

# 4. CloudWatch agent: memory and disk use, dimension InstanceId (as the dashboard asks).
# nodectl:include cloudwatch-agent.sh
log "configuring the CloudWatch agent"
start_cw_agent '{"mem": {"measurement": ["mem_used_percent"]},
  "disk": {"measurement": ["used_percent"], "resources": ["/", "/data"], "drop_device": true}}'

# 5. The model repo (compose services inference, worker) and the node's files.
log "cloning $MODEL_REPO into $MODEL_DIR"
install -d -m 0700 "$NODE_DIR"
rm -rf "$MODEL_DIR"
retry git clone -q "$MODEL_REPO" "$MODEL_DIR"
if [ -n "$MODEL_REPO_REF" ]; then
  git -C "$MODEL_DIR" checkout -q "$MODEL_REPO_REF" || fail "$MODEL_REPO has no ref '$MODEL_REPO_REF'"
fi
MODEL_COMPOSE=""
for f in compose.yaml compose.yml docker-compose.yaml docker-compose.yml; do
  [ -f "$MODEL_DIR/$f" ] && MODEL_COMPOSE=$MODEL_DIR/$f && break
done
[ -n "$MODEL_COMPOSE" ] || fail "$MODEL_REPO has no compose file (compose.yaml or docker-compose.yml)"
log "writing the node configuration"
prepare_node_dirs
err=$(write_node_config 2>&1) || fail "$err"
# Written again from the secret before every start of the service (/run is emptied at reboot).
{
  printf '#!/bin/bash\n# allora-node-config: /run/allora/config.json and model.env from the node secret\n'
  declare -p STACK_NAME REGION SECRET_ID NODE_CONFIG_B64 MODEL_ENV_B64 RUN_DIR NODE_UID
  declare -f has fetch_node_secret write_node_config
  echo 'write_node_config'
} >/usr/local/sbin/allora-node-config
chmod 0700 /usr/local/sbin/allora-node-config
compose() {
  docker compose -p allora -f "$MODEL_COMPOSE" -f "$OVERRIDE" "$@"
}
compose config -q || fail "docker compose rejects $MODEL_COMPOSE with $OVERRIDE"

# 6. allora-node.service, at every boot. Oneshot (no Restart=): containers restart on their own.
COMPOSE_CMD="/usr/bin/docker compose -p allora -f $MODEL_COMPOSE -f $OVERRIDE"
cat >/etc/systemd/system/allora-node.service <<EOF
[Unit]
Description=Allora worker node (docker compose project allora)
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target
RequiresMountsFor=/data

[Service]
Type=oneshot
RemainAfterExit=yes
WorkingDirectory=$MODEL_DIR
ExecStartPre=/usr/local/sbin/allora-node-config
ExecStart=$COMPOSE_CMD up -d --build --remove-orphans
ExecStop=$COMPOSE_CMD down
TimeoutStartSec=20min

[Install]
WantedBy=multi-user.target
EOF
# The worker's chain submissions to CloudWatch every minute, for the stack's SubmissionAlarm:
# the sum of allora_worker_chain_submission_count on the worker's :2112/metrics (not published
# on the host: read at the container's address). Dimension InstanceId, namespace CWAgent.
cat >/usr/local/bin/allora-node-metrics <<'EOF'
#!/bin/bash
set -euo pipefail
imds=http://169.254.169.254/latest
token=$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/api/token")
meta() { curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"; }
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' allora-worker-1)
count=$(curl -fsS -m 10 "http://$ip:2112/metrics" |
  awk '$1 ~ /^allora_worker_chain_submission_count([{]|$)/ {s += $NF} END {print s + 0}')
aws cloudwatch put-metric-data --region "$(meta placement/region)" --namespace CWAgent \
  --metric-name allora_worker_chain_submission_count --unit Count --value "$count" \
  --dimensions "InstanceId=$(meta instance-id)"
EOF
chmod 0755 /usr/local/bin/allora-node-metrics
printf '[Service]\nType=oneshot\nDynamicUser=yes\nSupplementaryGroups=docker\nEnvironment=HOME=/tmp\nExecStart=/usr/local/bin/allora-node-metrics\n' \
  >/etc/systemd/system/allora-node-metrics.service
printf '[Timer]\nOnBootSec=2min\nOnUnitActiveSec=60s\n[Install]\nWantedBy=timers.target\n' \
  >/etc/systemd/system/allora-node-metrics.timer
systemctl daemon-reload
systemctl enable allora-node.service
systemctl enable --now allora-node-metrics.timer

# 7. Start, wait until the inference server answers (the model trains first) and the worker runs:
# 20 minutes in all, within the PT30M CreationPolicy.
deadline=$((SECONDS + 1200))
log "starting allora-node.service (docker compose up --build)"
systemctl restart allora-node.service ||
  fail "allora-node.service failed: build error or unhealthy inference server? (journalctl -u allora-node)"
while :; do
  missing=""
  if ! curl_error=$(curl -fsS -m 10 -o /dev/null "$HEALTH_URL" 2>&1); then
    missing=" inference server ($HEALTH_URL: $curl_error);"
  fi
  if ! compose ps --status running --services | grep -x worker >/dev/null; then
    missing="$missing worker container;"
  fi
  [ -n "$missing" ] || break
  [ "$SECONDS" -lt "$deadline" ] || fail "not running 20 minutes after the start:$missing"
  log "waiting for:$missing"
  sleep 15
done
log "node running; signalling success"
signal 0 "nodectl user data completed: allora node running"
log "done"
