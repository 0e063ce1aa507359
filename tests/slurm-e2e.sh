#!/usr/bin/env bash
# End-to-end test of examples/slurm/ on a real Slurm (scripts/slurm-local.sh up brings up one):
# a sharded `csmarket run` of England 2012, then a sharded `csmarket sweep` of it, each in 3
# shards, where
#   shard 0 has its csmarket SIGKILLed after its first save (as the OOM killer would),
#   shard 1 has its time limit cut to 1 minute while it runs (Slurm warns it, it saves and requeues),
#   shard 2 is cancelled with scancel while it runs (the finish job submits it again);
# a sharded `csmarket compare` whose node fails (is set DOWN) once shards 0 and 1 have saved
# progress: Slurm requeues them itself; nobody touches anything after that (but to resume the
# node, as an administrator would, on a cluster where it does not come back by itself); a
# calibration through examples/slurm/calibrate.sh with one shard of its first generation
# cancelled; and a calibration generation whose shard 0 gets the time-limit warning (USR1) part
# way, saves its finished particles, requeues itself and resumes. Each merge must complete by
# itself and equal a one-machine run of the same command byte for byte: every file, except the
# provenance that says when and how the work was run (`started`, `finished`, `threads`,
# `command_line` in the JSON files; the same lines of a report), as in tests/golden.rs; a
# calibration's posterior, generations, fit and charts.
#
#   scripts/slurm-local.sh up && tests/slurm-e2e.sh; scripts/slurm-local.sh down
#
# Environment: CSMARKET (default target/release/csmarket), SLURM_E2E_REPS (replications per
# configuration of the run, default 30000: each shard must run for longer than Slurm's warning
# takes to come, up to 40 s), SLURM_E2E_SWEEP_REPS (replications per grid point of the 12-point
# sweep, default 12000: a grid point is a piece, saved as it finishes, and the warning, which comes
# up to 40 s after the cut, must come before a shard's last piece starts: at 4000 a shard of 4
# pieces took 32 s on CI's machine and once finished its last piece as the warning came, with
# nothing left to requeue; 8000 left too little margin once main's engine ran about 25% faster), SLURM_E2E_COMPARE_REPS (replications per configuration of the comparison, default
# 30000: the node fails a few seconds into a shard, which must then be inside a configuration to
# resume it; at 9000 a shard's 3000 replications of the first configuration took about 3 s once
# the engine ran at about 1,000 a second, and a shard finished it before the failure), SLURM_E2E_CALIBRATE_REPS
# (replications per particle of the warned calibration, default 600: about 1.5 s a particle, 20
# particles a shard, the warning after the first save at 5 s), SLURM_E2E_ONLY (run, sweep,
# compare or calibrate: only that case), SLURM_E2E_KEEP=1 keeps the temporary folder.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
CSMARKET="${CSMARKET:-$root/target/release/csmarket}"
REPS="${SLURM_E2E_REPS:-30000}"
SWEEP_REPS="${SLURM_E2E_SWEEP_REPS:-12000}"
COMPARE_REPS="${SLURM_E2E_COMPARE_REPS:-30000}"
CAL_REPS="${SLURM_E2E_CALIBRATE_REPS:-600}"
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
cleanup() {
    # Whatever happened, leave no job of this test behind.
    scancel --name=csmarket-run 2>/dev/null || true
    scancel --name=csmarket-sweep 2>/dev/null || true
    scancel --name=csmarket-compare 2>/dev/null || true
    # A node the test set down and had not seen back: bring it back for whoever comes next.
    if [[ -n "${node_down:-}" ]]; then scontrol update NodeName="$node_down" State=RESUME 2>/dev/null || true; fi
    scancel --name=csmarket-calibrate 2>/dev/null || true
    scancel --name=csmarket-calwarn 2>/dev/null || true
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
        # run saves .progress/state.json in each configuration's folder, compare the same under
        # compare/; sweep .progress/piece-J.json.
        if [[ -n "$id" ]] && { compgen -G "$work/shard-$k/*/.progress/*.json" ||
            compgen -G "$work/shard-$k/*/*/.progress/*.json"; } >/dev/null; then
            echo "$id"
            return 0
        fi
        sleep 0.5
    done
    fail "shard $k did not start and checkpoint within $limit s; squeue: $(squeue -h -r)"
}

