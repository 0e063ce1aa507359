#!/usr/bin/env bash
# End-to-end test of examples/slurm/ on a real Slurm (scripts/slurm-local.sh up brings up one):
# a sharded `csmarket run` of England 2012 in 3 shards, where
#   shard 0 has its csmarket SIGKILLed after its first checkpoint (as the OOM killer would),
#   shard 1 has its time limit cut to 1 minute while it runs (Slurm warns it, it saves and requeues),
#   shard 2 is cancelled with scancel while it runs (the finish job submits it again);
# nobody touches anything after that. The merge must complete by itself and equal a one-machine run
# byte for byte: every file, except the provenance that says when and how the work was run
# (`started`, `finished`, `threads`, `command_line` in summary.json; the same lines of a report),
# as in tests/golden.rs.
#
#   scripts/slurm-local.sh up && tests/slurm-e2e.sh; scripts/slurm-local.sh down
#
# Environment: CSMARKET (default target/release/csmarket), SLURM_E2E_REPS (replications per
# configuration, default 30000: each shard must run for longer than Slurm's warning takes to come,
# up to 40 s), SLURM_E2E_KEEP=1 keeps the temporary folder.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
CSMARKET="${CSMARKET:-$root/target/release/csmarket}"
REPS="${SLURM_E2E_REPS:-30000}"
SCENARIO="$root/scenarios/england-2012.toml"
SHARDS=3
started=$(date +%s)

say() { echo "[e2e $(($(date +%s) - started))s] $*"; }
fail() {
    echo "slurm-e2e: FAILED: $*" >&2
    exit 1
}

[[ -x "$CSMARKET" ]] || fail "no csmarket binary at $CSMARKET (cargo build --release)"
sinfo -h -o %t >/dev/null 2>&1 || fail "no Slurm answers (scripts/slurm-local.sh up)"

tmp=$(mktemp -d /tmp/csmarket-slurm-e2e.XXXXXX)
work="$tmp/work"
name="csmarket-work"
cleanup() {
    # Whatever happened, leave no job of this test behind.
    scancel --name="$name" 2>/dev/null || true
    # `|| true`: under set -e a failing last command here would turn a pass into exit status 1.
    if [[ -n "${one_pid:-}" ]]; then kill "$one_pid" 2>/dev/null || true; fi
    if [[ "${SLURM_E2E_KEEP:-}" == 1 ]]; then
        echo "slurm-e2e: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

# The job id of array task $1 while it runs (empty otherwise).
running_id() {
    squeue -h -r -j "$array" -t RUNNING -o '%K %A' 2>/dev/null | awk -v k="$1" '$1 == k {print $2}'
}

# Waits (up to $2 s) until array task $1 runs and has saved its first checkpoint; prints its id.
wait_running_with_progress() {
    local k=$1 limit=$2 id
    for ((i = 0; i < limit * 2; i++)); do
        id=$(running_id "$k")
        if [[ -n "$id" ]] && compgen -G "$work/shard-$k/*/.progress/state.json" >/dev/null; then
            echo "$id"
            return 0
        fi
        sleep 0.5
    done
    fail "shard $k did not start and checkpoint within $limit s; squeue: $(squeue -h -r)"
}

# The one-machine run to compare with, started now at the lowest priority: it fills the CPUs while
# tasks wait to be requeued, and gives way to them otherwise.
nice -n 19 "$CSMARKET" run "$SCENARIO" -n "$REPS" --out "$tmp/one" >"$tmp/one.log" 2>&1 &
one_pid=$!

say "submitting $SHARDS shards of England 2012, $REPS replications per configuration"
"$root/examples/slurm/submit.sh" --shards "$SHARDS" --cpus 1 --mem 1G --time 10 \
    --signal-secs 50 --save-secs 2 --retries 2 --work "$work" --csmarket "$CSMARKET" \
    run "$SCENARIO" -n "$REPS"
array=$(awk '/round 1:/ {for (i = 1; i <= NF; i++) if ($i == "job") {print $(i + 1); exit}}' "$work/history")
[[ -n "$array" ]] || fail "no array job id in $work/history"

# Shard 1: an administrator's cut of the time limit to 1 minute, while the task runs.
for ((i = 0; i < 120; i++)); do
    id1=$(running_id 1)
    [[ -n "$id1" ]] && break
    sleep 0.5
done
[[ -n "$id1" ]] || fail "shard 1 did not start"
scontrol update JobId="$id1" TimeLimit=1
say "shard 1 (job $id1): time limit cut to 1 minute"

# Shard 0: SIGKILL its csmarket once progress is saved.
id0=$(wait_running_with_progress 0 120)
pids=$(scontrol listpids "$id0" | awk 'NR > 1 {print $1}')
killed=""
for pid in $pids; do
    if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == csmarket ]]; then
        kill -KILL "$pid"
        killed=$pid
    fi
