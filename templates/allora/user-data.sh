#!/bin/bash
# nodectl: bootstrap of an Allora worker node instance (Amazon Linux 2023, run as root by cloud-init).
#
# This file is the first argument of an Fn::Sub in single-node.json (nodectl inserts it at render time).
# CloudFormation substitutes the dollar-brace names below (stack name, region, data volume id and type).
# Shell variables must therefore be written as $VAR; where braces are needed, write them with an
# exclamation mark after the opening brace, which Fn::Sub renders as a plain dollar-brace.
#
# Steps: install packages, prepare /data, start docker and the CloudWatch agent, signal CloudFormation.
# Log: /var/log/cloud-init-output.log
set -Eeuo pipefail

STACK_NAME="${AWS::StackName}"
REGION="${AWS::Region}"
DATA_VOLUME_TYPE="${DataVolumeType}"
DATA_VOLUME_ID="${DataVolumeId}"
DATA_DIR=/data
CW_AGENT_CONFIG=/opt/aws/amazon-cloudwatch-agent/etc/nodectl-amazon-cloudwatch-agent.json

log() {
  echo "[nodectl-user-data $(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"
}

# Signal the Instance resource's CreationPolicy. $1: 0 (success) or 1 (failure), $2: reason.
# cfn-signal comes from the aws-cfn-bootstrap package; if that is not installed (the dnf step failed),
# fall back to the AWS CLI that ships with the Amazon Linux 2023 AMI.
signal() {
  local code=$1 reason=$2 status=SUCCESS instance_id
  if [ -x /opt/aws/bin/cfn-signal ]; then
    /opt/aws/bin/cfn-signal --exit-code "$code" --reason "$reason" \
      --stack "$STACK_NAME" --resource Instance --region "$REGION"
  else
    if [ "$code" != 0 ]; then
      status=FAILURE
    fi
    instance_id=$(cloud-init query instance_id 2>/dev/null || hostname)
    aws cloudformation signal-resource --stack-name "$STACK_NAME" --logical-resource-id Instance \
      --unique-id "$instance_id" --status "$status" --region "$REGION"
  fi
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
  # In a subshell (command substitution) just exit: the parent shell reports the failure.
  if [ "$BASH_SUBSHELL" -gt 0 ]; then
    exit "$rc"
  fi
  command=$(printf '%s\n' "$2" | head -n 1 | cut -c 1-200)
  fail "user data line $line: '$command' exited with status $rc"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

log "starting (stack $STACK_NAME, region $REGION, data volume type $DATA_VOLUME_TYPE)"

# 1. Packages (Amazon Linux 2023 repositories only). Retry: the repositories can be briefly unreachable at boot.
log "installing docker, amazon-cloudwatch-agent and aws-cfn-bootstrap"
attempt=1
until dnf install -y docker amazon-cloudwatch-agent aws-cfn-bootstrap; do
  if [ "$attempt" -ge 5 ]; then
    fail "dnf install failed $attempt times"
  fi
  attempt=$((attempt + 1))
  log "dnf install failed; retrying in 15 seconds (attempt $attempt of 5)"
  sleep 15
done

# 2. Data volume at /data, prepared before docker starts.
mkdir -p "$DATA_DIR"

# Prints the block device of the attached EBS data volume, or fails if it is not attached (yet).
find_ebs_device() {
  local candidate
  # Nitro: the NVMe device has a by-id link named after the volume id without its dash.
  # Xen: the device keeps its attachment name (sdf, shown as xvdf).
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
  log "waiting up to 10 minutes for EBS data volume $DATA_VOLUME_ID to be attached"
  deadline=$((SECONDS + 600))
  until dev=$(find_ebs_device); do
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "EBS data volume $DATA_VOLUME_ID was not attached within 10 minutes"
    fi
    sleep 5
  done
  udevadm settle
  log "data volume $DATA_VOLUME_ID is $dev"

  # Format only a blank device (blkid -p finds no filesystem and no partition table).
  if blkid -p "$dev" >/dev/null 2>&1; then
    log "$dev already has a filesystem; not formatting"
  else
    log "formatting $dev as xfs"
    mkfs.xfs "$dev"
    udevadm settle
  fi
  fstype=$(blkid -p -s TYPE -o value "$dev")
  uuid=$(blkid -p -s UUID -o value "$dev")
  if [ -z "$fstype" ] || [ -z "$uuid" ]; then
    fail "cannot read the filesystem type and UUID of $dev"
  fi

  # Mount by UUID from /etc/fstab (nofail: an instance without the volume still boots and is reachable).
  if awk -v entry="UUID=$uuid" '$1 == entry { found = 1 } END { exit !found }' /etc/fstab; then
    log "/etc/fstab already mounts UUID=$uuid"
  else
    # Drop a stale /data entry (another volume) so that there is exactly one.
    sed -i -E '/^[^#]*[[:space:]]\/data[[:space:]]/d' /etc/fstab
    echo "UUID=$uuid $DATA_DIR $fstype defaults,noatime,nofail 0 2" >>/etc/fstab
    log "added UUID=$uuid $DATA_DIR to /etc/fstab"
  fi
  systemctl daemon-reload
  if ! mountpoint -q "$DATA_DIR"; then
    mount "$DATA_DIR"
  fi

  # docker starts only once /data is mounted (nofail mounts are not ordered before local-fs.target).
  mkdir -p /etc/systemd/system/docker.service.d
  cat >/etc/systemd/system/docker.service.d/10-nodectl-data.conf <<'EOF'
[Unit]
RequiresMountsFor=/data
EOF
  systemctl daemon-reload
}

setup_instance_store_data_volume() {
  log "installing the instance-store /data unit"
  # Instance store is blank after a stop/start, so this runs at every boot (no fstab UUID entry).
  cat >/usr/local/sbin/nodectl-instance-store-data <<'EOF'
#!/bin/bash
# Installed by nodectl user data. Formats the first NVMe instance-store device as xfs if it has no
# filesystem, and mounts it at /data. Runs at every boot (nodectl-instance-store-data.service).
set -euo pipefail
model="Amazon EC2 NVMe Instance Storage"
if mountpoint -q /data; then
  echo "/data is already mounted"
  exit 0
fi
dev=""
for _ in $(seq 1 60); do
  dev=$(lsblk -d -n -p -o NAME,MODEL | awk -v m="$model" 'index($0, m) { print $1; exit }')
  if [ -n "$dev" ]; then
    break
  fi
  sleep 1
done
if [ -z "$dev" ]; then
  echo "no NVMe instance-store device found (model '$model'); does the instance type have instance storage?" >&2
  exit 1
fi
if blkid -p "$dev" >/dev/null 2>&1; then
  echo "$dev already has a filesystem; not formatting"
else
  echo "formatting $dev as xfs"
  mkfs.xfs "$dev"
  udevadm settle
fi
mkdir -p /data
mount -o noatime "$dev" /data
echo "mounted $dev at /data"
EOF
  chmod 0755 /usr/local/sbin/nodectl-instance-store-data

  cat >/etc/systemd/system/nodectl-instance-store-data.service <<'EOF'
[Unit]
Description=Format (if blank) and mount the first NVMe instance-store volume at /data
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
    if [ -z "$DATA_VOLUME_ID" ]; then
      fail "data volume type $DATA_VOLUME_TYPE but no data volume id"
    fi
    setup_ebs_data_volume
    ;;
  instance-store)
    setup_instance_store_data_volume
    ;;
  *)
    fail "unknown data volume type '$DATA_VOLUME_TYPE'"
    ;;
