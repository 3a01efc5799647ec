#!/usr/bin/env bash
# Runs every coverage-guided fuzz target in fuzz/ (cargo-fuzz, libFuzzer) for a given time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, every target)
#
# Installs cargo-fuzz if it is missing. libFuzzer needs nightly-only compiler flags; with the
# stable toolchain they are unlocked by RUSTC_BOOTSTRAP=1. The first build takes ~5 minutes.
# Corpora grow in fuzz/corpus/<target> (seeded from scenarios/, tests/ and the golden PDUs of
# benches/fuzz_pdu.rs when empty) and are kept between runs; a crash is written to
# fuzz/artifacts/<target>/ and replayed with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -a <target> fuzz/artifacts/<target>/crash-…
# (FUZZ_TRACE=1 makes the modem targets print every input and output). Logs: fuzz/logs/.
# Prints per target: executions, exec/s, corpus size, coverage (cov = edges, ft = features)
# and findings; exits 1 if any target crashed.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-60}
shift || true
all_targets=(at_parse modem sms_pdu cmux atrun_sms atrun_tcp scenario control)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz…"
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

seed() {
    python3 - "$root" <<'EOF'
import glob, hashlib, json, os, re, sys
root = sys.argv[1]
corpus = os.path.join(root, "fuzz", "corpus")

def put(target, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

def empty(target):
    d = os.path.join(corpus, target)
    return not os.path.isdir(d) or not os.listdir(d)

scenarios = sorted(glob.glob(os.path.join(root, "scenarios", "*.json")))
steps = []
for path in scenarios:
    with open(path) as f:
        steps += json.load(f).get("steps", [])

if empty("scenario"):
    for path in scenarios:
        with open(path, "rb") as f:
            put("scenario", f.read())
if empty("at_parse"):
    for step in steps:
        text = step.get("send")
        if isinstance(text, str) and text[:2].upper() == "AT":
            put("at_parse", text[2:].split("\r")[0].encode("latin-1", "replace"))
if empty("control"):
    lines = set()
    for path in glob.glob(os.path.join(root, "tests", "*.rs")):
        with open(path) as f:
            lines.update(m for m in re.findall(r'r#"(\{.*?\})"#', f.read()) if '"verb"' in m)
    lines.update(json.dumps(s["ctl"]) for s in steps if "ctl" in s)
    for line in lines:
        put("control", b"\0" + line.encode())
if empty("sms_pdu"):
    with open(os.path.join(root, "benches", "fuzz_pdu.rs")) as f:
        golden = f.read().split("const GOLDEN")[1].split("];")[0]
    pdus = ["".join(re.findall(r"[0-9A-F]+", s)) for s in re.findall(r'"((?:[^"\\]|\\.)*)"', golden, re.S)]
    for step in steps:
        text = step.get("send")
        if isinstance(text, str) and re.fullmatch(r"[0-9A-F]{16,}\x1a?", text):
            pdus.append(text.rstrip("\x1a"))
    for pdu in pdus:
        if len(pdu) % 2 == 0:
            put("sms_pdu", bytes.fromhex(pdu))
EOF
}

seed
mkdir -p fuzz/logs
echo "building the fuzz targets (debug assertions on)…"
(cd fuzz && cargo fuzz build -a)

printf '\n%-10s %12s %8s %14s %8s %8s  %s\n' target executions exec/s corpus cov ft findings
failed=0
for t in "${targets[@]}"; do
    log="fuzz/logs/$t.log"
    mkdir -p "fuzz/corpus/$t"
    dict=()
    if [ -f "fuzz/dict/$t.dict" ]; then dict=("-dict=$root/fuzz/dict/$t.dict"); fi
    status=0
    (cd fuzz && cargo fuzz run -a "$t" -- -max_total_time="$seconds" -print_final_stats=1 \
        "${dict[@]}") >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
    if [ "$status" -eq 0 ]; then
        found=none
    else
        failed=1
        found="CRASH (exit $status): $(grep -m1 -E 'panicked at|ERROR: libFuzzer' "$log" || true)"
        found="$found; $(grep -m1 -o 'Test unit written to .*' "$log" || true)"
    fi
    printf '%-10s %12s %8s %14s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${corp:-?}" \
        "${cov:-?}" "${ft:-?}" "$found"
done
exit "$failed"
