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
SECRET_ID='${CommonStackName}/node-secrets'
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

log() {
  echo "[nodectl-user-data $(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"
}

# Signal the Instance resource's CreationPolicy. $1: 0 (success) or 1 (failure), $2: reason.
# SignalResource has no reason field: a failure's reason travels as the signal's UniqueId, which
# CloudFormation shows in the failure event and nodectl prints as the root cause (at most 64
# characters of A-Za-z0-9._:/=-). The AWS CLI ships with the AL2023 AMI.
signal() {
  local code=$1 reason=$2 status=SUCCESS id
  id=$(cloud-init query instance_id 2>/dev/null || hostname)
  if [ "$code" != 0 ]; then
    status=FAILURE
    id=$(printf '%s' "$reason" | tr -c 'A-Za-z0-9._:/=-' '-' | cut -c 1-64)
  fi
  aws cloudformation signal-resource --stack-name "$STACK_NAME" --logical-resource-id Instance \
    --unique-id "$id" --status "$status" --region "$REGION"
}

fail() {
  trap - ERR
  log "FAILED: $*"
  signal 1 "$*" || log "could not send the failure signal to CloudFormation"
  exit 1
}

on_error() {
  local rc=$? line=$1 command
  trap - ERR
  # In a subshell just exit: the parent shell reports the failure.
  if [ "$BASH_SUBSHELL" -gt 0 ]; then
    exit "$rc"
  fi
  command=$(printf '%s\n' "$2" | head -n 1 | cut -c 1-200)
  fail "user data line $line: '$command' exited with status $rc"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

# Fails with reason $2 unless this node's entry of the secret passes the jq test $1.
secret_has() {
  jq -e --arg s "$STACK_NAME" ".[\$s] | $1" "$NODE_DIR/.secret" >/dev/null 2>&1 || {
    rm -f "$NODE_DIR/.secret"
    fail "secret $SECRET_ID: $2"
  }
}

# Writes the node's files (after the clone). The secret goes from the AWS CLI into a 0600 file read
# by jq: no secret on a command line or in the log; they end up only in config.json and .env
# (0600). The worker's env_file stays empty (no ALLORA_OFFCHAIN_NODE_CONFIG_JSON); worker-data is
# in the model dir, where compose resolves the model compose's relative paths.
write_node_config() {
  local old_umask
  old_umask=$(umask)
  umask 077
  mkdir -p "$NODE_DIR/keyring" "$MODEL_DIR/worker-data"
  chmod 0700 "$NODE_DIR" "$NODE_DIR/keyring" "$MODEL_DIR/worker-data"
  aws secretsmanager get-secret-value --secret-id "$SECRET_ID" --query SecretString \
    --output text --region "$REGION" >"$NODE_DIR/.secret"
  secret_has 'type == "object"' "not JSON or no entry for node stack $STACK_NAME"
  secret_has '.mnemonic | type == "string" and test("\\S")' "no mnemonic for node stack $STACK_NAME"
  secret_has '.modelEnv // {} | all(to_entries[]; (.key | test("^[A-Za-z_][A-Za-z0-9_]*$"))
    and (.value | type == "string" or type == "number"))' "modelEnv of $STACK_NAME must map names to strings"

  printf '%s' "$NODE_CONFIG_B64" | base64 -d |
    jq --slurpfile sec "$NODE_DIR/.secret" --arg s "$STACK_NAME" \
      '.wallet.addressRestoreMnemonic = $sec[0][$s].mnemonic' >"$NODE_DIR/config.json"
  # .env: the non-secret lines, then the secret ones, escaped for compose's double quotes.
  {
    printf '%s' "$MODEL_ENV_B64" | base64 -d
    echo
    jq -r --arg s "$STACK_NAME" '.[$s].modelEnv // {} | to_entries[] | "\(.key)=\"\(.value | tostring
      | gsub("\\\\"; "\\\\") | gsub("\""; "\\\"") | gsub("\\$"; "\\$") | gsub("\n"; "\\n"))\""' \
      "$NODE_DIR/.secret"
  } >"$MODEL_DIR/.env"
  rm -f "$NODE_DIR/.secret"
  : >"$MODEL_DIR/worker-data/env_file"
  chmod 0600 "$NODE_DIR/config.json" "$MODEL_DIR/.env" "$MODEL_DIR/worker-data/env_file"
  chown "$NODE_UID:$NODE_UID" "$NODE_DIR/config.json" "$NODE_DIR/keyring" "$MODEL_DIR/worker-data"

  # On top of the model's compose file; absolute paths (relative ones resolve in the model dir).
  # start_period: the worker waits for a healthy inference server, which trains first.
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
      - "$NODE_DIR/config.json:/config/config.json:ro"
      - "$NODE_DIR/keyring:/keyring"
