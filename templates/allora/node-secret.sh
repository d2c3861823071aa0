# allora/node-secret.sh (needs STACK_NAME, REGION, SECRET_ID, jq, the AWS CLI). Both runtimes'
# secret writers call these inside their subshell, with $secret a 0600 file their trap removes.
# fetch_node_secret reads the node's secret into $secret and checks this node's entry: an object
# with a mnemonic, and a modelEnv of variable names to strings; on a failure it prints the reason
# and exits the calling subshell. has JQ_TEST REASON does one check of the entry.
has() {
  jq -e --arg s "$STACK_NAME" ".[\$s] | $1" "$secret" >/dev/null 2>&1 || {
    echo "secret $SECRET_ID: $2" >&2
    exit 1
  }
}

fetch_node_secret() {
  aws secretsmanager get-secret-value --secret-id "$SECRET_ID" --query SecretString \
    --output text --region "$REGION" >"$secret" || {
    echo "secret $SECRET_ID: cannot read it" >&2
    exit 1
  }
  has 'type == "object"' "not JSON or no entry for node stack $STACK_NAME"
  has '.mnemonic | type == "string" and test("\\S")' "no mnemonic for node stack $STACK_NAME"
  has '.modelEnv // {} | all(to_entries[]; (.key | test("^[A-Za-z_][A-Za-z0-9_]*$"))
    and (.value | type == "string" or type == "number"))' "modelEnv of $STACK_NAME must map names to strings"
}