# A file's bytes without the provenance of when and how it was run: JSON files are pretty-printed,
# one key a line, `command_line` a list over several lines; a report's lines of the same.
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


# The three task failures of the run and sweep cases: shard 1's time limit cut to 1 minute while
# it runs, shard 0's csmarket SIGKILLed after its first save, shard 2 cancelled after its first save.
three_failures() {
    local id0 id1 id2 pids pid killed=""
    # Shard 1: an administrator's cut of the time limit to 1 minute, while the task runs. Not
    # before its csmarket runs: cut as Slurm starts the job, the warning went out before the batch
    # shell was there to hear it (seen once: no USR1, the task killed at the limit).
    for ((i = 0; i < 240; i++)); do
        id1=$(running_id 1)
        if [[ -n "$id1" ]]; then
            for pid in $(scontrol listpids "$id1" 2>/dev/null | awk 'NR > 1 {print $1}'); do
                [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == csmarket ]] && break 2
            done
        fi
        sleep 0.5
    done
    [[ -n "$id1" ]] || fail "$label: shard 1 did not start"
    scontrol update JobId="$id1" TimeLimit=1
    say "$label: shard 1 (job $id1): time limit cut to 1 minute"

    # Shard 0: SIGKILL its csmarket once progress is saved.
    id0=$(wait_running_with_progress 0 120)
    pids=$(scontrol listpids "$id0" | awk 'NR > 1 {print $1}')
    for pid in $pids; do
        if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == csmarket ]]; then
            kill -KILL "$pid"
            killed=$pid
        fi
    done
    [[ -n "$killed" ]] || fail "$label: no csmarket process in job $id0 (scontrol listpids: $pids)"
    say "$label: shard 0 (job $id0): SIGKILLed csmarket (pid $killed)"

    # Shard 2 starts in the CPU shard 0 gave up; cancel it once it has saved progress.
    id2=$(wait_running_with_progress 2 180)
    scancel "${array}_2"
    say "$label: shard 2 (job $id2): cancelled with scancel ${array}_2"
}

# What each of the three failures printed, and whether each happened and was recovered as meant.
three_failures_check() {
    echo "shard 0 (SIGKILL):"
    grep -E "===|killed|requeue|resuming|complete|Stopped|saved in" "$work/logs/shard-0.log" | sed 's/^/  /'
    echo "shard 1 (time limit):"
    grep -E "===|time limit|stopped|Stopped|saved in|requeue|resuming|complete|CANCELLED|TIME LIMIT" "$work/logs/shard-1.log" | sed 's/^/  /'
    echo "shard 2 (cancelled):"
    grep -E "===|SIGTERM|Stopped|saved in|CANCELLED|requeue|resuming|complete" "$work/logs/shard-2.log" | sed 's/^/  /'
    echo "finish job:"
    sed 's/^/  /' "$work/logs/finish.log"
    echo "----"
    grep -q "killed by signal 9" "$work/logs/shard-0.log" || fail "$label: shard 0 did not see its csmarket killed"
    grep -q "requeueing itself" "$work/logs/shard-0.log" || fail "$label: shard 0 did not requeue itself"
    grep -q "time limit in about" "$work/logs/shard-1.log" ||
        fail "$label: shard 1 finished before Slurm's warning came; raise its replications"
    if ! grep -q "requeueing itself (time limit)" "$work/logs/shard-1.log"; then
        grep -q "complete: marked" "$work/logs/shard-1.log" &&
            fail "$label: shard 1 finished its work as Slurm's warning came, leaving nothing to requeue; raise its replications"
        fail "$label: shard 1 did not requeue itself"
    fi
    grep -q "round 2" "$work/logs/shard-2.log" || fail "$label: shard 2 was not submitted again by the finish job"
    for k in 0 1 2; do
        grep -q "resuming with" "$work/logs/shard-$k.log" || fail "$label: shard $k did not resume from saved progress"
    done
}

