"""A moto server with a large region already in it, for the 10,000-group sweep test.

Seeding 10,000 groups through the HTTP API takes minutes; this fills moto's EC2 backend in
process, then serves it on 127.0.0.1 like `moto_server`. Usage: seed_moto.py PORT GROUPS LBS.
Prints one JSON line when ready: {"expected": {group id: compliance}, "lbs": [...]} for the
web-tier check (tierTagKey=tier, tierTagValue=web, load balancers discovered from ENIs).
"""
import json
import sys
import time

from moto.ec2.models import ec2_backends
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.moto_server.threaded_moto_server import ThreadedMotoServer


def get_tags(self):
    """moto 5.2 finds a resource's tags by scanning every tag of the region with a regex, so
    describing N groups is quadratic (about 2 minutes for 10,000 groups). The same answer from
    its tag map directly."""
    if not self.id:
        return []
    kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
    return [
        {"resource_id": self.id, "key": k, "value": v, "resource_type": kind}
        for k, v in self.ec2_backend.tags.get(self.id, {}).items()
    ]


TaggedEC2Resource.get_tags = get_tags

port, groups, lbs = (int(a) for a in sys.argv[1:4])
ec2 = ec2_backends["123456789012"]["us-east-1"]
vpc = ec2.create_vpc("10.0.0.0/16")
subnet = ec2.create_subnet(vpc.id, "10.0.1.0/24", availability_zone="us-east-1a")
expected = {}

lb_ids = []
for i in range(lbs):
    sg = ec2.create_security_group(f"alb-{i}", "load balancer", vpc_id=vpc.id)
    ec2.create_network_interface(subnet, None, group_ids=[sg.id], description=f"ELB app/alb-{i}/{i:016x}")
    lb_ids.append(sg.id)
    expected[sg.id] = "NOT_APPLICABLE"
app = ec2.create_security_group("app", "an application group", vpc_id=vpc.id)
expected[app.id] = "NOT_APPLICABLE"

for i in range(groups):
    web = i % 2 == 0
    tags = {"tier": "web"} if web else {"team": "data"}
    sg = ec2.create_security_group(f"group-{i}", "sweep", vpc_id=vpc.id, tags=tags)
    # Web groups: two in three behind a load balancer on 443, the rest fed by the app group.
    source = lb_ids[i % lbs] if i % 3 else app.id
    ec2.authorize_security_group_ingress(sg.id, "tcp", "443", "443", [], source_groups=[{"GroupId": source}], vpc_id=vpc.id)
    expected[sg.id] = ("COMPLIANT" if i % 3 else "NON_COMPLIANT") if web else "NOT_APPLICABLE"
# The VPCs' default groups are groups of the region too.
for vpc_groups in ec2.groups.values():
    for sg in vpc_groups.values():
        expected.setdefault(sg.id, "NOT_APPLICABLE")

server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
print(json.dumps({"expected": expected, "lbs": lb_ids}), flush=True)
while True:
    time.sleep(3600)