done
[[ -n "$killed" ]] || fail "no csmarket process in job $id0 (scontrol listpids: $pids)"
say "shard 0 (job $id0): SIGKILLed csmarket (pid $killed)"

# Shard 2 starts in the CPU shard 0 gave up; cancel it once it has saved progress.
id2=$(wait_running_with_progress 2 180)
scancel "${array}_2"
say "shard 2 (job $id2): cancelled with scancel ${array}_2"

say "waiting for the finish job to merge, with no further help"
for ((i = 0; i < 1800; i++)); do
    [[ -f "$work/done/merged" ]] && break
    if grep -qE "gave up|stopped:|merge failed" "$work/logs/finish.log" 2>/dev/null; then
        cat "$work/logs/finish.log" >&2
        fail "the finish job did not merge"
    fi
    sleep 1
done
[[ -f "$work/done/merged" ]] || fail "no merge within 30 minutes; squeue: $(squeue -h -r)"
cluster_secs=$(($(date +%s) - started))
say "merged by the cluster in ${cluster_secs}s"

echo "---- what each failure case printed"
echo "shard 0 (SIGKILL):"
grep -E "===|killed|requeue|resuming|complete|Stopped|saved in" "$work/logs/shard-0.log" | sed 's/^/  /'
echo "shard 1 (time limit):"
grep -E "===|time limit|stopped|Stopped|saved in|requeue|resuming|complete|CANCELLED|TIME LIMIT" "$work/logs/shard-1.log" | sed 's/^/  /'
echo "shard 2 (cancelled):"
grep -E "===|SIGTERM|Stopped|saved in|CANCELLED|requeue|resuming|complete" "$work/logs/shard-2.log" | sed 's/^/  /'
echo "finish job:"
sed 's/^/  /' "$work/logs/finish.log"
echo "----"

# Each failure must really have happened and been recovered the way it was meant to.
grep -q "killed by signal 9" "$work/logs/shard-0.log" || fail "shard 0 did not see its csmarket killed"
grep -q "requeueing itself" "$work/logs/shard-0.log" || fail "shard 0 did not requeue itself"
grep -q "time limit in about" "$work/logs/shard-1.log" ||
    fail "shard 1 finished before Slurm's warning came; raise SLURM_E2E_REPS"
grep -q "requeueing itself (time limit)" "$work/logs/shard-1.log" || fail "shard 1 did not requeue itself"
grep -q "round 2" "$work/logs/shard-2.log" || fail "shard 2 was not submitted again by the finish job"
for k in 0 1 2; do
    grep -q "resuming with replications" "$work/logs/shard-$k.log" || fail "shard $k did not resume from saved progress"
done

# A rerun of a finished submission: every shard's marker makes its task return at once, and the
# finish job merges again.
rm "$work/done/merged"
"$root/examples/slurm/submit.sh" --resubmit "$work" >/dev/null
for ((i = 0; i < 120; i++)); do
    [[ -f "$work/done/merged" ]] && break
    sleep 1
done
[[ -f "$work/done/merged" ]] || fail "a resubmission of complete shards did not merge within 120 s"
grep -q "already complete" "$work/logs/shard-0.log" || fail "a complete shard did not return at once"
say "resubmitted after completion: shard 0 $(grep "already complete" "$work/logs/shard-0.log" | sed 's/.*shard 0: //'); merged again in ${i}s"

say "waiting for the one-machine run of the same"
wait "$one_pid" || fail "the one-machine run failed: $(cat "$tmp/one.log")"

# A file's bytes without the provenance of when and how it was run (summary.json is pretty-printed:
# one key a line, `command_line` a list over several lines).
normalised() {
    case $1 in
    *.json)
        awk '
            skip && /^ *\],?$/ { skip = 0; next }
            skip { next }
            /^ *"command_line": \[/ { skip = !/\]/; next }
            /^ *"(started|finished|threads)":/ { next }
            { print }' "$1"
        ;;
    *.md | *.html)
        grep -vE '\*\*(Threads|Date|Command line):\*\*|<dt>(Threads|Date|Command line)' "$1" || true
        ;;
    *) cat "$1" ;;
    esac
}

(cd "$tmp/one" && find . -type f | sort) >"$tmp/one.files"
(cd "$work/merged" && find . -type f | sort) >"$tmp/merged.files"
diff -u "$tmp/one.files" "$tmp/merged.files" || fail "the merged output has other files than a one-machine run"
count=0
while read -r f; do
    cmp -s <(normalised "$tmp/one/$f") <(normalised "$work/merged/$f") ||
        fail "$f differs between the one-machine run and the merge"
    count=$((count + 1))
done <"$tmp/one.files"
grep -q '"replications": '"$REPS" "$work/merged/all-local/summary.json" ||
    fail "merged summary does not count $REPS replications"
say "PASS: $count files equal a one-machine run (provenance aside); cluster ${cluster_secs}s, all $(($(date +%s) - started))s"