# A node failure: once shards 0 and 1 (the node's 2 CPUs) have saved progress, the node is set
# DOWN, which is what slurmctld does to a node that stops answering. Slurm itself kills and
# requeues the node's tasks (their --requeue; state NODE_FAIL) and the finish job, pending on
# afterany, waits on. With the scratch cluster's ReturnToService=2 the node is back as soon as its
# slurmd answers; were it still down after 10 s (ReturnToService=0 or 1), the test resumes it, as
# an administrator would after repairing it. Nothing else is touched.
node_failure() {
    local id0 id1 node state
    id0=$(wait_running_with_progress 0 180)
    id1=$(wait_running_with_progress 1 180)
    node=$(squeue -h -j "$id0" -o %N)
    [[ -n "$node" ]] || fail "$label: no node for job $id0"
    scontrol update NodeName="$node" State=DOWN Reason="slurm-e2e: node failure"
    node_down=$node
    say "$label: node $node set DOWN while shards 0 (job $id0) and 1 (job $id1) ran"
    # Slurm requeues both: each is pending again (or already restarted) with a restart counted.
    for id in "$id0" "$id1"; do
        for ((i = 0; i < 60; i++)); do
            scontrol show job "$id" 2>/dev/null | grep -qE "Restarts=[1-9]" && break
            sleep 0.5
        done
        scontrol show job "$id" | grep -qE "Restarts=[1-9]" ||
            fail "$label: Slurm did not requeue job $id after its node failed: $(scontrol show job "$id" | grep -E 'JobState|Restarts')"
    done
    say "$label: Slurm requeued jobs $id0 and $id1 itself: $(scontrol show job "$id0" | grep -oE 'JobState=[A-Z_]+ Reason=[^ ]+')"
    for ((i = 0; i < 20; i++)); do
        state=$(sinfo -h -n "$node" -N -o %t)
        [[ "$state" == down* || "$state" == drain* || "$state" == fail* ]] || break
        sleep 0.5
    done
    if [[ "$state" == down* || "$state" == drain* || "$state" == fail* ]]; then
        scontrol update NodeName="$node" State=RESUME
        say "$label: node $node still $state after 10 s: resumed by the test, as an administrator"
    else
        say "$label: node $node is $state again by itself (ReturnToService); nobody resumed it"
    fi
    node_down=""
}

node_failure_check() {
    for k in 0 1; do
        echo "shard $k (node failure):"
        grep -E "===|NODE FAILURE|SIGTERM|Stopped|saved in|requeue|resuming|complete" "$work/logs/shard-$k.log" | sed 's/^/  /'
    done
    echo "finish job:"
    sed 's/^/  /' "$work/logs/finish.log"
    echo "----"
    for k in 0 1; do
        grep -q "DUE TO NODE FAILURE" "$work/logs/shard-$k.log" || fail "$label: shard $k's log does not show the node failure"
        grep -q "round 1, attempt 2" "$work/logs/shard-$k.log" ||
            fail "$label: shard $k was not requeued by Slurm after the node failure (no attempt 2 of round 1)"
        grep -q "resuming with" "$work/logs/shard-$k.log" || fail "$label: shard $k did not resume from saved progress"
    done
    grep -q "round 2" "$work/history" && fail "$label: the finish job had to submit shards again; Slurm's requeue should have recovered the node failure"
    return 0
}

