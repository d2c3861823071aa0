#!/usr/bin/env python3
"""The floor under scripts/bench-fleet: N copies of nodectl's rendered node template created at
once with bare boto3 calls (CreateStack, no change set, no secret, no lookups but the AMI; one
ListStacks poll every 0.5 s), timed until every stack is CREATE_COMPLETE, then deleted. What
LocalStack itself takes for N node stacks, whatever the client does.

    bench-fleet-bare.py TEMPLATE COMMON_STACK SIZE...

Prints one `SIZE SECONDS` line per size. Needs AWS_ENDPOINT_URL (127.0.0.1) and test
credentials in the environment.
"""
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def wait(cfn, names, done):
    pending = set(names)
    while pending:
        time.sleep(0.5)
        for page in cfn.get_paginator("list_stacks").paginate():
            for stack in page["StackSummaries"]:
                if stack["StackName"] in pending and stack["StackStatus"] in done:
                    pending.discard(stack["StackName"])
                elif stack["StackName"] in pending and stack["StackStatus"].endswith("FAILED"):
                    sys.exit(f"{stack['StackName']}: {stack['StackStatus']}")


def main():
    template_path, common, *sizes = sys.argv[1:]
    body = open(template_path).read()
    cfn = boto3.client("cloudformation")
    image = boto3.client("ssm").get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]
    for size in map(int, sizes):
        names = [f"bare-{size}-{i}" for i in range(size)]

        def create(name):
            cfn.create_stack(
                StackName=name,
                TemplateBody=body,
                Parameters=[
                    {"ParameterKey": "ImageId", "ParameterValue": image},
                    {"ParameterKey": "CommonStackName", "ParameterValue": common},
                ],
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            )

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(create, names))
        wait(cfn, names, {"CREATE_COMPLETE"})
        print(f"{size} {time.monotonic() - start:.2f}", flush=True)
        for name in names:
            cfn.delete_stack(StackName=name)
        wait(cfn, names, {"DELETE_COMPLETE"})


if __name__ == "__main__":
    main()
