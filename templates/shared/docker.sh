# shared/docker.sh (needs jq, /data mounted)
log "starting docker (data root /data/docker)"
mkdir -p /etc/docker
[ -s /etc/docker/daemon.json ] || echo '{}' >/etc/docker/daemon.json
jq '."data-root" = "/data/docker"' /etc/docker/daemon.json >/etc/docker/daemon.json.new
mv /etc/docker/daemon.json.new /etc/docker/daemon.json
systemctl enable --now docker
