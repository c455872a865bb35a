#!/usr/bin/env python3
"""The AWS side of the NAT-group lab, run inside the lab's `internet` namespace next to moto
(the API emulator, the real EC2 and SSM APIs as far as the NATs can tell):

- `proxy`: the endpoint the NATs call (EC2 and SSM). Forwards every request to moto, records its
  action (one JSON line: time, service, action, status), and injects faults while the fault file
  says so: `throttle` (EC2 RequestLimitExceeded / SSM ThrottlingException) or `fail` (HTTP 500).
- `setup`: creates what Terraform would have created for a group (VPC, subnets, route tables,
  instances with their interfaces, Elastic IPs, heartbeat parameters, a launch template per member)
  and prints their IDs as JSON.
- `follow`: the VPC data plane follows the API, as AWS's does: every private route table's
  0.0.0.0/0 (in the `vpc` namespace, one kernel table per route table) goes to the private address
  of the interface moto says it targets, or is a black hole when that interface's instance is not
  running; the internet gateway (the `igw` namespace) maps each Elastic IP to the private address
  moto says it is associated with. Every change is logged (time, what, value) to the change log.

Everything talks to moto directly (127.0.0.1), never through the proxy: only the NATs' calls are
recorded and faulted.
"""
import argparse
import base64
import gzip
import http.client
import json
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

REGION = "eu-central-1"


def client(service, moto_port):
    import boto3

    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url="http://127.0.0.1:%d" % moto_port,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


# ---------------------------------------------------------------------------------------------
# proxy


def proxy(args):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target", "")
            table = None
            # The signing scope names the service (Credential=<key>/<date>/<region>/<service>/aws4_request).
            scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", self.headers.get("Authorization", ""))
            service = scope.group(1) if scope else "?"
            if target:
                action = target.split(".")[-1]
            else:
                query = parse_qs(body.decode(errors="replace"))
                action = query.get("Action", ["?"])[0]
                table = query.get("RouteTableId", [None])[0]
            try:
                with open(args.fault_file, encoding="utf-8") as fault_file:
                    fault = fault_file.read().strip()
            except FileNotFoundError:
                fault = ""
            if fault == "throttle":
                status, headers, data = throttled(service)
            elif fault == "fail":
                status, headers, data = 500, {"Content-Type": "text/plain"}, b"emulated server error"
            else:
                connection = http.client.HTTPConnection("127.0.0.1", args.moto_port, timeout=30)
                forwarded = {key: value for key, value in self.headers.items() if key.lower() not in ("host", "content-length")}
                connection.request("POST", self.path, body=body, headers=forwarded)
                response = connection.getresponse()
                status, data = response.status, response.read()
                headers = {key: value for key, value in response.getheaders() if key.lower() in ("content-type", "x-amzn-requestid")}
                connection.close()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            entry = {
                "time": time.time(),
                "service": service,
                "action": action,
                "table": table,
                "client": self.client_address[0],
                "status": status,
                "fault": fault or None,
            }
            with lock, open(args.record, "a", encoding="utf-8") as record:
                record.write(json.dumps(entry) + "\n")

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer((args.address, args.port), Handler)
    print("ready %s:%d" % (args.address, server.server_address[1]), flush=True)
    server.serve_forever()


def throttled(service):
    if service == "ssm":
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return 400, {"Content-Type": "application/x-amz-json-1.1"}, body
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>'
        b"<Message>Request limit exceeded.</Message></Error></Errors><RequestID>lab</RequestID></Response>"
    )
    return 503, {"Content-Type": "text/xml"}, body


# ---------------------------------------------------------------------------------------------
# setup


