/**
 * The Python program that runs moto: moto's own WSGI application (every AWS service it emulates)
 * behind a small `/_keiko/v1/` side door for what no AWS API can do in moto:
 *
 * - `POST /_keiko/v1/ssm-parameters` puts parameters under `/aws/service/...` (the EKS-optimised AMI
 *   ids), which moto's PutParameter rejects, like AWS, for every caller.
 * - `GET /_keiko/v1/instances?accountId=&region=&tagKey=` lists the instances that carry a tag key,
 *   read straight from the EC2 backend. The node simulator polls it: a kubelet joining a cluster
 *   spends no EC2 API quota, so neither should the simulator, and it costs one request for 1,000
 *   instances. Each carries `launchedAtMs`, when moto created it to the millisecond (moto's own
 *   LaunchTime has whole seconds), so a simulated boot is timed from the launch, as EC2's is, and
 *   not from whenever a poll happened to see the instance.
 * - `GET /_keiko/v1/healthz` answers once the server listens.
 *
 * moto internals it relies on (pinned moto version): `ec2_backends[account][region]`,
 * `all_instances()`, `tags[resource_id]`, `ssm_backends[account][region]._parameters`,
 * `LaunchTemplate.create_version`.
 *
 * Four fixes to moto 5.2.5 itself, applied before the server starts, each where it differs from AWS
 * in a way the controllers depend on:
 *
 * 1. `CreateLaunchTemplateVersion` stores `UserData` as a plain string (CreateLaunchTemplate decodes
 *    it), and every later launch from that version fails `assert isinstance(user_data,
 *    Base64EncodedString)` with HTTP 500. The patch decodes it as CreateLaunchTemplate does.
 * 2. An ASG launches every instance into the first subnet of its VPCZoneIdentifier, so all its
 *    instances share one zone. The patch launches one at a time into the subnet with the fewest of
 *    the group's instances, which is how AWS balances an ASG across zones.
 * 3. An ASG's instances are tagged `aws:ec2launchtemplate:version` with the template's default
 *    version even when they were launched from `$Latest` or a number. The patch tags them with the
 *    version they were launched from, as AWS does.
 * 4. `UpdateAutoScalingGroup` ignores `CapacityRebalance` (only CreateAutoScalingGroup stores it), so
 *    a group updated to `true` still reads `false`, and minion-manager, which turns it on with the
 *    market, rewrote an unchanged MixedInstancesPolicy every cycle. The patch stores it.
 *
 * Kept as a string so it works the same from `src/` (ts-jest) and from the bundled `dist/`.
 */
