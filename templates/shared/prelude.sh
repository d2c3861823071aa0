# shared/prelude.sh (needs STACK_NAME, REGION)
REAPPLY=$(printenv NODECTL_REAPPLY || true)
log() {
  echo "[nodectl-user-data $(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"
}

# Signals the Instance's CreationPolicy: $1 0 (success) or 1, $2 the reason. SignalResource has no
# reason field: it travels as the UniqueId (shown in the failure event; 64 of A-Za-z0-9._:/=-).
# A re-apply (below) has nothing to signal.
signal() {
  local code=$1 reason=$2 status=SUCCESS id
  [ -z "$REAPPLY" ] || return "$code"
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

# Re-apply: CloudFormation applies changed user data by stopping and starting the instance, and
# cloud-init runs user data at the first boot only. At each later boot this runs the instance's
# user data again (NODECTL_REAPPLY=1) when it differs from the last applied; on failure, again at
# the next boot. The services are restarted, /data is kept.
if [ -z "$REAPPLY" ]; then
  h=/var/lib/cloud/scripts/per-boot
  mkdir -p $h
  h=$h/nodectl-reapply
  cat >$h <<'EOF'
#!/bin/bash
u=/var/lib/nodectl-user-data i=http://169.254.169.254/latest
[ -e $u ] || cp /var/lib/cloud/instance/user-data.txt $u
t=$(curl -sfX PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' $i/api/token) &&
  curl -sfH "X-aws-ec2-metadata-token: $t" -o $u.n $i/user-data || exit 0
cmp -s $u $u.n || { NODECTL_REAPPLY=1 bash $u.n && mv $u.n $u; }
EOF
  chmod 755 $h
fi
