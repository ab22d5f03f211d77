//! Every figure the auth model assumes, as named, documented, serde-loadable
//! fields. Each default says its basis: \[fact] from a public source, \[A] an
//! assumption of this model, \[tuned] chosen so a product counterfactual holds.

use crate::types::{
    check_above, check_at_least, check_at_most, check_below, check_positive, check_range,
    check_ratio, in_section,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::counts::ATTEMPTS_LIMIT;

/// The whole auth path: traffic, the auth component, its autoscaler, the
/// vendor and the mitigations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Length of one aggregation tick. \[A] 1 s resolves the HPA's 15 s sync
    /// and a 10 s client timeout while keeping nine days at 777,600 ticks.
    pub tick_ms: u64,
    /// Longest run of quiet ticks drawn as one (`AuthSystem::quiet_span_ticks`):
    /// their arrivals as one Poisson count spread evenly over them, the
    /// outcomes and windows carried tick by tick. \[A] 60, the most: a
    /// span stops at the minute and at the autoscaler's sync anyway (15 s
    /// at the default `hpa_sync_s`); 0 steps every tick on its own. Spans are exact in
    /// a span's arrivals and calls, and approximate in how they spread
    /// over its ticks; the flagship's facts and their distributions over
    /// seeds 1..20 were checked unchanged when they were turned on (issue
    /// 31, docs/src/benchmarks.md).
    pub quiet_span_ticks_max: u32,
    pub traffic: TrafficConfig,
    pub component: ComponentConfig,
    pub autoscaler: AutoscalerConfig,
    pub vendor: VendorConfig,
    pub mitigations: MitigationConfig,
    /// A deliberately seeded bug (chaos catalogue); none in real runs.
    pub seeded_bug: Option<crate::model::bugs::AuthBug>,
}

/// Who sends login and token requests, and how they retry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TrafficConfig {
    /// Mean legitimate request rate over a day. \[A] model spec §3: 20 req/s.
    pub legit_rps: f64,
    /// Diurnal swing as a fraction of the mean (rate = mean·(1 + a·cos)).
    /// \[A] model spec §3: ±50 %.
    pub diurnal_amplitude_fraction: f64,
    /// UTC hour (0..24, fractional allowed) of the daily peak. \[A] European
    /// afternoon / US morning overlap for a US/EU customer base.
    pub diurnal_peak_hour_utc: f64,
    /// Who sends the traffic, as the edge sees it: each population is a set
    /// of clients (client ids / tokens / source-address buckets) of equal
    /// rate. Limiters key on the client, never on the traffic's true class.
    pub clients: ClientPopulations,
    /// Attempts per legitimate request, first one included (1 = no retry).
    /// \[A] typical SDK default of 3.
    pub retry_attempts_max: u32,
    /// Retry budget: retries scheduled in the window may not exceed this
    /// multiple of fresh requests in the window. \[A] historical clients had
    /// no budget beyond the attempt limit (urllib3-style `Retry`): 2.0 =
    /// attempts − 1 never binds in steady state; below 2 models a budgeted
    /// client.
    pub retry_ratio_max: f64,
    /// Sliding window of the retry budget. \[A] 10 s, as Finagle's RetryBudget.
    pub retry_budget_window_s: u64,
    /// Backoff before the first retry. \[A] 1 s.
    pub retry_backoff_base_ms: u64,
    /// Backoff multiplier per further attempt. \[A] exponential backoff ×2.
    pub retry_backoff_factor: f64,
    /// Backoff ceiling. \[A] 30 s.
    pub retry_backoff_max_ms: u64,
    /// Jitter on each backoff as a ± fraction (0 = none, 1 = 0..2× backoff);
    /// never earlier than a 429's reset. \[A] historical clients retried
    /// without jitter (urllib3's `backoff_jitter` defaults to 0).
    pub retry_jitter_fraction: f64,
}