export const MOTO_LAUNCHER_SCRIPT = `
import base64, json, sys, time
from datetime import datetime, timezone
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

host, port = sys.argv[1], int(sys.argv[2])

def patch_launch_template_versions():
    from moto.ec2.models.launch_templates import LaunchTemplate
    from moto.ec2.utils import parse_user_data
    original = LaunchTemplate.create_version
    def create_version(self, data, description):
        if isinstance(data, dict) and isinstance(data.get("UserData"), (str, bytes)):
            data = dict(data)
            data["UserData"] = parse_user_data(data["UserData"])
        return original(self, data, description)
    LaunchTemplate.create_version = create_version

def patch_autoscaling_launches():
    from moto.autoscaling.models import FakeAutoScalingGroup
    original = FakeAutoScalingGroup.replace_autoscaling_group_instances
    def launched_version(group):
        template = getattr(group, "ec2_launch_template", None)
        if template is None:
            return None
        try:
            return template.get_version(group.launch_template_version)
        except Exception:
            return None
    def replace(self, count_needed, propagated_tags):
        before = {state.instance.id for state in self.instance_states}
        subnets = [s for s in (self.vpc_zone_identifier or "").split(",") if s]
        if len(subnets) < 2 or count_needed <= 0:
            original(self, count_needed, propagated_tags)
        else:
            configured = self.vpc_zone_identifier
            try:
                for _ in range(count_needed):
                    counts = {s: 0 for s in subnets}
                    for state in self.instance_states:
                        sid = getattr(state.instance, "subnet_id", None)
                        if sid in counts:
                            counts[sid] += 1
                    pick = min(subnets, key=lambda s: counts[s])
                    self.vpc_zone_identifier = ",".join([pick] + [s for s in subnets if s != pick])
                    original(self, 1, dict(propagated_tags))
            finally:
                self.vpc_zone_identifier = configured
        version = launched_version(self)
        if version is not None:
            for state in self.instance_states:
                if state.instance.id not in before:
                    state.instance.add_tags({"aws:ec2launchtemplate:version": str(version.number)})
    FakeAutoScalingGroup.replace_autoscaling_group_instances = replace

def patch_capacity_rebalance_update():
    from moto.autoscaling.responses import AutoScalingResponse
    original = AutoScalingResponse.update_auto_scaling_group
    def update(self):
        result = original(self)
        value = self._get_bool_param("CapacityRebalance", None)
        if value is not None:
            group = self.autoscaling_backend.autoscaling_groups[self._get_param("AutoScalingGroupName")]
            group.capacity_rebalance = value
        return result
    AutoScalingResponse.update_auto_scaling_group = update

def record_launch_times():
    from moto.ec2.models.instances import Instance
    original = Instance.__init__
    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._keiko_launched_ms = time.time() * 1000
    Instance.__init__ = init

record_launch_times()
patch_launch_template_versions()
patch_autoscaling_launches()
patch_capacity_rebalance_update()

moto_app = DomainDispatcherApplication(create_backend_app)

def user_data_of(instance):
    ud = getattr(instance, "user_data", None)
    if ud is None:
        return None
    encoded = getattr(ud, "_encoded_string", None)
    if encoded is not None:
        return encoded
    if isinstance(ud, bytes):
        return base64.b64encode(ud).decode()
    return str(ud)

def list_instances(args):
    from moto.ec2.models import ec2_backends
    backend = ec2_backends[args["accountId"]][args["region"]]
    tag_key = args.get("tagKey")
    out = []
    for i in backend.all_instances():
        tags = dict(backend.tags.get(i.id, {}))
        if tag_key and tag_key not in tags:
            continue
        out.append({
            "instanceId": i.id,
            "state": i.state,
            "instanceType": i.instance_type,
            "availabilityZone": i.placement.zone if hasattr(i.placement, "zone") else i.availability_zone,
            "privateDnsName": i.private_dns_name,
            "privateIpAddress": i.private_ip,
            "launchTime": i.launch_time if isinstance(i.launch_time, str) else i.launch_time.isoformat(),
            "launchedAtMs": getattr(i, "_keiko_launched_ms", None),
            "imageId": i.image_id,
            "tags": tags,
            "userData": user_data_of(i),
        })
    return out

def put_ssm_parameters(body):
    from moto.ssm.models import Parameter, ssm_backends
    backend = ssm_backends[body["accountId"]][body["region"]]
    for p in body["parameters"]:
        versions = backend._parameters[p["name"]]
        versions.append(Parameter(
            account_id=body["accountId"], name=p["name"], value=p["value"], parameter_type="String",
            description=p.get("description"), allowed_pattern=None, keyid=None,
            last_modified_date=datetime.now(timezone.utc), version=len(versions) + 1,
            data_type=p.get("dataType", "text"),
        ))
    return {"count": len(body["parameters"])}

def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/_keiko/v1/"):
        return moto_app(environ, start_response)
    req = Request(environ)
    try:
        if path == "/_keiko/v1/healthz":
            result = {"ok": True}
        elif path == "/_keiko/v1/instances" and req.method == "GET":
            result = list_instances(req.args)
        elif path == "/_keiko/v1/ssm-parameters" and req.method == "POST":
            result = put_ssm_parameters(json.loads(req.get_data(as_text=True)))
        else:
            return Response("not found", status=404)(environ, start_response)
        return Response(json.dumps(result), mimetype="application/json")(environ, start_response)
    except Exception as e:
        return Response(json.dumps({"error": repr(e)}), status=500, mimetype="application/json")(environ, start_response)

server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
print(f"moto listening on http://{host}:{port}", flush=True)
server.serve_forever()
`;
