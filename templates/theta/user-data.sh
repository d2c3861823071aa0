#!/bin/bash
# shellcheck disable=SC2016 # jq programs and generated files: $vars in single quotes
# nodectl user data: Theta Edge Node, AL2023 (log: /var/log/cloud-init-output.log). An Fn::Sub
# text: see templates/theta/README.md. No set -x: the password passes here.
set -Eeuo pipefail

STACK_NAME='${AWS::StackName}'
REGION='${AWS::Region}'
DATA_VOLUME_TYPE='${DataVolumeType}'
DATA_VOLUME_ID='${DataVolumeId}'
DATA_DEVICE_NAME='${DataDeviceName}'
SECRET_ID='${AWS::StackName}/node-secret'
EDGE_NETWORK='${EdgeNetwork}'
EDGE_IMAGE='${EdgeLauncherImage}'
EDGE_NODE_GPU='${EdgeNodeGpu}'
NVIDIA_BRANCH=580 # AL2023 NVIDIA repository, long-term support branch
NODE_DIR=/data/edgelauncher
ENV_FILE=/run/theta-edge-node/edgelauncher.env
# nodectl:include prelude.sh

# --- begin write_password_env (tests/userdata.rs runs it with a fake AWS CLI)
# Writes PASSWORD=<password of stack $2 in secret $1, region $3> to $4 (0600) via a 0600 file and
# jq, never on a command line. Fails with the reason on stderr, leaving no file.
write_password_env() (
  set -euo pipefail
  secret_id=$1 stack=$2 region=$3 out=$4
  umask 077
  json=$(mktemp "$out.XXXXXX")
  trap 'rm -f "$json" "$json.env"' EXIT
  if ! aws secretsmanager get-secret-value --secret-id "$secret_id" --query SecretString \
    --output text --region "$region" >"$json"; then
    echo "cannot read secret $secret_id" >&2
    exit 1
  fi
  if ! jq -e --arg s "$stack" '.[$s].password | type == "string" and length > 0
    and (explode | all(. >= 32 and . != 127))' "$json" >/dev/null 2>&1; then
    echo "secret $secret_id: no password for node stack $stack (one-line string)" >&2
    exit 1
  fi
  jq -r --arg s "$stack" '"PASSWORD=" + .[$s].password' "$json" >"$json.env"
  mv -f "$json.env" "$out"
)
# --- end write_password_env

log "starting (stack $STACK_NAME, data volume $DATA_VOLUME_TYPE, GPU $EDGE_NODE_GPU)"
retry dnf install -y docker amazon-cloudwatch-agent jq
# The launcher reads the password at every start; check it now, naming the stack if it is missing.
install -d -m 0700 /run/nodectl
err=$(write_password_env "$SECRET_ID" "$STACK_NAME" "$REGION" /run/nodectl/check.env 2>&1) || fail "$err"
rm -f /run/nodectl/check.env

# /data (before docker starts); the node's keys and config go to $NODE_DIR.
# nodectl:include data-volume.sh
getent group bcuser >/dev/null || groupadd -g 1002 bcuser
id bcuser >/dev/null 2>&1 || useradd -u 1002 -g 1002 -M -d /nonexistent -s /sbin/nologin bcuser
install -d -m 0700 -o bcuser -g bcuser "$NODE_DIR"

# nodectl:include docker.sh

# GPU: AL2023 NVIDIA repository (nvidia-release): open kernel modules built by DKMS for the
# running kernel (its -devel package: kernel, kernel6.12, ...), CUDA driver, container toolkit.
GPUS=""
if [ "$EDGE_NODE_GPU" = enabled ]; then
  log "installing the NVIDIA driver ($NVIDIA_BRANCH) and container toolkit"
  retry dnf install -y nvidia-release
  kernel=$({ rpm -qf --qf '%{NAME}\n' "/boot/vmlinuz-$(uname -r)" "/lib/modules/$(uname -r)" \
    2>/dev/null || true; } | grep -m 1 -E '^kernel[0-9.]*$') || fail "no package owns kernel $(uname -r)"
  retry dnf install -y "$kernel-devel-$(uname -r)"
  dnf install -y "$kernel-headers-$(uname -r)" || log "no $kernel-headers-$(uname -r); continuing"
  retry dnf install -y "kmod-nvidia-open-dkms-$NVIDIA_BRANCH.*" "nvidia-driver-cuda-$NVIDIA_BRANCH.*" \
    nvidia-container-toolkit
  { modprobe nvidia && modprobe nvidia_uvm; } || fail "NVIDIA kernel module does not load (dkms status)"
  gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1) ||
    fail "nvidia-smi: $gpu"
  log "GPU: $gpu"
  nvidia-container-cli info >/dev/null || fail "NVIDIA container toolkit sees no GPU"
  nvidia-ctk runtime configure --runtime=docker
  systemctl restart docker
  GPUS="--gpus all"
fi

# CloudWatch agent: upstream's measurements, dimension InstanceId (as the dashboard asks).
# nodectl:include cloudwatch-agent.sh
log "configuring the CloudWatch agent"
DATA_DEV=$(basename "$(findmnt -n -o SOURCE /data)")
[ "$DATA_DEV" = "$DATA_DEVICE_NAME" ] ||
  log "warning: /data is $DATA_DEV, the dashboard shows DataDeviceName $DATA_DEVICE_NAME"