EOF
  chmod 0644 "$OVERRIDE"
  umask "$old_umask"
}
# --- end write_node_config

# Runs "$@" up to 5 times, 15 s apart (the network can be unreachable early at boot).
retry() {
  local n=1
  until "$@"; do
    [ "$n" -lt 5 ] || fail "'$*' failed $n times"
    n=$((n + 1))
    log "'$*' failed; retrying in 15 seconds (attempt $n of 5)"
    sleep 15
  done
}

log "starting (stack $STACK_NAME, data volume type $DATA_VOLUME_TYPE)"

# 1. Packages (Amazon Linux 2023 repositories only).
retry dnf install -y docker amazon-cloudwatch-agent jq git

# 2. /data, prepared before docker starts.
mkdir -p /data

# Prints the EBS data volume's device (Nitro: by-id link of the volume id without its dash; Xen: sdf).
find_ebs_device() {
  local candidate
  for candidate in \
    "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$(printf '%s' "$DATA_VOLUME_ID" | sed 's/-//g')" \
    /dev/sdf /dev/xvdf; do
    if [ -b "$candidate" ]; then
      readlink -f "$candidate"
      return 0
    fi
  done
  return 1
}

setup_ebs_data_volume() {
  local dev deadline fstype uuid
  log "waiting for EBS data volume $DATA_VOLUME_ID"
  deadline=$((SECONDS + 600))
  until dev=$(find_ebs_device); do
    [ "$SECONDS" -lt "$deadline" ] || fail "EBS data volume $DATA_VOLUME_ID not attached after 10 minutes"
    sleep 5
  done
  udevadm settle
  log "data volume $DATA_VOLUME_ID is $dev"

  # Format only a blank device (no filesystem, no partition table).
  if blkid -p "$dev" >/dev/null 2>&1; then
    log "$dev already has a filesystem; not formatting"
  else
    log "formatting $dev as xfs"
    mkfs.xfs "$dev"
    udevadm settle
  fi
  fstype=$(blkid -p -s TYPE -o value "$dev")
  uuid=$(blkid -p -s UUID -o value "$dev")
  { [ -n "$fstype" ] && [ -n "$uuid" ]; } || fail "cannot read the filesystem type and UUID of $dev"

  # Mount by UUID from /etc/fstab (nofail: boots without the volume).
  if awk -v entry="UUID=$uuid" '$1 == entry { found = 1 } END { exit !found }' /etc/fstab; then
    log "/etc/fstab already mounts UUID=$uuid"
  else
    # Drop a stale /data entry (another volume).
    sed -i -E '/^[^#]*[[:space:]]\/data[[:space:]]/d' /etc/fstab
    echo "UUID=$uuid /data $fstype defaults,noatime,nofail 0 2" >>/etc/fstab
    log "added UUID=$uuid /data to /etc/fstab"
  fi
  systemctl daemon-reload
  mountpoint -q /data || mount /data

  # docker waits for /data (nofail mounts are not ordered before local-fs.target).
  mkdir -p /etc/systemd/system/docker.service.d
  cat >/etc/systemd/system/docker.service.d/10-nodectl-data.conf <<'EOF'
[Unit]
RequiresMountsFor=/data
EOF
  systemctl daemon-reload
}

