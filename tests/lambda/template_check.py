#!/usr/bin/env python3
"""Checks lambda/template.yaml against SPEC §4 and the deployment contract; prints TAP.

Runs cfn-lint when it is installed (the AWS linter, with the SAM transform), then
checks the structure itself: the four tables with their keys and indexes, on-demand
billing, point-in-time recovery and encryption, the idempotency table with its TTL,
the function (arm64 by default, X-Ray tracing, JSON logs), least-privilege
DynamoDB access derived from the code (the DynamoDB operations src/ calls on the
API path, read from the source), the HTTP API (no CorsConfiguration, preflights
to the function, stage throttling, JSON access logs), the weekly digest schedule,
the alarms, parameters and outputs.
usage: template_check.py TEMPLATE [SRCDIR]
"""
import glob
import json
import os
import re
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
# The DynamoDB module's functions and the operation each one calls.
DDB_FUNCTIONS = {
    "ddb_get_item": "GetItem", "ddb_put_item": "PutItem", "ddb_update_item": "UpdateItem",
    "ddb_delete_item": "DeleteItem", "ddb_query_all": "Query", "ddb_query_page": "Query",
    "ddb_scan_all": "Scan", "ddb_scan_page": "Scan", "ddb_batch_get": "BatchGetItem",
    "ddb_batch_write": "BatchWriteItem", "ddb_transact_write": "TransactWriteItems",
    "ddb_describe_table": "DescribeTable", "ddb_create_table": "CreateTable",
    "ddb_delete_table": "DeleteTable", "ddb_wait_table": "DescribeTable",
    # The variants that unmarshal the answer as they read it.
    "ddb_get_item_plain": "GetItem", "ddb_query_all_plain": "Query", "ddb_query_page_plain": "Query",
    "ddb_scan_all_plain": "Scan",
}
# Not on the API path: the DynamoDB module itself, and what only portalctl
# calls (file -> its exported prefix; checked below: nothing else calls it).
NOT_API_PATH = {"ddb.c": None, "ddb_marshal.c": None, "seed.c": "seed_", "schema.c": None,
                "migrate.c": "migrate_"}
# src/idempotency.c (SPEC §5 Idempotency-Key) keeps its keys in the idempotency
# table with these operations; when the file exists, its calls are read instead.
IDEMPOTENCY_FILE = "idempotency.c"
IDEMPOTENCY_OPS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
PARAMETERS = ["Env", "Auth0Domain", "Auth0Audience", "CorsAllowOrigins", "Architecture",
              "MemorySize", "Timeout", "DigestApiUrl", "DigestModel", "DigestApiKeySecret",
              "DigestSchedule", "DigestScheduleEnabled", "AlarmTopicArn", "ReservedConcurrency",
              "ApiThrottleBurstLimit", "ApiThrottleRateLimit", "LogRetentionDays"]
ENV_VARS = ["PORTAL_ENV", "AUTH0_DOMAIN", "AUTH0_AUDIENCE", "CORS_ALLOW_ORIGINS",
            "DIGEST_API_URL", "DIGEST_MODEL", "DIGEST_API_KEY_SECRET"]
DIGEST_CRON = "cron(0 8 ? * MON *)"


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


def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


def operations_in(path):
    """The DynamoDB operations a C file calls: ddb_* item/query/table functions,
    and operation names given to ddb_call / ddb_call_parallel."""
    with open(path, encoding="utf-8") as f:
        text = strip_comments(f.read())
    ops = set()
    for fn in re.findall(r"\b(ddb_[a-z_]+)\s*\(", text):
        if fn in DDB_FUNCTIONS:
            ops.add(DDB_FUNCTIONS[fn])
    ops.update(re.findall(r"\.op\s*=\s*\"([A-Za-z]+)\"", text))
    ops.update(re.findall(r"\bddb_call(?:_plain)?\s*\([^,]+,\s*\"([A-Za-z]+)\"", text))
    return ops