esac
if ! mountpoint -q "$DATA_DIR"; then
  fail "$DATA_DIR is not mounted"
fi
log "$DATA_DIR is mounted: $(findmnt -n -o SOURCE,FSTYPE "$DATA_DIR")"

# 3. Docker.
log "starting docker"
systemctl enable --now docker

# 4. CloudWatch agent: memory and disk usage (namespace CWAgent, dimension InstanceId).
# drop_device keeps the disk dimensions stable (InstanceId, path, fstype) for the dashboard.
# The instance id is written in literally rather than as the agent's aws:InstanceId
# placeholder: that placeholder would need the Fn::Sub escape (dollar, brace, exclamation
# mark), which LocalStack, the emulator the lifecycle tests run on, does not parse.
log "configuring the CloudWatch agent"
INSTANCE_ID=$(cloud-init query instance_id)
cat >"$CW_AGENT_CONFIG" <<EOF
{
  "agent": {
    "metrics_collection_interval": 60,
    "run_as_user": "root"
  },
  "metrics": {
    "namespace": "CWAgent",
    "append_dimensions": {
      "InstanceId": "$INSTANCE_ID"
    },
    "metrics_collected": {
      "mem": {
        "measurement": ["mem_used_percent"]
      },
      "disk": {
        "measurement": ["used_percent"],
        "resources": ["/", "/data"],
        "drop_device": true
      }
    }
  }
}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c "file:$CW_AGENT_CONFIG"

# 5. Done.
log "signalling success to CloudFormation"
signal 0 "nodectl user data completed"
log "done"
