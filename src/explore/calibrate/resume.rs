//! A generation's shard that can be stopped and resumed (`calibrate --shard K/N [--resume]`): the
//! particle tasks it finishes are saved as they arrive (at most every [`SAVE_EVERY`], and when it
//! stops), so a shard cut short by a signal, a time limit or a lost node loses at most the tasks
//! it was running. Each task draws only from its own streams, so the shard that `--resume`
//! completes is bit for bit the one an uninterrupted run saves.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::sampler::{self, Round, TaskResult};
use super::store::{self, SavedProgress, SavedShard, Store};
use super::{CalibrationPlan, Identity, Listener, Outcome, Setup, machine};
use crate::experiment::RunError;
use crate::experiment::shard::Shard;
use crate::explore::ExploreError;

/// The tasks a shard finished, by task.
pub type Finished = BTreeMap<usize, TaskResult>;

/// A shard carrying on from the tasks an earlier run of it saved, as told to the listener.
#[derive(Debug, Clone)]
pub struct Resumed<'a> {
    /// Generation.
    pub generation: u32,
    /// Tasks saved.
    pub saved: usize,
    /// The shard's tasks.
    pub tasks: Range<usize>,
    /// Where they were saved.
    pub place: &'a str,
}

/// Longest time between saves of a running shard's finished tasks.
pub const SAVE_EVERY: Duration = Duration::from_secs(5);

/// Runs shard `s` of `round` and saves its results for `--merge`; with `resume`, only the tasks
/// that a stopped run of it did not finish (and nothing if it is saved complete already). Stops
/// early, with its progress saved, when `listen.stop` says so.
#[allow(clippy::too_many_arguments)]
pub fn run_shard(
    plan: &CalibrationPlan,
    setup: &Setup,
    id: &Identity,
    round: &Round,
    s: Shard,
    resume: bool,
    store: &mut dyn Store,
    listen: &Listener,
) -> Result<Outcome, ExploreError> {
    let t = round.index;
    let tasks = store::task_range(plan.particles, s);
    if resume && complete(store, id, t, s, &tasks)? {
        return Ok(Outcome::Shard {
            generation: t,
            tasks,
            already: true,
        });
    }
    let mut finished = if resume {
        store::load_progress(store, id, t, s, &tasks)?
    } else {
        store.clear_progress(t, s).map_err(machine)?;
        BTreeMap::new()
    };
    if !finished.is_empty() {
        (listen.resumed)(&Resumed {
            generation: t,
            saved: finished.len(),
            tasks: tasks.clone(),
            place: &store.progress_place(t, s),
        });
    }
    let todo: Vec<usize> = tasks
        .clone()
        .filter(|i| !finished.contains_key(i))
        .collect();
    (listen.generation)(t, round.epsilon, todo.len() as u64);
    let progress = |finished: &Finished| SavedProgress {
        identity: id.clone(),
        generation: t,
        shard: s,
        finished: finished.iter().map(|(i, r)| (*i, r.clone())).collect(),
    };
    let mut save = |f: &Finished| store.save_progress(&progress(f)).map_err(machine);
    let ran = run_tasks_saving(plan, setup, round, &todo, &mut finished, listen, &mut save);
    if ran.is_err() || finished.len() < tasks.len() {
        // What finished is kept whatever stopped the rest, unless nothing did.
        if !finished.is_empty() {
            store.save_progress(&progress(&finished)).map_err(machine)?;
        }
        ran?;
        return Ok(Outcome::Stopped {
            generation: t,
            finished: finished.len(),
            tasks,
            place: store.progress_place(t, s),
        });
    }
    let saved = SavedShard {
        identity: id.clone(),
        generation: t,
        shard: s,
        tasks: tasks.clone(),
        results: finished.into_values().collect(),
    };
    store.save_shard(&saved).map_err(machine)?;
    store.clear_progress(t, s).map_err(machine)?;
    Ok(Outcome::Shard {
        generation: t,
        tasks,
        already: false,
    })
}

/// Whether shard `s` of generation `t` is saved complete, for this calibration.
fn complete(
    store: &dyn Store,
    id: &Identity,
    t: u32,
    s: Shard,
    tasks: &Range<usize>,
) -> Result<bool, ExploreError> {
    let saved = store
        .shard(t, s)
        .map_err(ExploreError::Input)?
        .filter(|saved| saved.identity == *id && saved.tasks == *tasks);
    Ok(saved.is_some_and(|saved| saved.results.len() == tasks.len()))
}

/// Runs tasks `todo` of a round on the plan's threads, adding each result to `finished` as it
/// arrives and handing everything finished to `save` at most every [`SAVE_EVERY`]; tasks not yet
/// started when `listen.stop` says so are left out.
fn run_tasks_saving(
    plan: &CalibrationPlan,
    setup: &Setup,
    round: &Round,
    todo: &[usize],
    finished: &mut Finished,
    listen: &Listener,
    save: &mut dyn FnMut(&Finished) -> Result<(), ExploreError>,
) -> Result<(), ExploreError> {
    let threads = plan.study.threads;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| RunError::Pool { threads, source })?;
    // Set when a save fails: the tasks not yet started are left out.
    let abort = AtomicBool::new(false);
    let (sender, results) = mpsc::channel::<(usize, TaskResult)>();
    std::thread::scope(|scope| {
        let (abort, pool) = (&abort, &pool);
        let stop = listen.stop;
        let worker = scope.spawn(move || {
            pool.install(|| {
                todo.par_iter().try_for_each_with(sender, |sender, &i| {
                    if abort.load(Ordering::Relaxed) || stop() {
                        return Ok(());
                    }
                    let r = sampler::task(plan, setup, round, i)?;
                    // The receiver outlives every task (it is dropped after the join below).
                    let _ = sender.send((i, r));
                    Ok(())
                })
            })
        });
        let mut last = Instant::now();
        let mut saved = Ok(());
        let mut done = 0;
        // Ends once every task has ended and dropped its sender.
        for (i, r) in results {
            finished.insert(i, r);
            done += 1;
            (listen.task_done)(done);
            if saved.is_ok() && last.elapsed() >= SAVE_EVERY {
                saved = save(finished);
                abort.store(saved.is_err(), Ordering::Relaxed);
                last = Instant::now();
            }
        }
        let ran = worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        ran.and(saved)
    })
}