def api_path_operations(srcdir):
    """(operations of the API path except idempotency, idempotency operations,
    files read, problems): every src/*.c but NOT_API_PATH."""
    files = sorted(glob.glob(os.path.join(srcdir, "*.c")))
    problems = []
    others = [f for f in files if os.path.basename(f) not in NOT_API_PATH]
    for name, prefix in NOT_API_PATH.items():
        if prefix is None:
            continue
        entry_points = glob.glob(os.path.join(srcdir, "..", "lambda", "*.c")) + \
            glob.glob(os.path.join(srcdir, "..", "cgi-bin", "*.c"))
        for f in others + entry_points:
            with open(f, encoding="utf-8") as fh:
                if re.search(r"\b%s[a-z_]+\s*\(" % prefix, strip_comments(fh.read())):
                    problems.append("%s calls %s* (of %s), so %s is on the API path" %
                                    (os.path.basename(f), prefix, name, name))
    ops, idem = set(), None
    for f in others:
        if os.path.basename(f) == IDEMPOTENCY_FILE:
            idem = operations_in(f)
        else:
            ops |= operations_in(f)
    if idem is None:
        idem = set(IDEMPOTENCY_OPS)
    return ops, idem, [os.path.basename(f) for f in others], problems


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
    check("DIGEST_API_KEY" not in env and "resolve:secretsmanager" not in repr(env) and
          "DigestApiKeySecret" in repr(env.get("DIGEST_API_KEY_SECRET")),
          "function: the digest key is not in the environment, only the secret's name (DIGEST_API_KEY_SECRET)",
          repr(env.get("DIGEST_API_KEY_SECRET")))

    # 4. Least privilege, derived from the code.
    srcdir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(path)), "..", "src")
    ops, idem_ops, files, problems = api_path_operations(srcdir)
    check(ops and not problems, "the API path's DynamoDB operations read from %d files of src/: %s"
          % (len(files), ", ".join(sorted(ops))), "\n".join(problems))
    statements = []
    for pol in fn.get("Policies", []):
        if isinstance(pol, dict) and "Statement" in pol:
            statements.extend(pol["Statement"])
        elif isinstance(pol, dict) and "Fn::If" in pol:
            continue  # conditional statements are checked below (the secret)
        else:
            statements.append({"_unexpected": pol})
    check(all("_unexpected" not in st for st in statements), "function: only inline policy statements",
          repr([st for st in statements if "_unexpected" in st]))

    def acts(st):
        a = st.get("Action", [])
        return set([a] if isinstance(a, str) else a)

    def res_list(st):
        r = st.get("Resource", [])
        return r if isinstance(r, list) else [r]

    ddb_statements = [st for st in statements if any(a.startswith("dynamodb:") for a in acts(st))]
    bad = [st for st in ddb_statements if st.get("Effect") != "Allow" or "NotAction" in st or "NotResource" in st
           or any("*" in a for a in acts(st))]
    check(not bad, "policy: Allow statements with named actions only", repr(bad))
    all_actions = set().union(*(acts(st) for st in ddb_statements)) if ddb_statements else set()
    want_actions = {"dynamodb:" + o for o in ops | idem_ops}
    check(all_actions == want_actions, "policy: exactly the DynamoDB actions the code calls",
          "extra %s missing %s" % (sorted(all_actions - want_actions), sorted(want_actions - all_actions)))
    check(not any(a in all_actions for a in ("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"))
          or bool(ops & {"BatchGetItem", "BatchWriteItem"}),
          "policy: no BatchGetItem/BatchWriteItem (the API path calls neither)")
    table_arns = {short: {"Fn::GetAtt": [table_names.get(short, "?"), "Arn"]} for short in TABLES}
    idem_name, idem_res = table_resource(resources, "idempotency")
    item_stmts = [st for st in ddb_statements if any(r in table_arns.values() for r in res_list(st))]
    item_ok = len(item_stmts) == 1 and sorted(map(repr, res_list(item_stmts[0]))) == sorted(map(repr, table_arns.values())) \
        and acts(item_stmts[0]) == {"dynamodb:" + o for o in ops}
    check(item_ok, "policy: the four tables get exactly the API path's operations, nothing else does",
          repr(item_stmts))
    want_index = sorted(repr({"Fn::Sub": "${%s.Arn}/index/%s" % (table_names.get(short, "?"), iname)})
                        for short, (_, _, indexes) in TABLES.items() for iname in indexes)
    index_stmts = [st for st in ddb_statements if any("/index/" in repr(r) for r in res_list(st))]
    check(len(index_stmts) == 1 and acts(index_stmts[0]) == {"dynamodb:Query"} and "Query" in ops and
          sorted(map(repr, res_list(index_stmts[0]))) == want_index,
          "policy: Query only, on exactly the named indexes (MonthIndex, FeedIndex), no index wildcard",
          repr(index_stmts))
    idem_stmts = [st for st in ddb_statements if {"Fn::GetAtt": [idem_name, "Arn"]} in res_list(st)]
    check(idem_res is not None and len(idem_stmts) == 1 and res_list(idem_stmts[0]) == [{"Fn::GetAtt": [idem_name, "Arn"]}]
          and acts(idem_stmts[0]) == {"dynamodb:" + o for o in idem_ops},
          "policy: the idempotency table gets %s only" % ", ".join(sorted(idem_ops)), repr(idem_stmts))
    covered = {repr(r) for st in ddb_statements for r in res_list(st)}
    check(covered == set(map(repr, table_arns.values())) | set(want_index) | {repr({"Fn::GetAtt": [idem_name, "Arn"]})},
          "policy: no resource beyond the five tables and the two indexes", repr(sorted(covered)))
    secret_pol = [p for p in fn.get("Policies", []) if isinstance(p, dict) and "Fn::If" in p]
    check(len(secret_pol) == 1 and secret_pol[0]["Fn::If"][0] == "HasDigestKey" and
          "secretsmanager:GetSecretValue" in repr(secret_pol[0]) and "DigestApiKeySecret" in repr(secret_pol[0])
          and "'*'" not in repr(secret_pol[0]),
          "policy: secretsmanager:GetSecretValue on the digest key's secret only, when one is named")

    # 5. The idempotency table (SPEC §4).
    if idem_res is not None:
        props = idem_res["Properties"]
        attrs = {a["AttributeName"]: a["AttributeType"] for a in props.get("AttributeDefinitions", [])}
        check(props.get("KeySchema") == [{"AttributeName": "key", "KeyType": "HASH"}] and attrs == {"key": "S"}
              and props.get("BillingMode") == "PAY_PER_REQUEST", "idempotency: key (S), on-demand")
        check(props.get("TimeToLiveSpecification") == {"AttributeName": "expires_at", "Enabled": True},
              "idempotency: TTL on expires_at")
    else:
        check(False, "table turbotech-${Env}-idempotency exists")

    # 6. The function: arm64 default, tracing, logs, concurrency.
    params = tpl.get("Parameters", {})
    check(params.get("Architecture", {}).get("Default") == "arm64", "parameter Architecture: arm64 by default")
    check(fn.get("Tracing") == "Active", "function: X-Ray Tracing Active")
    lc = fn.get("LoggingConfig", {})
    check(lc.get("LogFormat") == "JSON" and "LogLevel" in repr(lc.get("ApplicationLogLevel")),
          "function: JSON log format, application log level from LogLevel", repr(lc))
    rc = fn.get("ReservedConcurrentExecutions")
    check(isinstance(rc, dict) and "Fn::If" in rc and rc["Fn::If"][1] == {"Ref": "ReservedConcurrency"}
          and rc["Fn::If"][2] == {"Ref": "AWS::NoValue"}, "function: reserved concurrency optional (parameter)")
    groups = [r for r in resources.values() if r.get("Type") == "AWS::Logs::LogGroup"]
    check(len(groups) == 2 and all(g["Properties"].get("RetentionInDays") == {"Ref": "LogRetentionDays"} for g in groups),
          "log groups (function, API access): retention LogRetentionDays")

    # 7. HTTP API: one CORS authority, preflights to the function, throttling, access logs.
    apis = [r for r in resources.values() if r.get("Type") == "AWS::Serverless::HttpApi"]
    check(len(apis) == 1, "one HTTP API")
    api = apis[0].get("Properties", {}) if apis else {}
    check("CorsConfiguration" not in api and "Cors" not in repr(api.keys()),
          "HTTP API: no CorsConfiguration (the function answers CORS)")
    events = fn.get("Events", {}).values()
    check(any(e.get("Type") == "HttpApi" and e["Properties"].get("Path") == "/api/{proxy+}"
              and e["Properties"].get("Method") in ("ANY", "any") for e in events),
          "HTTP API: route ANY /api/{proxy+}")
    check(any(e.get("Type") == "HttpApi" and e["Properties"].get("Method") in ("OPTIONS", "options")
              and "Auth" not in e["Properties"] for e in events) and "Auth" not in api,
          "HTTP API: OPTIONS routed to the function, no authorizer")
    drs = api.get("DefaultRouteSettings", {})
    check(drs.get("ThrottlingBurstLimit") == {"Ref": "ApiThrottleBurstLimit"} and
          drs.get("ThrottlingRateLimit") == {"Ref": "ApiThrottleRateLimit"}, "HTTP API: stage throttling from parameters")
    als = api.get("AccessLogSettings", {})
    try:
        fmt = json.loads(als.get("Format", ""))
    except ValueError:
        fmt = {}
    check(fmt.get("requestId") == "$context.requestId" and "DestinationArn" in als,
          "HTTP API: JSON access logs with the request id", repr(als))

    # 8. The weekly digest schedule.
    sched = [e for e in events if e.get("Type") in ("Schedule", "ScheduleV2")]
    check(len(sched) == 1 and sched[0]["Properties"].get("Schedule") == {"Ref": "DigestSchedule"}
          and params.get("DigestSchedule", {}).get("Default") == DIGEST_CRON,
          "schedule: EventBridge %s by default (parameter DigestSchedule)" % DIGEST_CRON)
    check(len(sched) == 1 and "DigestScheduleOn" in repr(sched[0]["Properties"].get("State"))
          and params.get("DigestScheduleEnabled", {}).get("AllowedValues") == ["true", "false"],
          "schedule: a parameter switches it off")

    # 9. Alarms, optionally notifying an SNS topic.
    alarms = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"]

    def metrics_of(a):
        names = [(a.get("Namespace"), a.get("MetricName"), a.get("ExtendedStatistic") or a.get("Statistic"))]
        for m in a.get("Metrics", []):
            ms = m.get("MetricStat")
            if ms:
                names.append((ms["Metric"].get("Namespace"), ms["Metric"].get("MetricName"), ms.get("Stat")))
        return names

    def has_alarm(pred):
        return any(any(pred(ns, mn, st) for ns, mn, st in metrics_of(a)) for a in alarms)

    check(has_alarm(lambda ns, mn, st: ns == "AWS/ApiGateway" and mn == "5xx") and
          any("5xx" in repr(a) and "Count" in repr(a) and "Expression" in repr(a) for a in alarms),
          "alarm: API 5xx rate (5xx / Count)")
    check(has_alarm(lambda ns, mn, st: ns == "AWS/Lambda" and mn == "Errors"), "alarm: function errors")
    check(has_alarm(lambda ns, mn, st: ns == "AWS/Lambda" and mn == "Throttles"), "alarm: function throttles")
    check(any(any(ns == "AWS/Lambda" and mn == "Duration" and st == "p99" for ns, mn, st in metrics_of(a))
              and "Timeout" in repr(a) for a in alarms), "alarm: p99 duration against the time-out")
    ddb_alarm_tables = {repr(d["Value"]) for a in alarms for m in a.get("Metrics", []) if m.get("MetricStat")
                        and m["MetricStat"]["Metric"].get("Namespace") == "AWS/DynamoDB"
                        for d in m["MetricStat"]["Metric"].get("Dimensions", []) if d["Name"] == "TableName"}
    all_tables = {repr({"Ref": n}) for n in list(table_names.values()) + [idem_name]}
    check(has_alarm(lambda ns, mn, st: ns == "AWS/DynamoDB" and "Throttle" in (mn or "")) and ddb_alarm_tables == all_tables,
          "alarm: DynamoDB throttled requests on every table", repr(sorted(ddb_alarm_tables)))
    check(alarms and all(a.get("AlarmActions") == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
                         for a in alarms) and params.get("AlarmTopicArn", {}).get("Default") == "",
          "alarms notify the optional AlarmTopicArn")

    # 10. Parameters and outputs.
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
