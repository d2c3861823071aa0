# shared/prelude.sh (needs STACK_NAME, REGION)
log() {
  echo "[nodectl-user-data $(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"
}

# Signals the Instance's CreationPolicy: $1 0 (success) or 1, $2 the reason. SignalResource has no
# reason field: it travels as the UniqueId (shown in the failure event; 64 of A-Za-z0-9._:/=-).
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