/// The client populations behind the traffic: a two-point distribution for
/// each class (many light clients, a few heavy ones). The world knows which
/// population a request comes from; the per-client limiter sees only the
/// client and its rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClientPopulations {
    /// People logging in through the UI and CLI. \[A] a few thousand active
    /// users a day, each a handful of requests an hour: far below any
    /// per-client limit.
    pub legit_light_clients: u32,
    /// Share of legitimate requests from heavy legitimate clients: CI
    /// systems and API users exchanging API tokens. \[A] a quarter.
    pub legit_heavy_share_fraction: f64,
    /// Heavy legitimate clients. \[A] 10: at the 30 req/s diurnal peak each
    /// sends about 0.75 req/s, near a tight per-client limit.
    pub legit_heavy_clients: u32,
    /// Share of automated requests from a few heavy sources. \[A] the bulk:
    /// 99 % (the write-up withholds details; a few sources is what a
    /// per-client limit can stop, which the E3 mitigation did).
    pub bot_heavy_share_fraction: f64,
    /// Heavy automated sources. \[A] 20.
    pub bot_heavy_clients: u32,
    /// The long tail of automated sources, each below any per-client limit.
    /// \[A] 2,000.
    pub bot_light_clients: u32,
}

/// The control plane's auth component (replicas behind one queue).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ComponentConfig {
    /// CPU throughput of one ready replica. \[A] model spec §3: 50 req/s.
    pub replica_capacity_rps: f64,
    /// Requests one replica can hold in flight (workers / vendor connection
    /// pool); a request waiting on the vendor holds one. \[A] 32.
    pub replica_inflight_max: u32,
    /// HPA floor. \[A] model spec §3: 3.
    pub replicas_min: u32,
    /// HPA ceiling. \[A] model spec §3: 20.
    pub replicas_max: u32,
    /// Time from pod creation until it serves. \[A] model spec §3: 60 s.
    pub warmup_s: u64,
    /// Bound of the shared request queue; overflow is shed as 503. \[A] two
    /// seconds of the floor capacity (2 × 3 × 50).
    pub queue_max_requests: u64,
    /// Time a request holds a worker for local work (session lookup, token
    /// signing), vendor wait excluded. \[A] 20 ms.
    pub request_local_ms: u64,
    /// Client deadline, also propagated to the vendor call. \[A] model spec §3:
    /// 10 s.
    pub client_timeout_ms: u64,
    /// Auth pods one node of the component's node pool holds. \[A] one core
    /// requested per pod on 4-core nodes.
    pub pods_per_node: u32,
    /// Nodes at the start of the run. \[A] room for the floor of 3 pods and 5
    /// more: 2 nodes.
    pub nodes_initial: u32,
    /// The node pool's autoscaler ceiling. \[A] 4 nodes (16 pods), below the
    /// HPA's 20: the pool was sized for normal load, so the HPA's last pods
    /// stay Pending. This is the "scaling capabilities" the write-up says
    /// the automated traffic overwhelmed.
    pub nodes_max: u32,
    /// From a Pending pod to a new node that takes pods. \[A] the cluster
    /// autoscaler's 10 s scan plus VM boot and join, about 4 min on AKS.
    pub node_provision_s: u64,
    /// A node no pod needs is removed after this long. \[fact]
    /// cluster-autoscaler `--scale-down-unneeded-time` default 10 min.
    pub node_unneeded_s: u64,
}

/// Kubernetes horizontal pod autoscaler on CPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AutoscalerConfig {
    /// Metric sync period. \[fact] kube-controller-manager
    /// `--horizontal-pod-autoscaler-sync-period` default 15 s.
    pub hpa_sync_s: u64,
    /// The CPU figure the HPA reads is an average over this window. \[fact]
    /// metrics-server's `--metric-resolution`, 60 s before v0.6.
    pub hpa_metric_window_s: u64,
    /// Scale-up stabilisation: the lowest recommendation of this window is
    /// used. \[fact] HPA v2 default 0 s (scale up at once).
    pub hpa_scale_up_window_s: u64,
    /// Target CPU utilisation of ready capacity. \[A] common 70 % setting.
    pub hpa_cpu_target_fraction: f64,
    /// No action while |utilisation/target − 1| is within this. \[fact]
    /// `--horizontal-pod-autoscaler-tolerance` default 0.1.
    pub hpa_tolerance_fraction: f64,
    /// Scale-up policy: at most this many pods added per period… \[fact] HPA
    /// v2 default behaviour: 4 pods per 60 s.
    pub hpa_scale_up_pods: u32,
    /// …or this factor of the replicas at the period start, whichever is
    /// larger. \[fact] HPA v2 default: double per 60 s.
    pub hpa_scale_up_factor: f64,
    /// Period of the scale-up policy. \[fact] HPA v2 default 60 s.
    pub hpa_scale_up_period_s: u64,
    /// Scale-down stabilisation: the highest recommendation of this window
    /// is used. \[fact] HPA v2 default 300 s.
    pub hpa_scale_down_window_s: u64,
    /// Scale events kept for inspection (oldest dropped beyond). \[A] bound.
    pub scale_events_kept_max: usize,
}