setup_instance_store_data_volume() {
  log "installing the instance-store /data unit"
  # Instance store is blank after a stop/start: format (if blank) and mount at every boot.
  cat >/usr/local/sbin/nodectl-instance-store-data <<'EOF'
#!/bin/bash
set -euo pipefail
mountpoint -q /data && exit 0
model="Amazon EC2 NVMe Instance Storage"
for _ in $(seq 60); do
  dev=$(lsblk -d -n -p -o NAME,MODEL | awk -v m="$model" 'index($0, m) { print $1; exit }')
  [ -n "$dev" ] && break
  sleep 1
done
[ -n "$dev" ] || { echo "no instance-store device (model '$model')" >&2; exit 1; }
if ! blkid -p "$dev" >/dev/null 2>&1; then
  echo "formatting $dev as xfs"
  mkfs.xfs "$dev"
  udevadm settle
fi
mkdir -p /data
mount -o noatime "$dev" /data
EOF
  chmod 0755 /usr/local/sbin/nodectl-instance-store-data

  cat >/etc/systemd/system/nodectl-instance-store-data.service <<'EOF'
[Unit]
Description=Instance-store volume at /data
Before=docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/nodectl-instance-store-data

[Install]
WantedBy=multi-user.target
RequiredBy=docker.service
EOF
  systemctl daemon-reload
  systemctl enable --now nodectl-instance-store-data.service
}

case "$DATA_VOLUME_TYPE" in
  gp3 | io1 | io2)
    [ -n "$DATA_VOLUME_ID" ] || fail "data volume type $DATA_VOLUME_TYPE but no data volume id"
    setup_ebs_data_volume
    ;;
  instance-store)
    setup_instance_store_data_volume
    ;;
  *)
    fail "unknown data volume type '$DATA_VOLUME_TYPE'"
    ;;
esac
mountpoint -q /data || fail "/data is not mounted"
log "/data is mounted: $(findmnt -n -o SOURCE,FSTYPE /data)"

# 3. Docker, data root on /data (written before docker first starts).
log "starting docker (data root /data/docker)"
mkdir -p /etc/docker
[ -s /etc/docker/daemon.json ] || echo '{}' >/etc/docker/daemon.json
jq '."data-root" = "/data/docker"' /etc/docker/daemon.json >/etc/docker/daemon.json.new
mv /etc/docker/daemon.json.new /etc/docker/daemon.json
systemctl enable --now docker

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

# 4. CloudWatch agent. The instance id is written in (its placeholder needs the Fn::Sub escape).
log "configuring the CloudWatch agent"
CW_AGENT_CONFIG=/opt/aws/amazon-cloudwatch-agent/etc/nodectl-amazon-cloudwatch-agent.json
INSTANCE_ID=$(cloud-init query instance_id)
cat >"$CW_AGENT_CONFIG" <<EOF
{
  "agent": {"metrics_collection_interval": 60, "run_as_user": "root"},
  "metrics": {
    "namespace": "CWAgent",
    "append_dimensions": {"InstanceId": "$INSTANCE_ID"},
    "metrics_collected": {
      "mem": {"measurement": ["mem_used_percent"]},
      "disk": {"measurement": ["used_percent"], "resources": ["/", "/data"], "drop_device": true}
    }
  }
}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c "file:$CW_AGENT_CONFIG"

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
write_node_config
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
ExecStart=$COMPOSE_CMD up -d --build --remove-orphans
ExecStop=$COMPOSE_CMD down
TimeoutStartSec=20min

[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable allora-node.service

# 7. Start, wait until the inference server answers (the model trains first) and the worker runs:
# 20 minutes in all, within the PT30M CreationPolicy.
deadline=$((SECONDS + 1200))
log "starting allora-node.service (docker compose up --build)"
systemctl start allora-node.service ||
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