def setup(args):
    spec = json.load(sys.stdin)
    ec2 = client("ec2", args.moto_port)
    ssm = client("ssm", args.moto_port)
    vpc = ec2.create_vpc(CidrBlock=spec["vpcCidr"])["Vpc"]["VpcId"]
    out = {"vpcId": vpc, "members": {}}
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for member in spec["members"]:
        zone = member["zone"]
        public = ec2.create_subnet(VpcId=vpc, CidrBlock=member["publicSubnet"], AvailabilityZone=zone)["Subnet"]["SubnetId"]
        private = ec2.create_subnet(VpcId=vpc, CidrBlock=member["privateSubnet"], AvailabilityZone=zone)["Subnet"]["SubnetId"]
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table, SubnetId=private)
        # A documentation address the lab's internet routes back (moto's own picks are loopback addresses).
        eip = ec2.allocate_address(Domain="vpc", Address=member["elasticIp"])
        template = ec2.create_launch_template(
            LaunchTemplateName="lab-" + member["name"],
            LaunchTemplateData={"ImageId": image, "InstanceType": "t4g.nano", "UserData": base64.b64encode(gzip.compress(b"#cloud-config\n")).decode()},
        )["LaunchTemplate"]["LaunchTemplateId"]
        ssm.put_parameter(Name=member["heartbeatParameter"], Value="starting - - 0", Type="String", Overwrite=True)
        out["members"][member["name"]] = {
            "publicSubnetId": public,
            "privateSubnetId": private,
            "routeTableId": table,
            "allocationId": eip["AllocationId"],
            "elasticIp": eip["PublicIp"],
            "launchTemplateId": template,
        }
    json.dump(out, sys.stdout)


def set_user_data(args):
    """Stores a member's user data (gzip, as Terraform's base64gzip) as a new default template version."""
    ec2 = client("ec2", args.moto_port)
    data = base64.b64encode(gzip.compress(sys.stdin.buffer.read())).decode()
    version = ec2.create_launch_template_version(LaunchTemplateId=args.template, LaunchTemplateData={"UserData": data})
    number = version["LaunchTemplateVersion"]["VersionNumber"]
    ec2.modify_launch_template(LaunchTemplateId=args.template, DefaultVersion=str(number))
    print(number)


def launch(args):
    """What the Auto Scaling group does: an instance from the launch template, in the public subnet."""
    ec2 = client("ec2", args.moto_port)
    instance = ec2.run_instances(
        LaunchTemplate={"LaunchTemplateId": args.template, "Version": "$Default"},
        MinCount=1,
        MaxCount=1,
        SubnetId=args.subnet,
        PrivateIpAddress=args.address,
    )["Instances"][0]
    eni = instance["NetworkInterfaces"][0]
    user_data = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")["UserData"].get("Value", "")
    json.dump(
        {
            "instanceId": instance["InstanceId"],
            "eni": eni["NetworkInterfaceId"],
            "mac": eni["MacAddress"],
            "address": eni["PrivateIpAddress"],
            "userData": gzip.decompress(base64.b64decode(user_data)).decode() if user_data else "",
        },
        sys.stdout,
    )


def terminate(args):
    ec2 = client("ec2", args.moto_port)
    ec2.terminate_instances(InstanceIds=[args.instance])


# ---------------------------------------------------------------------------------------------
# follow