start_cw_agent "$(jq -n --arg dev "$DATA_DEV" --arg p "$DATA_DEVICE_NAME" '{
  cpu: {measurement: ["usage_idle", "usage_iowait", "usage_user", "usage_system"], totalcpu: true},
  disk: {measurement: ["used_percent"], resources: ["/", "/data"], drop_device: true},
  diskio: {measurement: ["io_time", "read_bytes", "write_bytes", "reads", "writes", "read_time",
    "write_time", "iops_in_progress"], resources: ([$dev, $p] | unique)},
  mem: {measurement: ["used_percent", "cached"]},
  netstat: {measurement: ["tcp_established", "tcp_time_wait"]},
  swap: {measurement: ["used_percent"]}}')"

# Block height and peer count (one metric: per-peer metrics cost money), every minute.
cat >/usr/local/bin/theta-edge-metrics <<'EOF'
#!/bin/bash
set -euo pipefail
imds=http://169.254.169.254/latest
token=$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/api/token")
meta() { curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"; }
rpc() {
  curl -fsS -m 10 -H 'Content-Type: application/json' http://127.0.0.1:17888/rpc \
    -d "{\"jsonrpc\":\"2.0\",\"method\":\"edgecore.$1\",\"params\":[],\"id\":1}"
}
height=$(rpc GetStatus | jq -e '.result.current_height | tonumber')
peers=$(rpc GetPeers | jq -e '.result.peers // [] | length')
aws cloudwatch put-metric-data --region "$(meta placement/region)" --namespace CWAgent \
  --metric-data "$(jq -nc --arg id "$(meta instance-id)" --argjson h "$height" --argjson p "$peers" \
  '[["theta_current_block_height", $h], ["theta_peer_count", $p]] | map({MetricName: .[0],
  Value: .[1], Unit: "Count", Dimensions: [{Name: "InstanceId", Value: $id}]})')"
EOF
chmod 0755 /usr/local/bin/theta-edge-metrics
cat >/etc/systemd/system/theta-edge-metrics.service <<'EOF'
[Unit]
Description=Theta Edge Node metrics to CloudWatch
[Service]
Type=oneshot
DynamicUser=yes
Environment=HOME=/tmp
ExecStart=/usr/local/bin/theta-edge-metrics
EOF
cat >/etc/systemd/system/theta-edge-metrics.timer <<'EOF'
[Timer]
OnBootSec=2min
OnUnitActiveSec=60s
[Install]
WantedBy=timers.target
EOF

# The launcher, as bcuser. At every start: password -> 0600 env file in /run -> `docker create`
# (which has read it when it exits) -> file deleted -> `docker start --attach` in the foreground.
{
  printf '#!/bin/bash\n# theta-edge-password-env <secret> <stack> <region> <file>\nset -euo pipefail\n'
  declare -f write_password_env
  echo 'write_password_env "$@"'
} >/usr/local/sbin/theta-edge-password-env
chmod 0755 /usr/local/sbin/theta-edge-password-env
MOUNT=/edgelauncher/data/$EDGE_NETWORK
cat >/etc/systemd/system/theta-edge-node.service <<EOF
[Unit]
Description=Theta Edge Node ($EDGE_IMAGE)
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target
RequiresMountsFor=/data
[Service]
User=bcuser
Group=bcuser
SupplementaryGroups=docker
Environment=HOME=/run/theta-edge-node
RuntimeDirectory=theta-edge-node
RuntimeDirectoryMode=0700
ExecStartPre=+/usr/bin/install -d -m 0700 -o bcuser -g bcuser $NODE_DIR
ExecStartPre=-/usr/bin/docker rm -f edgelauncher
ExecStartPre=/usr/local/sbin/theta-edge-password-env $SECRET_ID $STACK_NAME $REGION $ENV_FILE
ExecStartPre=/usr/bin/docker create --rm --name edgelauncher $GPUS --user 1002:1002 \\
  --env-file $ENV_FILE -e EDGELAUNCHER_CONFIG_PATH=$MOUNT -v $NODE_DIR:$MOUNT \\
  -p 127.0.0.1:15888:15888 -p 127.0.0.1:17888:17888 -p 127.0.0.1:17935:17935 $EDGE_IMAGE
ExecStartPre=/usr/bin/rm -f $ENV_FILE
ExecStart=/usr/bin/docker start --attach edgelauncher
ExecStop=/usr/bin/docker stop -t 30 edgelauncher
Restart=always
RestartSec=15
TimeoutStartSec=10min
[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
log "pulling $EDGE_IMAGE"
retry docker pull -q "$EDGE_IMAGE"
systemctl enable --now theta-edge-metrics.timer
systemctl enable theta-edge-node.service
systemctl restart theta-edge-node.service || fail "theta-edge-node does not start (journalctl -u theta-edge-node)"

# Wait for the edge core (upstream: about 10 minutes), 25 minutes at most (PT45M CreationPolicy).
deadline=$((SECONDS + 1500))
until status=$(curl -fsS -m 10 -H 'Content-Type: application/json' http://127.0.0.1:17888/rpc \
  -d '{"jsonrpc":"2.0","method":"edgecore.GetStatus","params":[],"id":1}' 2>/dev/null) &&
  jq -e .result <<<"$status" >/dev/null 2>&1; do
  [ "$SECONDS" -lt "$deadline" ] ||
    fail "Theta edge core RPC not answering after 25 minutes (journalctl -u theta-edge-node)"
  log "waiting for the edge core (theta-edge-node: $(systemctl is-active theta-edge-node || true))"
  sleep 15
done
log "edge core up: $(jq -c '.result | {address, current_height}' <<<"$status")"
signal 0 "nodectl user data completed: Theta edge node running"
log "done"
