#!/usr/bin/env python3
"""Checks lambda/template.yaml against SPEC §4 and the deployment contract; prints TAP.

Runs cfn-lint when it is installed (the AWS linter, with the SAM transform), then
checks the structure itself: the four tables with their keys and indexes, on-demand
billing, point-in-time recovery and encryption, the function, least-privilege
DynamoDB access to exactly those tables, the HTTP API, parameters and outputs.
usage: template_check.py TEMPLATE
"""
import os
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("1..0 # SKIP python3 has no PyYAML (Debian package python3-yaml)")
    sys.exit(0)

# SPEC §4: table -> (key attribute, type, indexes {name: [(attr, type, keytype)...]})
TABLES = {
    "deliverables": ("id", "N", {"MonthIndex": [("month", "N", "HASH"), ("id", "N", "RANGE")]}),
    "metrics": ("id", "N", {}),
    "updates": ("id", "S", {"FeedIndex": [("feed", "S", "HASH"), ("created_at", "S", "RANGE")]}),
    "users": ("id", "S", {}),
}
ALLOWED_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
    "dynamodb:DescribeTable",
}
PARAMETERS = ["Env", "Auth0Domain", "Auth0Audience", "CorsAllowOrigins", "Architecture",
              "MemorySize", "Timeout", "DigestApiUrl", "DigestModel", "DigestApiKeySecret"]
ENV_VARS = ["PORTAL_ENV", "AUTH0_DOMAIN", "AUTH0_AUDIENCE", "CORS_ALLOW_ORIGINS",
            "DIGEST_API_URL", "DIGEST_MODEL", "DIGEST_API_KEY"]


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _construct_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _construct_tag)

results = []


def check(ok, name, detail=""):
    results.append((bool(ok), name, detail))


