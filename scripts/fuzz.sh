#!/usr/bin/env bash
# Builds the libFuzzer targets of native/fuzz with clang (-fsanitize=fuzzer,address,undefined) and
# runs each for a bounded time: scripts/fuzz.sh [seconds per target, default 20] [target...].
# Targets: plan (decodePlan), config (the shim's readConfig), json (the log writer's strings).
# Needs Debian's clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes).
# The corpus grows in build/fuzz/corpus/<target> and is kept between runs; a crash leaves its input
# in build/fuzz/artifacts/ and makes the script exit 1 (reproduce: build/fuzz/<target>_fuzz FILE).
set -euo pipefail

seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(plan config json)

cd "$(dirname "$0")/.."
CXX=${CXX:-clang++}
if ! command -v "$CXX" >/dev/null; then
  echo "fuzz: $CXX not found (apt-get install -y clang libclang-rt-14-dev)" >&2
  exit 2
fi

out=build/fuzz
mkdir -p "$out/artifacts"
# -fno-sanitize-recover: undefined behaviour aborts the run like a crash instead of only printing.
flags=(-std=c++17 -g -O1 -D_GNU_SOURCE -Inative -Wall -Wextra
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)

declare -A sources=(
  [plan]="native/fuzz/plan_fuzz.cc native/core/plan_codec.cc"
  [config]="native/fuzz/config_fuzz.cc native/shim/config.cc"
  [json]="native/fuzz/json_fuzz.cc native/shim/json.cc"
)

for t in "${targets[@]}"; do
  [ -n "${sources[$t]:-}" ] || { echo "fuzz: unknown target $t (plan, config, json)" >&2; exit 2; }
  # shellcheck disable=SC2086
  "$CXX" "${flags[@]}" ${sources[$t]} -o "$out/${t}_fuzz"
done

status=0
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  mkdir -p "$corpus"
  # Seeds: the golden plan encodePlan wrote, a config as the runtime writes it.
  case $t in
    plan) cp test/fixtures/native/plan-golden.bin "$corpus/golden" ;;
    config) cp native/fuzz/seeds/config/* "$corpus/" ;;
    json) cp test/fixtures/native/plan-golden.json "$corpus/golden-json" ;;
  esac
  dict=()
  [ -f "native/fuzz/$t.dict" ] && dict=(-dict="native/fuzz/$t.dict")
  log="$out/$t.log"
  rm -f "$out/artifacts/$t-"*
  echo "fuzz: $t for ${seconds}s"
  # -rss_limit_mb / -malloc_limit_mb: an input that makes the decoder allocate far more than its own
  # size is a finding, not a slow run. -timeout: one input taking 10 s is a hang.
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$out/${t}_fuzz" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=256 \
      -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" "$corpus" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    echo "fuzz: $t ok: $runs inputs, $speed/s, corpus $(ls "$corpus" | wc -l) files"
  else
    status=1
    echo "fuzz: $t FAILED (log $log)" >&2
    grep -E "ERROR|SUMMARY|runtime error|Test unit written|uncaught|==[0-9]+==" "$log" | head -20 >&2 || true
    # The input itself, so that a crash seen only in a CI log can be reproduced (base64 -d > FILE).
    for a in "$out/artifacts/$t-"*; do
      [ -f "$a" ] && [ "$(stat -c %s "$a")" -le 4096 ] && { echo "fuzz: $a (base64):" >&2; base64 -w0 "$a" >&2; echo >&2; }
    done
  fi
done
exit $status
