//! Upper bounds on every size a user can ask for, in a scenario file or on the command line.
//!
//! Each is far above any real market or study and low enough that nothing can overflow, exhaust
//! memory or run for ever by accident: quarter arithmetic stays within `u32`, money and volumes
//! stay finite (and below what the fixed-point sums of `stats::sum` hold exactly), and fixed-point
//! sums over replications cannot wrap. `docs/scenario-format.md` and `--help` state them.

/// Largest scenario file read, in bytes (64 MiB; a generated market of 29,000 providers is
/// about 23 MB).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Deepest nesting of tables and arrays (dotted keys count one level each).
pub const MAX_NESTING: usize = 32;
/// Most segments in a dotted field path.
pub const MAX_PATH_SEGMENTS: usize = 32;

/// Most quarters a scenario simulates (`scenario.periods`).
pub const MAX_PERIODS: u32 = 400;
/// Longest contract and notice, in quarters (`rules.contract_length`, `rules.notice_periods`).
pub const MAX_CONTRACT_QUARTERS: u32 = MAX_PERIODS;
/// Most CCGs `[ccgs.generate]` may generate (10 million; England had 211).
pub const MAX_GENERATED_CCGS: u32 = 10_000_000;

/// Most replications per configuration or point (`-n`, `scenario.replications`, refined points):
/// below 2^31, so fixed-point sums over replications of values clamped to ±2^64 cannot wrap.
pub const MAX_REPLICATIONS: u64 = 1_000_000_000;
/// Most worker threads (`--threads`).
pub const MAX_THREADS: usize = 1024;

/// Largest population of a CCG or a patch, in people.
pub const MAX_POPULATION: f64 = 1e9;
/// Largest total population of generated CCGs, in people.
pub const MAX_TOTAL_POPULATION: f64 = 1e11;
/// Largest need per head (£ per head per year).
pub const MAX_NEED_PER_HEAD: f64 = 1e6;
/// Largest unit cost or price (£ per unit of volume).
pub const MAX_UNIT_MONEY: f64 = 1e9;
/// Largest yearly amount (£): fixed costs, coordination costs, reserves (either sign).
pub const MAX_MONEY: f64 = 1e12;
/// Largest capacity (volume per year).
pub const MAX_CAPACITY: f64 = 1e15;
/// Largest allowance (£ per head per year).
pub const MAX_ALLOWANCE: f64 = 1e4;

/// Most points of a sweep's grid (all `--param` axes multiplied), and values of one axis.
pub const MAX_SWEEP_POINTS: usize = 10_000;
/// Most bisection steps of `sweep --refine` (`--refine-steps`; 52 halve any interval of `f64`s).
pub const MAX_REFINE_STEPS: u32 = 52;
/// Most Morris grid levels (`sensitivity --levels`).
pub const MAX_LEVELS: u32 = 100;
/// Most Morris trajectories (`sensitivity --trajectories`).
pub const MAX_TRAJECTORIES: u32 = 10_000;
/// Most local CSUs `csmarket generate` writes (each is about 800 bytes of TOML, so the file stays
/// well inside [`MAX_FILE_BYTES`]).
pub const MAX_GENERATED_PROVIDERS: u32 = 50_000;
/// Smallest nest dissimilarity `lambda` (MODEL.md section 10): below it a nest already picks its
/// best option, and utilities divided by it could overflow.
pub const MIN_NEST_LAMBDA: f64 = 1e-3;