/// The identity vendor (Auth0) and the share of requests that reach it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VendorConfig {
    /// Token-bucket refill rate. \[fact] Auth0 enterprise limit, 100 req/s.
    pub vendor_rate_rps: f64,
    /// Token-bucket size. \[fact] Auth0 enterprise burst, 100.
    pub vendor_burst_requests: f64,
    /// Median vendor latency. \[A] model spec §3: 120 ms.
    pub vendor_latency_median_ms: f64,
    /// 99th-percentile vendor latency (lognormal). \[A] model spec §3: 600 ms.
    pub vendor_latency_p99_ms: f64,
    /// Share of requests that call the vendor without token/JWKS caching.
    /// \[A] model spec §3: every request.
    pub vendor_share_uncached_fraction: f64,
    /// Share of requests that call the vendor with caching. \[A] model spec
    /// §3: 5 % (cache misses, fresh logins).
    pub vendor_share_cached_fraction: f64,
    /// Share of automated requests that call the vendor, caching or not;
    /// the rest the component refuses on its own checks (no session, an
    /// unknown client, a malformed or expired credential), at the full CPU
    /// cost of a request. \[tuned] 0.02: the write-up names the auth
    /// component's scaling, not the vendor's limit, as what the automated
    /// traffic overwhelmed; at 1.0 (every bot request a vendor exchange)
    /// the vendor's 100 req/s caps legitimate success during the surge
    /// whatever the component's size (a mean minute success of 4.1 % over
    /// the flagship's surge on 20 pods and on 40). At 0.02 the 80× surge's
    /// peak (~2,400 req/s) sends ~48 req/s of automated calls, under the
    /// limit beside the 30 req/s of legitimate ones: a component scaled to
    /// the surge holds it, and past ~115× the vendor binds again.
    /// Legitimate requests keep the shares above: D0's total outage with
    /// only the vendor path cut says they all needed it.
    pub bot_vendor_share_fraction: f64,
    /// During a forced 429 storm the vendor reports the end of its current
    /// fixed window as the reset (clients wait until then). \[A] a
    /// per-minute limit, as on some Auth0 authentication endpoints.
    pub vendor_storm_reset_window_s: u64,
}

/// Resilience switches the driver can flip at runtime. Historical defaults
/// are all off; the parameters are tuned so that "rate limiting from the
/// start" keeps legitimate success ≥ 99 % through the flagship's 80× surge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MitigationConfig {
    /// Token/JWKS caching cuts vendor calls to the cached share. \[A]
    /// historically off.
    pub caching_enabled: bool,
    /// Per-client rate limit at the edge. \[fact] E3 mitigation; off before.
    pub per_client_limit_enabled: bool,
    /// Per-client sustained limit. \[tuned] 1 req/s: the 20 heavy automated
    /// sources get 20 req/s, which with the light tail (~24 req/s at 80×)
    /// and the 30 req/s diurnal peak stays under the vendor's 100 req/s; a
    /// heavy legitimate client (0.75 req/s at the peak) stays under it
    /// unless it retries hard.
    pub per_client_limit_rps: f64,
    /// Per-client burst. \[tuned] 10 requests (2 s at the limit).
    pub per_client_burst_requests: f64,
    /// Global admission cap in front of the queue. \[fact] E3 mitigation.
    pub global_cap_enabled: bool,
    /// Global cap rate. \[tuned] 150 req/s: the floor capacity (3 × 50), well
    /// above the ~75 req/s left after per-client limits.
    pub global_cap_rps: f64,
    /// Global cap burst. \[tuned] one second of the cap.
    pub global_cap_burst_requests: f64,
    /// Client-side adaptive throttling (Google SRE book ch. 21) on legitimate
    /// clients. \[A] off historically.
    pub client_throttle_enabled: bool,
    /// Multiplier K in max(0, (requests − K·accepts)/(requests + 1)). \[fact]
    /// SRE book suggests 2.
    pub client_throttle_k: f64,
    /// Window over which requests and accepts are counted. \[fact] SRE book:
    /// two minutes.
    pub client_throttle_window_s: u64,
    /// Circuit breaker on vendor calls. \[A] off historically.
    pub breaker_enabled: bool,
    /// Window of the breaker's error ratio. \[A] 10 s.
    pub breaker_window_s: u64,
    /// Error fraction (timeouts, unreachable) that opens the breaker. \[A] 50 %.
    pub breaker_open_error_fraction: f64,
    /// Calls in the window needed before the ratio is trusted. \[A] 20.
    pub breaker_calls_min: u64,
    /// Time open before a half-open probe. \[A] 30 s (must outlast the client
    /// timeout so only probes can fail while half-open).
    pub breaker_cooldown_s: u64,
    /// Probe calls in half-open; all must answer to close. \[A] 5.
    pub breaker_probe_calls: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            tick_ms: 1_000,
            quiet_span_ticks_max: 60,
            traffic: TrafficConfig::default(),
            component: ComponentConfig::default(),
            autoscaler: AutoscalerConfig::default(),
            vendor: VendorConfig::default(),
            mitigations: MitigationConfig::default(),
            seeded_bug: None,
        }
    }
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            legit_rps: 20.0,
            diurnal_amplitude_fraction: 0.5,
            diurnal_peak_hour_utc: 15.0,
            clients: ClientPopulations::default(),
            retry_attempts_max: 3,
            retry_ratio_max: 2.0,
            retry_budget_window_s: 10,
            retry_backoff_base_ms: 1_000,
            retry_backoff_factor: 2.0,
            retry_backoff_max_ms: 30_000,
            retry_jitter_fraction: 0.0,
        }
    }
}

