# shared/cloudwatch-agent.sh (needs jq). Config for plugins $1 on instance $2: the instance id in
# each plugin (the global append_dimensions takes only the agent's placeholder), no host dimension;
# $3, when given, the log files to send (the agent's logs.logs_collected.files.collect_list).
cw_agent_config() {
  local files=null
  [ "$#" -lt 3 ] || files=$3
  jq -n --argjson plugins "$1" --arg id "$2" --argjson files "$files" '{
    agent: {metrics_collection_interval: 60, run_as_user: "root", omit_hostname: true},
    metrics: {namespace: "CWAgent",
      metrics_collected: ($plugins | map_values(. + {append_dimensions: {InstanceId: $id}})) } }
    + if $files then {logs: {logs_collected: {files: {collect_list: $files}}}} else {} end'
}

start_cw_agent() {
  local config=/opt/aws/amazon-cloudwatch-agent/etc/nodectl-amazon-cloudwatch-agent.json plugins=$1
  shift
  cw_agent_config "$plugins" "$(cloud-init query instance_id)" "$@" >"$config"
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
    -c "file:$config"
}
