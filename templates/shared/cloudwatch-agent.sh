# shared/cloudwatch-agent.sh (needs jq). Config for plugins $1 on instance $2: the instance id in
# each plugin (the global append_dimensions takes only the agent's placeholder), no host dimension.
cw_agent_config() {
  jq -n --argjson plugins "$1" --arg id "$2" '{
    agent: {metrics_collection_interval: 60, run_as_user: "root", omit_hostname: true},
    metrics: {namespace: "CWAgent",
      metrics_collected: ($plugins | map_values(. + {append_dimensions: {InstanceId: $id}})) } }'
}

start_cw_agent() {
  local config=/opt/aws/amazon-cloudwatch-agent/etc/nodectl-amazon-cloudwatch-agent.json
  cw_agent_config "$1" "$(cloud-init query instance_id)" >"$config"
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
    -c "file:$config"
}