impl Default for ClientPopulations {
    fn default() -> Self {
        ClientPopulations {
            legit_light_clients: 5_000,
            legit_heavy_share_fraction: 0.25,
            legit_heavy_clients: 10,
            bot_heavy_share_fraction: 0.99,
            bot_heavy_clients: 20,
            bot_light_clients: 2_000,
        }
    }
}

/// Upper bound of each client population: a billion clients is beyond any
/// control plane, and keeps the per-population buckets' rates finite.
const CLIENTS_MAX: u32 = 1_000_000_000;

impl ClientPopulations {
    pub fn validate(&self) -> Result<(), String> {
        let c = self;
        check_range("legit_light_clients", c.legit_light_clients, 1, CLIENTS_MAX)?;
        check_ratio("legit_heavy_share_fraction", c.legit_heavy_share_fraction)?;
        check_range("legit_heavy_clients", c.legit_heavy_clients, 1, CLIENTS_MAX)?;
        check_ratio("bot_heavy_share_fraction", c.bot_heavy_share_fraction)?;
        check_range("bot_heavy_clients", c.bot_heavy_clients, 1, CLIENTS_MAX)?;
        check_range("bot_light_clients", c.bot_light_clients, 1, CLIENTS_MAX)
    }
}

impl Default for ComponentConfig {
    fn default() -> Self {
        ComponentConfig {
            replica_capacity_rps: 50.0,
            replica_inflight_max: 32,
            replicas_min: 3,
            replicas_max: 20,
            warmup_s: 60,
            queue_max_requests: 300,
            request_local_ms: 20,
            client_timeout_ms: 10_000,
            pods_per_node: 4,
            nodes_initial: 2,
            nodes_max: 4,
            node_provision_s: 240,
            node_unneeded_s: 600,
        }
    }
}

impl Default for AutoscalerConfig {
    fn default() -> Self {
        AutoscalerConfig {
            hpa_sync_s: 15,
            hpa_metric_window_s: 60,
            hpa_scale_up_window_s: 0,
            hpa_cpu_target_fraction: 0.7,
            hpa_tolerance_fraction: 0.1,
            hpa_scale_up_pods: 4,
            hpa_scale_up_factor: 2.0,
            hpa_scale_up_period_s: 60,
            hpa_scale_down_window_s: 300,
            scale_events_kept_max: 4_096,
        }
    }
}

impl Default for VendorConfig {
    fn default() -> Self {
        VendorConfig {
            vendor_rate_rps: 100.0,
            vendor_burst_requests: 100.0,
            vendor_latency_median_ms: 120.0,
            vendor_latency_p99_ms: 600.0,
            vendor_share_uncached_fraction: 1.0,
            vendor_share_cached_fraction: 0.05,
            bot_vendor_share_fraction: 0.02,
            vendor_storm_reset_window_s: 60,
        }
    }
}