def follow(args):
    spec = json.loads(args.spec)
    ec2 = client("ec2", args.moto_port)
    applied = {}

    def log(what, value):
        with open(args.changes, "a", encoding="utf-8") as changes:
            changes.write(json.dumps({"time": time.time(), "what": what, "value": value}) + "\n")

    def run(argv, stdin=None):
        subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True)

    print("ready follower", flush=True)
    while True:
        try:
            instances = {}
            for reservation in ec2.describe_instances()["Reservations"]:
                for instance in reservation["Instances"]:
                    instances[instance["InstanceId"]] = instance["State"]["Name"]
            interfaces = {eni["NetworkInterfaceId"]: eni for eni in ec2.describe_network_interfaces()["NetworkInterfaces"]}
            for table in ec2.describe_route_tables(RouteTableIds=list(spec["tables"]))["RouteTables"]:
                target = None
                for route in table["Routes"]:
                    if route.get("DestinationCidrBlock") == "0.0.0.0/0" and route.get("NetworkInterfaceId"):
                        eni = interfaces.get(route["NetworkInterfaceId"])
                        owner = ((eni or {}).get("Attachment") or {}).get("InstanceId")
                        if eni and instances.get(owner) == "running":
                            target = eni["PrivateIpAddress"]
                kernel_table = spec["tables"][table["RouteTableId"]]
                if applied.get(kernel_table, "unset") != target:
                    if target:
                        bridge = spec["bridges"][".".join(target.split(".")[:3])]
                        run(["ip", "-n", spec["vpc"], "route", "replace", "default", "via", target, "dev", bridge, "onlink", "table", kernel_table])
                    else:
                        run(["ip", "-n", spec["vpc"], "route", "replace", "blackhole", "default", "table", kernel_table])
                    applied[kernel_table] = target
                    log("route " + table["RouteTableId"], target)
            mapping = {}
            for address in ec2.describe_addresses()["Addresses"]:
                if address.get("PrivateIpAddress"):
                    mapping[address["PublicIp"]] = address["PrivateIpAddress"]
            if applied.get("igw") != mapping:
                elements = lambda pairs: ", ".join("%s : %s" % pair for pair in pairs) or ""
                forward = elements(sorted(mapping.items()))
                backward = elements(sorted((private, public) for public, private in mapping.items()))
                ruleset = "table ip internet_gateway\ndelete table ip internet_gateway\ntable ip internet_gateway {\n"
                ruleset += "  map eip_to_private { type ipv4_addr : ipv4_addr; %s }\n" % ("elements = { %s }" % forward if forward else "")
                ruleset += "  map private_to_eip { type ipv4_addr : ipv4_addr; %s }\n" % ("elements = { %s }" % backward if backward else "")
                ruleset += "  chain prerouting { type nat hook prerouting priority dstnat; policy accept; dnat to ip daddr map @eip_to_private; }\n"
                ruleset += "  chain postrouting { type nat hook postrouting priority srcnat; policy accept; snat to ip saddr map @private_to_eip; }\n}\n"
                run(["ip", "netns", "exec", spec["igw"], "nft", "-f", "-"], stdin=ruleset)
                applied["igw"] = mapping
                log("elastic ips", mapping)
        except Exception as error:  # the emulator restarting, a race with a deleted namespace: try again
            log("error", str(error)[:300])
        time.sleep(args.interval)


# ---------------------------------------------------------------------------------------------
# metrics


def metrics(args):
    """What moto's CloudWatch holds for one NatName: per metric, minimum, maximum and sample count."""
    cloudwatch = client("cloudwatch", args.moto_port)
    now = time.time()
    result = {}
    for listed in cloudwatch.list_metrics(Namespace=args.namespace)["Metrics"]:
        if listed["Dimensions"] != [{"Name": "NatName", "Value": args.name}]:
            continue
        points = cloudwatch.get_metric_statistics(
            Namespace=args.namespace,
            MetricName=listed["MetricName"],
            Dimensions=listed["Dimensions"],
            StartTime=now - 900,
            EndTime=now + 60,
            Period=3600,
            Statistics=["Minimum", "Maximum", "SampleCount"],
        )["Datapoints"]
        result[listed["MetricName"]] = {
            "min": min(point["Minimum"] for point in points),
            "max": max(point["Maximum"] for point in points),
            "count": sum(point["SampleCount"] for point in points),
        }
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("proxy")
    p.add_argument("--address", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--moto-port", type=int, required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--fault-file", required=True)
    for name in ("setup", "set-user-data", "launch", "terminate", "follow", "metrics"):
        sub = commands.add_parser(name)
        sub.add_argument("--moto-port", type=int, required=True)
        if name == "set-user-data":
            sub.add_argument("--template", required=True)
        if name == "launch":
            sub.add_argument("--template", required=True)
            sub.add_argument("--subnet", required=True)
            sub.add_argument("--address", required=True)
        if name == "terminate":
            sub.add_argument("--instance", required=True)
        if name == "metrics":
            sub.add_argument("--namespace", required=True)
            sub.add_argument("--name", required=True)
        if name == "follow":
            sub.add_argument("--spec", required=True)
            sub.add_argument("--changes", required=True)
            sub.add_argument("--interval", type=float, default=0.25)
    args = parser.parse_args()
    {"proxy": proxy, "setup": setup, "set-user-data": set_user_data, "launch": launch, "terminate": terminate, "follow": follow, "metrics": metrics}[
        args.command
    ](args)


if __name__ == "__main__":
    main()