# One case: `csmarket COMMAND ARGS` on one machine (in the background, at the lowest priority: it
# fills the CPUs while tasks wait to be requeued, and gives way to them otherwise) and through
# examples/slurm/ in 3 shards with failures; the merge must complete by itself and equal the
# one-machine output. $1: the case's name (run, sweep or compare), $2: the failures
# (three_failures or node_failure), then the command and its arguments.
submission() {
    label=$1
    local failures=$2
    shift 2
    work="$tmp/$label"
    local one="$tmp/$label-one" case_started
    case_started=$(date +%s)
    nice -n 19 "$CSMARKET" "$@" --out "$one" >"$one.log" 2>&1 &
    one_pid=$!

    say "$label: submitting $SHARDS shards of: csmarket $*"
    "$root/examples/slurm/submit.sh" --shards "$SHARDS" --cpus 1 --mem 1G --time 10 \
        --signal-secs 50 --save-secs 2 --retries 2 --work "$work" --csmarket "$CSMARKET" "$@"
    array=$(awk '/round 1:/ {for (i = 1; i <= NF; i++) if ($i == "job") {print $(i + 1); exit}}' "$work/history")
    [[ -n "$array" ]] || fail "no array job id in $work/history"

    "$failures"

    say "$label: waiting for the finish job to merge, with no further help"
    for ((i = 0; i < 1800; i++)); do
        [[ -f "$work/done/merged" ]] && break
        if grep -qE "gave up|stopped:|merge failed" "$work/logs/finish.log" 2>/dev/null; then
            cat "$work/logs/finish.log" >&2
            fail "$label: the finish job did not merge"
        fi
        sleep 1
    done
    [[ -f "$work/done/merged" ]] || fail "$label: no merge within 30 minutes; squeue: $(squeue -h -r)"
    local cluster_secs=$(($(date +%s) - case_started))
    say "$label: merged by the cluster in ${cluster_secs}s"

    echo "---- $label: what each failure case printed"
    "${failures}_check"

    if [[ "$label" == run ]]; then
        # A rerun of a finished submission: every shard's marker makes its task return at once,
        # and the finish job merges again.
        rm "$work/done/merged"
        "$root/examples/slurm/submit.sh" --resubmit "$work" >/dev/null
        for ((i = 0; i < 120; i++)); do
            [[ -f "$work/done/merged" ]] && break
            sleep 1
        done
        [[ -f "$work/done/merged" ]] || fail "a resubmission of complete shards did not merge within 120 s"
        grep -q "already complete" "$work/logs/shard-0.log" || fail "a complete shard did not return at once"
        say "$label: resubmitted after completion: shard 0 $(grep "already complete" "$work/logs/shard-0.log" | sed 's/.*shard 0: //'); merged again in ${i}s"
    fi

    say "$label: waiting for the one-machine run of the same"
    wait "$one_pid" || fail "$label: the one-machine run failed: $(cat "$one.log")"
    one_pid=""

    (cd "$one" && find . -type f | sort) >"$one.files"
    (cd "$work/merged" && find . -type f | sort) >"$work.files"
    diff -u "$one.files" "$work.files" || fail "$label: the merged output has other files than a one-machine run"
    local count=0 f
    while read -r f; do
        cmp -s <(normalised "$one/$f") <(normalised "$work/merged/$f") ||
            fail "$label: $f differs between the one-machine run and the merge"
        count=$((count + 1))
    done <"$one.files"
    say "$label: PASS: $count files equal a one-machine run (provenance aside); cluster ${cluster_secs}s"
}

if [[ "${SLURM_E2E_ONLY:-run}" == run ]]; then
    submission run three_failures run "$SCENARIO" -n "$REPS"
    grep -q '"replications": '"$REPS" "$tmp/run/merged/all-local/summary.json" ||
        fail "merged summary does not count $REPS replications"
