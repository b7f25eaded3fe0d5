"""The Python peer of the rule function, for the cold-start comparison in `make bench`: an
idiomatic rdklib-shaped handler (boto3 client created at import, the change event's configuration
item evaluated by the peer's web-tier check, one PutEvaluations), run under awslambdaric."""
import json

import boto3

from peer import evaluate_web_tier

CONFIG = boto3.client("config")


def to_describe(conf):
    """The configuration item's camelCase `configuration` in the PascalCase shape the peer reads."""
    return {
        "GroupId": conf["groupId"],
        "Tags": [{"Key": t["key"], "Value": t.get("value", "")} for t in conf.get("tags", [])],
        "IpPermissions": [
            {
                "IpProtocol": p.get("ipProtocol"),
                "FromPort": p.get("fromPort"),
                "ToPort": p.get("toPort"),
                "UserIdGroupPairs": [{"GroupId": g["groupId"]} for g in p.get("userIdGroupPairs", [])],
            }
            for p in conf.get("ipPermissions", [])
        ],
    }


def handler(event, context):
    invoking = json.loads(event["invokingEvent"])
    params = json.loads(event.get("ruleParameters") or "{}")
    item = invoking["configurationItem"]
    lbs = set(params["loadBalancerSecurityGroupIds"].split(","))
    verdict = evaluate_web_tier(to_describe(item["configuration"]), lbs)
    token = event["resultToken"]
    CONFIG.put_evaluations(
        Evaluations=[
            {
                "ComplianceResourceType": item["resourceType"],
                "ComplianceResourceId": item["resourceId"],
                "ComplianceType": verdict,
                "OrderingTimestamp": item["configurationItemCaptureTime"],
            }
        ],
        ResultToken=token,
        TestMode=token == "TESTMODE",
    )
    return {"compliance": verdict}