def table_resource(resources, short):
    for name, res in resources.items():
        if res.get("Type") != "AWS::DynamoDB::Table":
            continue
        if res.get("Properties", {}).get("TableName") == {"Fn::Sub": "turbotech-${Env}-" + short}:
            return name, res
    return None, None


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "lambda/template.yaml"
    with open(path) as f:
        tpl = yaml.load(f, Loader=CfnLoader)
    resources = tpl.get("Resources", {})

    # 1. cfn-lint itself.
    lint = shutil.which("cfn-lint")
    if lint is None:
        results.append((None, "cfn-lint passes", "SKIP cfn-lint is not installed"))
    else:
        env = dict(os.environ, AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        p = subprocess.run([lint, path], capture_output=True, text=True, env=env)
        check(p.returncode == 0, "cfn-lint passes", (p.stdout + p.stderr).strip())

    check(tpl.get("Transform") == "AWS::Serverless-2016-10-31", "SAM transform")

    # 2. Tables.
    table_names = {}
    for short, (key, ktype, indexes) in TABLES.items():
        name, res = table_resource(resources, short)
        check(res is not None, "table turbotech-${Env}-%s exists" % short)
        if res is None:
            continue
        table_names[short] = name
        props = res["Properties"]
        attrs = {a["AttributeName"]: a["AttributeType"] for a in props.get("AttributeDefinitions", [])}
        check(props.get("BillingMode") == "PAY_PER_REQUEST", "%s: on-demand billing" % short)
        check(props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is True,
              "%s: point-in-time recovery on" % short)
        check(props.get("SSESpecification", {}).get("SSEEnabled") is True, "%s: encryption on" % short)
        check(props.get("KeySchema") == [{"AttributeName": key, "KeyType": "HASH"}] and attrs.get(key) == ktype,
              "%s: key %s (%s)" % (short, key, ktype), "KeySchema %s attrs %s" % (props.get("KeySchema"), attrs))
        gsis = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
        check(set(gsis) == set(indexes), "%s: indexes %s" % (short, sorted(indexes) or "none"),
              "found %s" % sorted(gsis))
        for iname, keys in indexes.items():
            g = gsis.get(iname)
            if g is None:
                continue
            want = [{"AttributeName": a, "KeyType": kt} for a, _, kt in keys]
            types_ok = all(attrs.get(a) == t for a, t, _ in keys)
            check(g.get("KeySchema") == want and types_ok and g.get("Projection") == {"ProjectionType": "ALL"},
                  "%s: %s keys %s, projection ALL" % (short, iname, ", ".join("%s %s %s" % k for k in keys)),
                  "KeySchema %s" % g.get("KeySchema"))
        check(res.get("DeletionPolicy") == "Retain", "%s: kept when the stack is deleted" % short)

    # 3. The function.
    fns = [(n, r) for n, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"]
    check(len(fns) == 1, "one function")
    fn = fns[0][1]["Properties"] if fns else {}
    check(fn.get("Runtime") == "provided.al2023" and fn.get("Handler") == "bootstrap",
          "function: provided.al2023, handler bootstrap")
    code = fn.get("CodeUri", "")
    code_path = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), str(code)))
    check(isinstance(code, str) and code_path.endswith(os.path.join("build", "lambda.zip")),
          "function: CodeUri is build/lambda.zip", "CodeUri %s" % code)
    check(fn.get("Architectures") == [{"Ref": "Architecture"}] and fn.get("MemorySize") == {"Ref": "MemorySize"}
          and fn.get("Timeout") == {"Ref": "Timeout"}, "function: architecture, memory and timeout are parameters")
    env = fn.get("Environment", {}).get("Variables", {})
    missing = [v for v in ENV_VARS if v not in env]
    check(not missing, "function: environment has %s" % ", ".join(ENV_VARS), "missing %s" % missing)
    key = repr(env.get("DIGEST_API_KEY"))
    check("{{resolve:secretsmanager:" in key and "Ref': 'Digest" not in key,
          "function: DIGEST_API_KEY only from a Secrets Manager reference", key)

    # 4. Least privilege: DynamoDB actions on exactly the four tables and their indexes.
    statements = []
    for pol in fn.get("Policies", []):
        if isinstance(pol, dict) and "Statement" in pol:
            statements.extend(pol["Statement"])
        else:
            statements.append({"_unexpected": pol})
    check(all("_unexpected" not in s for s in statements), "function: only inline policy statements",
          repr([s for s in statements if "_unexpected" in s]))
    actions, resources_seen, bad = set(), [], []
    for s in statements:
        acts = s.get("Action", [])
        acts = [acts] if isinstance(acts, str) else acts
        actions.update(acts)
        res = s.get("Resource", [])
        res = [res] if not isinstance(res, list) else res
        resources_seen.extend(res)
        if s.get("Effect") != "Allow" or "NotAction" in s or "NotResource" in s:
            bad.append(s)
    check(actions and actions <= ALLOWED_ACTIONS, "policy: DynamoDB item, query and describe actions only",
          "extra %s" % sorted(actions - ALLOWED_ACTIONS))
    want = []
    for short in TABLES:
        n = table_names.get(short, "?")
        want.append({"Fn::GetAtt": [n, "Arn"]})
        want.append({"Fn::Sub": "${%s.Arn}/index/*" % n})
    extra = [r for r in resources_seen if r not in want]
    absent = [r for r in want if r not in resources_seen]
    check(not extra and not absent and not bad, "policy: exactly the four tables and their indexes",
          "extra %s absent %s" % (extra, absent))

    # 5. HTTP API with CORS from the parameter; the route.
    apis = [r for r in resources.values() if r.get("Type") == "AWS::Serverless::HttpApi"]
    check(len(apis) == 1, "one HTTP API")
    cors = repr(apis[0].get("Properties", {}).get("CorsConfiguration")) if apis else ""
    check("CorsAllowOrigins" in cors, "HTTP API: CORS origins from CorsAllowOrigins", cors)
    events = list(fn.get("Events", {}).values())
    check(any(e.get("Type") == "HttpApi" and e["Properties"].get("Path") == "/api/{proxy+}"
              and e["Properties"].get("Method") in ("ANY", "any") for e in events),
          "HTTP API: route ANY /api/{proxy+}")

    # 6. Parameters and outputs.
    params = tpl.get("Parameters", {})
    missing = [p for p in PARAMETERS if p not in params]
    check(not missing, "parameters: %s" % ", ".join(PARAMETERS), "missing %s" % missing)
    check(set(params.get("Architecture", {}).get("AllowedValues", [])) == {"x86_64", "arm64"},
          "parameter Architecture: x86_64 or arm64")
    check("ApiUrl" in tpl.get("Outputs", {}), "output ApiUrl")
    no_echo_plain = [p for p, v in params.items() if "key" in p.lower() and "Secret" not in p]
    check(not no_echo_plain, "no parameter carries a secret in plain text", repr(no_echo_plain))

    print("1..%d" % len(results))
    failed = 0
    for i, (ok, name, detail) in enumerate(results, 1):
        if ok is None:
            print("ok %d - %s # %s" % (i, name, detail))
        elif ok:
            print("ok %d - %s" % (i, name))
        else:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in str(detail).splitlines():
                print("#   " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
