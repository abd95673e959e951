#!/bin/bash
# tests/lambda/deploy.sh - scripts/deploy: flag validation, --dry-run (prints every
# command, calls nothing, needs no AWS CLI), and a full run against a fake `aws`
# that records its arguments. Prints TAP.
set -u

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
DEPLOY=$top_srcdir/scripts/deploy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/deploy-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A fake AWS CLI: records each call (one argument per line, calls separated by
# "--"), and answers describe-stacks with an API URL.
mkdir -p "$tmp/fakebin"
cat >"$tmp/fakebin/aws" <<'EOF'
#!/bin/bash
{ printf '%s\n' "$@"; echo --; } >>"$FAKE_AWS_LOG"
case " $* " in
*" describe-stacks "*) echo "https://abc123def4.execute-api.eu-west-1.amazonaws.com" ;;
esac
exit 0
EOF
chmod +x "$tmp/fakebin/aws"
export FAKE_AWS_LOG=$tmp/aws.log

required=(--env=dev --s3-bucket=my-deploy-bucket --auth0-domain=tenant.us.auth0.com
	--auth0-audience=https://api.turbotech.example)

# run ARGS...: the deploy script with the fake aws first on PATH; $rc, $tmp/out, $tmp/err.
run() {
	PATH="$tmp/fakebin:$PATH" "$DEPLOY" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

run --help
[ $rc -eq 0 ] && grep -q -- '--dry-run' "$tmp/out" && grep -q -- '--s3-bucket' "$tmp/out"
ok $? "--help documents the flags" || diag "$tmp/err"

all=0
for i in 0 1 2 3; do
	args=("${required[@]:0:$i}" "${required[@]:$((i + 1))}")
	flag=${required[$i]%%=*}
	run "${args[@]}" --dry-run
	if [ $rc -ne 2 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q -- "$flag is required" "$tmp/err"; then
		echo "# without $flag: status $rc: $(cat "$tmp/err")"
		all=1
	fi
done
ok $all "each required flag missing: exit 2 and one line naming it"

all=0
for bad in "--env=dev prod" --s3-bucket=Not_A_Bucket --region=mars --cors-origins=ftp://x \
	--timeout=99 --memory=64 --arch=sparc --log-level=loud "--cors-origins=*" --digest-model=m --bogus=1 \
	--alarm-topic-arn=topic --reserved-concurrency=-1 "--digest-schedule=every monday"; do
	args=("${required[@]}")
	case "$bad" in "--cors-origins=*") args=("${required[@]/--env=dev/--env=prod}") ;; esac
	run "${args[@]}" "$bad" --dry-run
	if [ $rc -ne 2 ] || [ ! -s "$tmp/err" ] || [ -s "$tmp/aws.log" ]; then
		echo "# $bad accepted (status $rc)"
		all=1
	fi
done
ok $all "bad values are refused before anything runs"

# --- dry run -----------------------------------------------------------------
rm -f "$tmp/aws.log"
run "${required[@]}" --region eu-west-1 --cors-origins=https://portal.example.com,https://admin.example.com \
	--arch=arm64 --memory=512 --dry-run
[ $rc -eq 0 ] && [ ! -e "$tmp/aws.log" ]
ok $? "--dry-run exits 0 and calls no aws" || diag "$tmp/err"
cp "$tmp/out" "$tmp/dry.out"

grep -Fqx "+ $top_srcdir/scripts/package-lambda --arch arm64 --out $top_srcdir/build/lambda.zip" "$tmp/dry.out"
ok $? "dry run: builds the package first" || diag "$tmp/dry.out"

grep -q "^+ aws cloudformation package --region eu-west-1 --template-file $top_srcdir/lambda/template.yaml --s3-bucket my-deploy-bucket .*--output-template-file $top_srcdir/build/packaged.yaml$" "$tmp/dry.out"
ok $? "dry run: aws cloudformation package of lambda/template.yaml to the bucket"

grep '^+ aws cloudformation deploy ' "$tmp/dry.out" >"$tmp/deploy.line"
grep -q -- '--stack-name turbotech-portal-dev ' "$tmp/deploy.line" &&
	grep -q -- '--capabilities CAPABILITY_IAM' "$tmp/deploy.line" &&
	grep -q -- "--template-file $top_srcdir/build/packaged.yaml " "$tmp/deploy.line" &&
	grep -q -- '--parameter-overrides Env=dev Auth0Domain=tenant.us.auth0.com Auth0Audience=https://api.turbotech.example ' "$tmp/deploy.line" &&
	grep -q 'Architecture=arm64' "$tmp/deploy.line" && grep -q 'MemorySize=512' "$tmp/deploy.line"
ok $? "dry run: aws cloudformation deploy of the stack with CAPABILITY_IAM and the parameters" || diag "$tmp/deploy.line"

grep -q "^+ aws cloudformation describe-stacks --region eu-west-1 --stack-name turbotech-portal-dev --query .*ApiUrl" "$tmp/dry.out"
ok $? "dry run: reads the ApiUrl output"

# The printed commands are valid shell: run the aws ones against the fake.
rm -f "$tmp/aws.log"
grep '^+ aws ' "$tmp/dry.out" | sed 's/^+ //' >"$tmp/cmds.sh"
PATH="$tmp/fakebin:$PATH" bash "$tmp/cmds.sh" >/dev/null 2>&1
grep -Fqx 'CorsAllowOrigins=https://portal.example.com,https://admin.example.com' "$tmp/aws.log" &&
	[ "$(grep -c '^--$' "$tmp/aws.log")" -eq 3 ]
ok $? "dry run: the printed commands run as shown (quoting intact)" || diag "$tmp/aws.log"

# Without any AWS CLI on PATH, a dry run still works.
mkdir -p "$tmp/minbin"
ln -s "$(command -v dirname)" "$tmp/minbin/dirname"
PATH="$tmp/minbin" "$BASH" "$DEPLOY" "${required[@]}" --dry-run >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && grep -q '^+ aws cloudformation deploy' "$tmp/out"
ok $? "dry run needs no AWS CLI installed" || diag "$tmp/err"

PATH="$tmp/minbin" "$BASH" "$DEPLOY" "${required[@]}" --skip-build >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'AWS CLI' "$tmp/err"
ok $? "a real run without the AWS CLI: a clear error" || diag "$tmp/err"

# --- a full run against the fake aws, in a copy of the layout ---------------------
mkdir -p "$tmp/proj/scripts" "$tmp/proj/lambda" "$tmp/proj/build"
cp "$DEPLOY" "$tmp/proj/scripts/deploy"
cp "$top_srcdir/lambda/template.yaml" "$tmp/proj/lambda/"
rm -f "$tmp/aws.log"
PATH="$tmp/fakebin:$PATH" "$tmp/proj/scripts/deploy" "${required[@]}" --skip-build >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'lambda.zip does not exist' "$tmp/err"
ok $? "--skip-build without a package: a clear error" || diag "$tmp/err"

# fake_package FILE ARCH MACHINE: a zip with a bootstrap whose ELF header says
# MACHINE (x86_64 or arm64) and the comment "arch=ARCH" (none when ARCH is -).
fake_package() {
	local d
	d=$(mktemp -d "$tmp/pkg.XXXXXX")
	case "$3" in
	x86_64) printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\003\000\076\000' >"$d/bootstrap" ;;
	arm64) printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\003\000\267\000' >"$d/bootstrap" ;;
	esac
	mkdir "$d/lib"
	rm -f "$1"
	(cd "$d" && zip -q -r "$1" bootstrap lib)
	[ "$2" = - ] || echo "arch=$2" | zip -q -z "$1"
}

