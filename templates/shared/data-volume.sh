# shared/data-volume.sh (needs DATA_VOLUME_TYPE, DATA_VOLUME_ID)
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