impl Default for MitigationConfig {
    fn default() -> Self {
        MitigationConfig {
            caching_enabled: false,
            per_client_limit_enabled: false,
            per_client_limit_rps: 1.0,
            per_client_burst_requests: 10.0,
            global_cap_enabled: false,
            global_cap_rps: 150.0,
            global_cap_burst_requests: 150.0,
            client_throttle_enabled: false,
            client_throttle_k: 2.0,
            client_throttle_window_s: 120,
            breaker_enabled: false,
            breaker_window_s: 10,
            breaker_open_error_fraction: 0.5,
            breaker_calls_min: 20,
            breaker_cooldown_s: 30,
            breaker_probe_calls: 5,
        }
    }
}

impl MitigationConfig {
    /// Per-client limit and global cap on, the rest as configured: the E3
    /// mitigation.
    pub fn rate_limited(mut self) -> Self {
        self.per_client_limit_enabled = true;
        self.global_cap_enabled = true;
        self
    }
}

impl AuthConfig {
    /// Checks every field; the error names the first bad field (nested
    /// ones as `component.replicas_max`) and what was expected.
    pub fn validate(&self) -> Result<(), String> {
        check_positive("tick_ms", self.tick_ms)?;
        in_section("traffic", self.traffic.validate())?;
        // The component first: its own ranges name its fields before the
        // tick is compared with its client timeout.
        in_section("component", self.component.validate())?;
        check_at_most(
            "tick_ms",
            self.tick_ms,
            (
                "component.client_timeout_ms",
                self.component.client_timeout_ms,
            ),
        )?;
        in_section("autoscaler", self.autoscaler.validate())?;
        in_section("vendor", self.vendor.validate())?;
        check_at_most("quiet_span_ticks_max", self.quiet_span_ticks_max, 60)?;
        in_section(
            "mitigations",
            self.mitigations.validate(self.component.client_timeout_ms),
        )
    }
}

impl TrafficConfig {
    pub fn validate(&self) -> Result<(), String> {
        let t = self;
        check_at_least("legit_rps", t.legit_rps, 0.0)?;
        check_ratio("diurnal_amplitude_fraction", t.diurnal_amplitude_fraction)?;
        check_at_least("diurnal_peak_hour_utc", t.diurnal_peak_hour_utc, 0.0)?;
        check_below("diurnal_peak_hour_utc", t.diurnal_peak_hour_utc, 24.0)?;
        in_section("clients", t.clients.validate())?;
        check_range(
            "retry_attempts_max",
            t.retry_attempts_max,
            1,
            ATTEMPTS_LIMIT as u32,
        )?;
        check_at_least("retry_ratio_max", t.retry_ratio_max, 0.0)?;
        check_positive("retry_budget_window_s", t.retry_budget_window_s)?;
        check_positive("retry_backoff_base_ms", t.retry_backoff_base_ms)?;
        check_at_least("retry_backoff_factor", t.retry_backoff_factor, 1.0)?;
        check_at_least(
            "retry_backoff_max_ms",
            t.retry_backoff_max_ms,
            ("retry_backoff_base_ms", t.retry_backoff_base_ms),
        )?;
        check_ratio("retry_jitter_fraction", t.retry_jitter_fraction)
    }
}

impl ComponentConfig {
    pub fn validate(&self) -> Result<(), String> {
        let c = self;
        check_positive("replica_capacity_rps", c.replica_capacity_rps)?;
        check_positive("replica_inflight_max", c.replica_inflight_max)?;
        check_at_least("replicas_min", c.replicas_min, 1)?;
        check_at_least(
            "replicas_max",
            c.replicas_max,
            ("replicas_min", c.replicas_min),
        )?;
        check_positive("queue_max_requests", c.queue_max_requests)?;
        check_positive("request_local_ms", c.request_local_ms)?;
        // Up to ten minutes: past that no login client is still waiting.
        check_range(
            "client_timeout_ms",
            c.client_timeout_ms,
            1,
            ("ten minutes", 600_000),
        )?;
        // A pod that takes a day to warm up is not an autoscaled pod.
        check_at_most("warmup_s", c.warmup_s, ("one day", 86_400))?;
        check_above(
            "client_timeout_ms",
            c.client_timeout_ms,
            ("request_local_ms", c.request_local_ms),
        )?;
        check_range("pods_per_node", c.pods_per_node, 1, 1_000)?;
        check_at_least("nodes_initial", c.nodes_initial, 1)?;
        check_at_least(
            "nodes_initial × pods_per_node",
            u64::from(c.nodes_initial) * u64::from(c.pods_per_node),
            ("replicas_min", u64::from(c.replicas_min)),
        )?;
        check_at_least("nodes_max", c.nodes_max, ("nodes_initial", c.nodes_initial))?;
        check_at_most("nodes_max", c.nodes_max, 10_000)?;
        check_positive("node_provision_s", c.node_provision_s)?;
        check_positive("node_unneeded_s", c.node_unneeded_s)
    }
}

