"""The three templates: the choices README.md documents, checked on the JSON.

cfn-lint and checkov run outside this suite (README.md, "Checks"); these tests pin what they do
not see: the queue policy's actions, the scoping of every role, the instance's settings, the
API's wiring to the Lambda handlers (the invoker's selection patterns are read from
lambda/invoker.py with ast, without importing boto3).
"""

import ast
import json
import os
import unittest

import userdata

LAMBDA = os.path.join(userdata.BLUEPRINT, "lambda")


def template(name):
    return userdata.template(name)


def statements(role):
    out = []
    for policy in role["Properties"].get("Policies", []):
        out.extend(policy["PolicyDocument"]["Statement"])
    return out


def as_list(value):
    return value if isinstance(value, list) else [value]


def walk(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def selection_patterns():
    tree = ast.parse(userdata.read(os.path.join(LAMBDA, "invoker.py")))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "SELECTION_PATTERNS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("no SELECTION_PATTERNS in invoker.py")


class CommonTest(unittest.TestCase):
    def test_no_iam_user_no_access_key_no_wildcard_action(self):
        for name in ("task.json", "api.json", "server.json"):
            t = template(name)
            for rid, resource in t["Resources"].items():
                self.assertNotIn(resource["Type"], ("AWS::IAM::User", "AWS::IAM::AccessKey"), name)
            for node in walk(t["Resources"]):
                if node.get("Effect") == "Allow" and "Action" in node:
                    for action in as_list(node["Action"]):
                        self.assertFalse(action == "*" or action.endswith(":*"), "%s: %s" % (name, action))
                    self.assertNotIn("NotAction", node)

    def test_every_wildcard_resource_is_suppressed_by_sid(self):
        for name in ("task.json", "server.json", "api.json"):
            t = template(name)
            for rid, resource in t["Resources"].items():
                if resource["Type"] != "AWS::IAM::Role":
                    continue
                suppressed = {
                    s["sid"]
                    for s in resource.get("Metadata", {}).get("nodectl", {}).get("suppress", [])
                    if s["rule"] == "iam_no_wildcard_resource" and s.get("reason")
                }
                for statement in statements(resource):
                    if statement["Effect"] == "Allow" and "*" in as_list(statement["Resource"]):
                        self.assertIn(statement["Sid"], suppressed, "%s %s" % (name, rid))


class TaskTest(unittest.TestCase):
    def setUp(self):
        self.t = template("task.json")

    def test_parameters_and_outputs(self):
        self.assertEqual(self.t["Parameters"]["DynabenchAccountId"]["AllowedPattern"], "^[0-9]{12}$")
        self.assertEqual(self.t["Parameters"]["BuildQueueName"]["Default"], "dev-build")
        self.assertEqual(self.t["Parameters"]["EvalQueueName"]["Default"], "dev-eval")
        self.assertEqual(
            set(self.t["Outputs"]),
            {"BuildQueueName", "EvalQueueName", "BuildQueueUrl", "EvalQueueUrl", "ModelBucketName",
             "DatasetBucketName", "ArtifactBucketName", "SageMakerRoleArn", "TaskOwnerAccountId"},
        )
        self.assertEqual(self.t["Outputs"]["TaskOwnerAccountId"]["Value"], {"Ref": "AWS::AccountId"})

    def test_queues_dynabench_may_only_send(self):
        for queue in ("BuildQueue", "EvalQueue"):
            self.assertTrue(self.t["Resources"][queue]["Properties"]["SqsManagedSseEnabled"])
            policy = self.t["Resources"][queue + "Policy"]["Properties"]["PolicyDocument"]["Statement"]
            allow = [s for s in policy if s["Effect"] == "Allow"]
            self.assertEqual(len(allow), 1)
            self.assertEqual(sorted(allow[0]["Action"]), ["sqs:GetQueueUrl", "sqs:SendMessage"])
            self.assertEqual(allow[0]["Principal"], {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${DynabenchAccountId}:root"}})
            deny = [s for s in policy if s["Effect"] == "Deny"]
            self.assertEqual(deny[0]["Condition"], {"Bool": {"aws:SecureTransport": "false"}})

    def test_buckets_are_hardened(self):
        for bucket in ("ModelBucket", "DatasetBucket", "ArtifactBucket"):
            props = self.t["Resources"][bucket]["Properties"]
            self.assertEqual(set(props["PublicAccessBlockConfiguration"].values()), {True})
            self.assertEqual(len(props["PublicAccessBlockConfiguration"]), 4)
            self.assertEqual(props["OwnershipControls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerEnforced")
            self.assertEqual(props["VersioningConfiguration"]["Status"], "Enabled")
            self.assertIn("ServerSideEncryptionByDefault", props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0])
            statement = self.t["Resources"][bucket + "Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
            self.assertEqual((statement["Effect"], statement["Condition"]), ("Deny", {"Bool": {"aws:SecureTransport": "false"}}))

    def test_sagemaker_role(self):
        role = self.t["Resources"]["SageMakerRole"]["Properties"]
        self.assertEqual(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"], {"Service": "sagemaker.amazonaws.com"})
        self.assertNotIn("ManagedPolicyArns", role, "no AmazonSageMakerFullAccess")
        text = json.dumps(role)
        self.assertNotIn("arn:aws:s3:::*", text)
        self.assertIn("repository/ts*", text)


class ApiTest(unittest.TestCase):
    def setUp(self):
        self.t = template("api.json")
        self.r = self.t["Resources"]

    def test_functions(self):
        handlers = {"AuthorizerFunction": "authorizer.handler", "InvokerFunction": "invoker.handler", "CorsFunction": "cors.handler"}
        for fid, handler in handlers.items():
            props = self.r[fid]["Properties"]
            self.assertEqual(props["Runtime"], "python3.13")
            self.assertEqual(props["Handler"], handler)
            self.assertEqual(props["Code"], {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}})
            self.assertTrue(os.path.exists(os.path.join(LAMBDA, handler.split(".")[0] + ".py")))
        env = self.r["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(
            env,
            {
                "ENDPOINT_SECRET_ID": {"Fn::Sub": "${AWS::StackName}/endpoint-secret"},
                # nodectl stores {"<api stack>": {"endpointSecret": ...}}.
                "ENDPOINT_SECRET_ENTRY": {"Ref": "AWS::StackName"},
            },
        )
        self.assertIn('os.environ["ENDPOINT_SECRET_ID"]', userdata.read(os.path.join(LAMBDA, "authorizer.py")))
        self.assertEqual(self.r["CorsFunction"]["Properties"]["Environment"]["Variables"], {"ALLOWED_ORIGIN": {"Ref": "AllowedOrigin"}})
        self.assertIn('os.environ.get("ALLOWED_ORIGIN")', userdata.read(os.path.join(LAMBDA, "cors.py")))
        self.assertEqual(self.t["Parameters"]["AllowedOrigin"]["Default"], "https://dynabench.org")

    def test_roles_are_scoped(self):
        authorizer = statements(self.r["AuthorizerRole"])
        secret = [s for s in authorizer if s["Action"] == "secretsmanager:GetSecretValue"][0]
        self.assertEqual(secret["Resource"]["Fn::Sub"], "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/endpoint-secret-??????")
        invoke = [s for s in statements(self.r["InvokerRole"]) if s["Action"] == "sagemaker:InvokeEndpoint"][0]
        self.assertEqual(invoke["Resource"]["Fn::Sub"], "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/ts*")
        for rid in ("AuthorizerRole", "InvokerRole", "CorsRole"):
            self.assertNotIn("ManagedPolicyArns", self.r[rid]["Properties"])

    def test_permissions_name_this_api(self):
        sources = {rid: self.r[rid]["Properties"]["SourceArn"]["Fn::Sub"] for rid in ("AuthorizerPermission", "InvokerPermission", "CorsPermission")}
        for rid, arn in sources.items():
            self.assertTrue(arn.startswith("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/"), arn)
            self.assertEqual(self.r[rid]["Properties"]["Principal"], "apigateway.amazonaws.com")

    def test_openapi_body(self):
        body = self.r["Api"]["Properties"]["Body"]
        post = body["paths"]["/"]["post"]
        self.assertEqual(post["parameters"][0]["name"], "model")
        self.assertTrue(post["parameters"][0]["required"])
        self.assertEqual(post["x-amazon-apigateway-request-validator"], "Validate query string parameters and headers")
        self.assertTrue(body["x-amazon-apigateway-request-validators"]["Validate query string parameters and headers"]["validateRequestParameters"])
        integration = post["x-amazon-apigateway-integration"]
        self.assertEqual((integration["type"], integration["passthroughBehavior"]), ("aws", "never"))
        patterns = {response["statusCode"]: pattern for pattern, response in integration["responses"].items() if pattern != "default"}
        self.assertEqual(patterns, selection_patterns())
        self.assertEqual(integration["responses"]["default"]["statusCode"], "200")
        for status in patterns:
            self.assertIn(status, post["responses"], "method response %s declared" % status)
        self.assertIn("$util.escapeJavaScript($input.params('model'))", integration["requestTemplates"]["application/json"])
        self.assertEqual(body["paths"]["/"]["options"]["x-amazon-apigateway-integration"]["type"], "aws_proxy")
        scheme = body["components"]["securitySchemes"]["APIGatewayAuthorizer"]
        self.assertEqual((scheme["name"], scheme["in"], scheme["x-amazon-apigateway-authorizer"]["type"]), ("Authorization", "header", "token"))
        responses = body["x-amazon-apigateway-gateway-responses"]
        self.assertEqual(set(responses), {"DEFAULT_4XX", "DEFAULT_5XX", "AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"})
        for response in responses.values():
            self.assertEqual(response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"], {"Fn::Sub": "'${AllowedOrigin}'"})

    def test_stage_and_outputs(self):
        stage = self.r["Stage"]["Properties"]
        self.assertEqual(stage["StageName"], "predict")
        self.assertEqual(stage["AccessLogSetting"]["DestinationArn"], {"Fn::GetAtt": ["AccessLogGroup", "Arn"]})
        for rid, resource in self.r.items():
            if resource["Type"] == "AWS::Logs::LogGroup":
                self.assertEqual(resource["Properties"]["RetentionInDays"], 30)
        self.assertEqual(self.t["Outputs"]["GatewayUrl"]["Value"], {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/predict"})
        for output in ("ApiId", "AuthorizerFunctionArn", "InvokerFunctionArn", "EndpointSecretName"):
            self.assertIn(output, self.t["Outputs"])


class ServerTest(unittest.TestCase):
    def setUp(self):
        self.t = template("server.json")
        self.r = self.t["Resources"]

    def test_instance(self):
        instance = self.r["Instance"]
        props = instance["Properties"]
        self.assertEqual(props["MetadataOptions"]["HttpTokens"], "required")
        self.assertEqual(props["MetadataOptions"]["HttpPutResponseHopLimit"], 1)
        ebs = props["BlockDeviceMappings"][0]["Ebs"]
        self.assertEqual((ebs["VolumeType"], ebs["Encrypted"], ebs["VolumeSize"]), ("gp3", True, {"Ref": "RootVolumeSize"}))
        self.assertEqual(self.t["Parameters"]["RootVolumeSize"]["Default"], 128)
        self.assertEqual(instance["CreationPolicy"]["ResourceSignal"]["Timeout"], "PT45M")
        self.assertEqual(instance["Metadata"]["nodectl"]["insert"], [{"file": "user-data.sh", "at": "Properties/UserData/Fn::Base64/Fn::Sub/0"}])
        self.assertNotIn("KeyName", props)
        self.assertEqual(self.r["SecurityGroup"]["Properties"].get("SecurityGroupIngress", []), [])
        self.assertEqual(self.r["ServerLogGroup"]["Properties"]["RetentionInDays"], 30)

    def test_parameters(self):
        p = self.t["Parameters"]
        self.assertEqual(p["CodeCommit"]["Default"], userdata.COMMIT)
        self.assertEqual(p["CodeCommit"]["AllowedPattern"], "^[0-9a-f]{40}$")
        self.assertEqual(p["CodeRepository"]["Default"], "https://github.com/mlcommons/dynabench.git")
        self.assertEqual(p["DynabenchApiUrl"]["Default"], "https://api.dynabench.org")
        self.assertEqual((p["MaxSubmission"]["Default"], p["EvalServerId"]["Default"], p["ComputeMetricProcesses"]["Default"]), (20, "default", 1))
        self.assertEqual(p["ImageId"]["Type"], "AWS::EC2::Image::Id")
        for name, value in p.items():
            pattern = value.get("AllowedPattern", "")
            if name in userdata.VALUES and value["Type"] == "String":
                self.assertTrue(pattern, "%s reaches the user data unconstrained" % name)
                self.assertNotIn("'", pattern.replace("\\'", ""))

    def test_instance_role(self):
        role = self.r["InstanceRole"]["Properties"]
        self.assertEqual(
            role["ManagedPolicyArns"],
            [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"},
             {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy"}],
        )
        by_sid = {s["Sid"]: s for s in statements(self.r["InstanceRole"])}
        self.assertEqual(by_sid["OwnNodeSecret"]["Resource"]["Fn::Sub"], "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/node-secret-??????")
        self.assertEqual(by_sid["SignalOwnStack"]["Resource"]["Fn::Sub"], "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/*")
        passrole = by_sid["PassSageMakerRole"]
        self.assertEqual(passrole["Resource"], {"Ref": "SageMakerRoleArn"})
        self.assertEqual(passrole["Condition"], {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
        self.assertNotIn("sqs:*", json.dumps(role))
        for statement in by_sid.values():
            for resource in as_list(statement["Resource"]):
                text = json.dumps(resource)
                if ":s3:::" in text:
                    self.assertTrue("ModelBucketName" in text or "DatasetBucketName" in text, text)
                if ":sagemaker:" in text or ":ecr:" in text and "repository" in text:
                    self.assertIn("/ts*", text)


if __name__ == "__main__":
    unittest.main()