all=0
for c in "x86_64 x86_64 default:arm64" "arm64 arm64 --arch=x86_64:x86_64" "arm64 x86_64 default:arm64" "- x86_64 default:arm64"; do
	read -r recorded machine rest <<<"$c"
	flag=${rest%%:*}
	fake_package "$tmp/proj/build/lambda.zip" "$recorded" "$machine"
	rm -f "$tmp/aws.log"
	extra=()
	[ "$flag" = default ] || extra=("$flag")
	PATH="$tmp/fakebin:$PATH" "$tmp/proj/scripts/deploy" "${required[@]}" --skip-build "${extra[@]}" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 2 ] || [ -s "$tmp/aws.log" ] || ! grep -q 'lambda.zip' "$tmp/err"; then
		echo "# package recorded=$recorded machine=$machine, $flag: status $rc: $(cat "$tmp/err")"
		all=1
	fi
done
ok $all "a package of another architecture than --arch (default arm64), or an inconsistent one, is refused before any aws call"
fake_package "$tmp/proj/build/lambda.zip" x86_64 x86_64
PATH="$tmp/fakebin:$PATH" "$tmp/proj/scripts/deploy" "${required[@]}" --skip-build >/dev/null 2>"$tmp/err"
grep -q 'x86_64 package, the stack.s architecture is arm64' "$tmp/err"
ok $? "the refusal names both architectures" || diag "$tmp/err"

fake_package "$tmp/proj/build/lambda.zip" arm64 arm64
rm -f "$tmp/aws.log"
PATH="$tmp/fakebin:$PATH" "$tmp/proj/scripts/deploy" "${required[@]}" --skip-build --region=eu-west-1 \
	--alarm-topic-arn=arn:aws:sns:eu-west-1:123456789012:portal-alarms --no-digest-schedule \
	--reserved-concurrency=20 >"$tmp/out" 2>"$tmp/err"
rc=$?
calls=$(awk '$0 == "--" { print line; line = ""; next } { line = line (line ? " " : "") $0 }' "$tmp/aws.log")
[ $rc -eq 0 ] && grep -q 'API URL: https://abc123def4.execute-api.eu-west-1.amazonaws.com' "$tmp/out" &&
	[ "$(echo "$calls" | awk '{ print $1 " " $2 }' | tr '\n' ' ')" = "cloudformation package cloudformation deploy cloudformation describe-stacks " ]
ok $? "an arm64 package deploys: package, deploy, describe-stacks, the API URL" || { diag "$tmp/err"; echo "$calls" | sed 's/^/#   /'; }
grep -Fqx 'Architecture=arm64' "$tmp/aws.log" &&
	grep -Fqx 'AlarmTopicArn=arn:aws:sns:eu-west-1:123456789012:portal-alarms' "$tmp/aws.log" &&
	grep -Fqx 'DigestScheduleEnabled=false' "$tmp/aws.log" && grep -Fqx 'ReservedConcurrency=20' "$tmp/aws.log"
ok $? "deploy passes Architecture=arm64, the alarm topic, the schedule switch and reserved concurrency" || diag "$tmp/aws.log"

tap_end