impl AutoscalerConfig {
    pub fn validate(&self) -> Result<(), String> {
        let a = self;
        check_positive("hpa_sync_s", a.hpa_sync_s)?;
        check_range("hpa_metric_window_s", a.hpa_metric_window_s, 1, 3_600)?;
        check_at_most("hpa_scale_up_window_s", a.hpa_scale_up_window_s, 3_600)?;
        // Kubernetes' default is 300 s; a day covers any sane stabilisation.
        check_at_most(
            "hpa_scale_down_window_s",
            a.hpa_scale_down_window_s,
            ("one day", 86_400),
        )?;
        // At least one pod per step (0 would never scale up), at most the
        // largest node pool a component could have (`nodes_max` × pods).
        check_range("hpa_scale_up_pods", a.hpa_scale_up_pods, 1, 10_000)?;
        check_positive("hpa_cpu_target_fraction", a.hpa_cpu_target_fraction)?;
        check_at_most("hpa_cpu_target_fraction", a.hpa_cpu_target_fraction, 1.0)?;
        check_ratio("hpa_tolerance_fraction", a.hpa_tolerance_fraction)?;
        check_at_least("hpa_scale_up_factor", a.hpa_scale_up_factor, 1.0)?;
        check_positive("hpa_scale_up_period_s", a.hpa_scale_up_period_s)?;
        check_at_least("scale_events_kept_max", a.scale_events_kept_max, 2)
    }
}

impl VendorConfig {
    pub fn validate(&self) -> Result<(), String> {
        let v = self;
        check_positive("vendor_rate_rps", v.vendor_rate_rps)?;
        check_at_least("vendor_burst_requests", v.vendor_burst_requests, 1.0)?;
        check_positive("vendor_latency_median_ms", v.vendor_latency_median_ms)?;
        check_at_least(
            "vendor_latency_p99_ms",
            v.vendor_latency_p99_ms,
            ("vendor_latency_median_ms", v.vendor_latency_median_ms),
        )?;
        check_ratio(
            "vendor_share_uncached_fraction",
            v.vendor_share_uncached_fraction,
        )?;
        check_ratio(
            "vendor_share_cached_fraction",
            v.vendor_share_cached_fraction,
        )?;
        check_ratio("bot_vendor_share_fraction", v.bot_vendor_share_fraction)?;
        check_positive("vendor_storm_reset_window_s", v.vendor_storm_reset_window_s)
    }
}

impl MitigationConfig {
    /// `client_timeout_ms` is the component's: the breaker's cool-down must
    /// outlast it so that only probes can report failures while half-open.
    pub fn validate(&self, client_timeout_ms: u64) -> Result<(), String> {
        let m = self;
        check_positive("per_client_limit_rps", m.per_client_limit_rps)?;
        check_at_least(
            "per_client_burst_requests",
            m.per_client_burst_requests,
            1.0,
        )?;
        check_positive("global_cap_rps", m.global_cap_rps)?;
        check_at_least(
            "global_cap_burst_requests",
            m.global_cap_burst_requests,
            1.0,
        )?;
        check_at_least("client_throttle_k", m.client_throttle_k, 1.0)?;
        check_positive("client_throttle_window_s", m.client_throttle_window_s)?;
        check_positive("breaker_window_s", m.breaker_window_s)?;
        check_positive("breaker_open_error_fraction", m.breaker_open_error_fraction)?;
        check_at_most(
            "breaker_open_error_fraction",
            m.breaker_open_error_fraction,
            1.0,
        )?;
        check_positive("breaker_calls_min", m.breaker_calls_min)?;
        // Whole seconds s with s * 1000 >= client_timeout_ms.
        check_at_least(
            "breaker_cooldown_s",
            m.breaker_cooldown_s,
            (
                "the client timeout in whole seconds",
                client_timeout_ms.div_ceil(1_000),
            ),
        )?;
        check_positive("breaker_probe_calls", m.breaker_probe_calls)
    }
}