fi
if [[ "${SLURM_E2E_ONLY:-sweep}" == sweep ]]; then
    # 12 grid points, 4 to a shard: each point is a piece, saved as it finishes.
    submission sweep three_failures sweep "$SCENARIO" --config comms-collaboratives \
        --param services.communications.locality=0:1:12 -n "$SWEEP_REPS"
    grep -q '"replications": '"$SWEEP_REPS" "$tmp/sweep/merged/sweep/sweep.json" ||
        fail "merged sweep does not count $SWEEP_REPS replications a point"
fi
if [[ "${SLURM_E2E_ONLY:-compare}" == compare ]]; then
    # Every configuration, paired: shards 0 and 1 lose their node after their first save.
    submission compare node_failure compare "$SCENARIO" -n "$COMPARE_REPS"
    grep -q '"replications": '"$COMPARE_REPS" "$tmp/compare/merged/compare/all-local/summary.json" ||
        fail "merged comparison does not count $COMPARE_REPS replications"
fi
if [[ "${SLURM_E2E_ONLY:-calibrate}" == calibrate ]]; then
    # A calibration generation by generation (examples/slurm/calibrate.sh) of the tutorial with
    # two priors and two targets, one shard of the first generation cancelled before it runs: the
    # merge job submits it again, and the posterior equals a one-machine calibration.
    { cat <<'EOF2'
uncertain = [
  { path = "services.bi.in_house.unit_cost", min = 0.3, max = 1.2, reason = "e2e test" },
  { path = "rules.plan_share", min = 0.2, max = 1.0, reason = "e2e test" },
]
EOF2
        cat "$root/scenarios/tutorial.toml"
        cat <<'EOF2'

[observed]
configuration = "collaborative"

[[observed.targets]]
kind = "in_house_share"
quarter = 4
value = 0.3
tolerance = 0.05
source = "e2e test"
EOF2
    } >"$tmp/calibrate.toml"
    cal=("$tmp/calibrate.toml" --config collaborative --particles 60 --generations 3 --reps 4 --seed 6)
    "$CSMARKET" calibrate "${cal[@]}" --out "$tmp/calibrate-one" >"$tmp/calibrate-one.log" 2>&1 ||
        fail "calibrate: the one-machine calibration failed: $(cat "$tmp/calibrate-one.log")"
    say "calibrate: submitting generations of 3 shards"
    "$root/examples/slurm/calibrate.sh" --shards 3 --cpus 1 --mem 1G --time 10 --work "$tmp/calibrate" \
        --csmarket "$CSMARKET" "${cal[@]}" >/dev/null
    array=$(grep -o 'shards job [0-9]*' "$tmp/calibrate/history" | head -n 1 | awk '{print $3}')
    scancel "${array}_1"
    say "calibrate: generation 0 shard 1 cancelled with scancel ${array}_1"
    for ((i = 0; i < 600; i++)); do
        [[ -f "$tmp/calibrate/done" ]] && break
        grep -qE "gave up|stopped:|failed" "$tmp/calibrate/logs/merge.log" 2>/dev/null && break
        sleep 1
    done
    echo "---- calibrate: what the merge jobs printed"
    grep -E "merge:|Stopped" "$tmp/calibrate/logs/merge.log" | sed 's/^/  /'
    echo "----"
    [[ -f "$tmp/calibrate/done" ]] || fail "calibrate: the calibration did not complete by itself"
    grep -q "shards 1 are not complete: submitting them again" "$tmp/calibrate/logs/merge.log" ||
        fail "calibrate: the cancelled shard was not submitted again"
    for f in posterior.csv generations.csv fit.csv posterior.svg pairs.svg; do
        cmp -s "$tmp/calibrate-one/calibrate/$f" "$tmp/calibrate/main/calibrate/$f" ||
            fail "calibrate: $f differs from a one-machine calibration"
    done
    say "calibrate: PASS: posterior, generations, fit and charts equal a one-machine calibration"

    # A generation's shard warned of its time limit part way: England 2012's prior generation,
    # 40 particles of CAL_REPS replications in 2 shards (20 particles, about 30 s each). Once
    # shard 0 has saved particles, its batch shell gets USR1, the signal Slurm's
    # --signal=B:USR1@S sends it before the limit (the run and sweep cases wait for the real
    # one): it stops csmarket, which saves the particles it finished, requeues itself and
    # resumes; the posterior equals a one-machine calibration.
    warn=("$SCENARIO" --particles 40 --generations 1 --reps "$CAL_REPS" --seed 7)
    nice -n 19 "$CSMARKET" calibrate "${warn[@]}" --out "$tmp/calwarn-one" >"$tmp/calwarn-one.log" 2>&1 &
    one_pid=$!
    say "calibrate-warned: submitting a generation of 2 shards"
    "$root/examples/slurm/calibrate.sh" --shards 2 --cpus 1 --mem 1G --time 10 --signal-secs 50 \
        --work "$tmp/calwarn" --csmarket "$CSMARKET" "${warn[@]}" >/dev/null
    array=$(grep -o 'shards job [0-9]*' "$tmp/calwarn/history" | head -n 1 | awk '{print $3}')
    progress="$tmp/calwarn/tasks/shard-0/calibrate/state/generation-000/shard-0-of-2.progress.json"
    for ((i = 0; i < 240; i++)); do
        [[ -f "$progress" ]] && break
        sleep 0.5
    done
    [[ -f "$progress" ]] || fail "calibrate-warned: shard 0 saved no particles within 120 s"
    id0=$(running_id 0)
    shell=""
    for pid in $(scontrol listpids "$id0" | awk 'NR > 1 {print $1}'); do
        if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == csmarket ]]; then
            shell=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")
        fi
    done
    [[ -n "$shell" ]] || fail "calibrate-warned: no csmarket process in job $id0"
    kill -USR1 "$shell"
    say "calibrate-warned: shard 0 (job $id0): USR1 to its batch shell (pid $shell)"
    for ((i = 0; i < 600; i++)); do
        [[ -f "$tmp/calwarn/done" ]] && break
        grep -qE "gave up|stopped:|failed" "$tmp/calwarn/logs/merge.log" 2>/dev/null && break
        sleep 1
    done
    echo "---- calibrate-warned: what shard 0 printed"
    grep -E "===|time limit|Stopped|saved in|requeue|resuming|complete" "$tmp/calwarn/logs/shard-0.log" | sed 's/^/  /'
    echo "----"
    [[ -f "$tmp/calwarn/done" ]] || fail "calibrate-warned: the calibration did not complete by itself"
    if ! grep -q "requeueing itself (time limit)" "$tmp/calwarn/logs/shard-0.log"; then
        grep -q "complete:" "$tmp/calwarn/logs/shard-0.log" &&
            fail "calibrate-warned: shard 0 finished its particles as the warning came; raise SLURM_E2E_CALIBRATE_REPS"
        fail "calibrate-warned: shard 0 did not requeue itself after the warning"
    fi
    grep -q "resuming generation 0 with" "$tmp/calwarn/logs/shard-0.log" ||
        fail "calibrate-warned: shard 0 did not resume from the particles it saved"
    wait "$one_pid" || fail "calibrate-warned: the one-machine calibration failed: $(cat "$tmp/calwarn-one.log")"
    one_pid=""
    for f in posterior.csv generations.csv fit.csv posterior.svg pairs.svg; do
        cmp -s "$tmp/calwarn-one/calibrate/$f" "$tmp/calwarn/main/calibrate/$f" ||
            fail "calibrate-warned: $f differs from a one-machine calibration"
    done
    say "calibrate-warned: PASS: the resumed shard's posterior, generations, fit and charts equal a one-machine calibration"
fi
say "PASS: every case; all $(($(date +%s) - started))s"
