//! The world of a black-box run and the one door its inputs come through.
//!
//! [`Host`] holds the fleet tier's [`World`] and its queue. Every request
//! of a process, every process exit and the passing of time enter through
//! [`Host::serve`] and [`Host::advance`], which write the history line of
//! each; the live driver calls them as requests arrive on the wall clock,
//! `cascade verdict` calls them again from a recorded history. So the
//! world a history replays is the world the run had, by construction.

use super::history::{self, By, Call, Header, Http, Line, Via};
use crate::outcome::Outcome;
use crate::plant::cloud::CloudCall;
use crate::protocol::{ClusterId, PoolName};
use crate::run::EVENTS_MAX_DEFAULT;
use crate::scenario::Scenario;
use crate::world::{AgentCommand, Ev, ProbeVia, StopCause, World};
use cascade_sim::{RunLimits, RunOutcome, Seed, Sim, SimDuration, SimTime, StopReason};

/// One input of the world from outside.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// An agent reads its desired state through the edge.
    Poll(ClusterId),
    /// The cloud's listing of a cluster's pools.
    Listing(ClusterId, By),
    /// A mutating cloud call.
    Cloud(ClusterId, PoolName, CloudCall, By),
    /// The script reads desired state.
    Probe(ClusterId, Via),
    /// An agent reports whether it is in safe hold.
    Status(ClusterId, bool),
    /// An agent process ended by itself (how, in words).
    AgentExited(ClusterId, String),
    /// A script run ended, handed these clusters.
    ScriptExited(u32, Vec<ClusterId>, String),
}

/// The world of a black-box run, fed from outside.
pub struct Host {
    world: World,
    sim: Sim<Ev>,
    end: SimTime,
    /// How the queue last stopped (a stop before the end has no verdict).
    last_run: RunOutcome,
    /// History lines not yet taken by the writer (or the replay).
    lines: Vec<Line>,
    /// Commands not yet taken by the processes' driver.
    commands: Vec<AgentCommand>,
}

/// What [`Host::advance`] did: how far behind the earliest event it
/// handled was (zero when none was due).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Advanced {
    pub behind: SimDuration,
    pub events: u64,
}

impl Host {
    /// The world of `scenario` (overrides applied) with `header`'s seed:
    /// the model's agents run it up to `from`, then hand over to processes.
    pub fn build(scenario: &Scenario, header: &Header) -> Host {
        let from = SimTime::from_micros(header.from_us);
        let end = SimTime::from_micros(header.end_us);
        let mut sim: Sim<Ev> = Sim::new(RunLimits {
            events_max: EVENTS_MAX_DEFAULT,
            time_end: from,
            pending_max: 10_000_000,
            ..RunLimits::default()
        });
        let mut world = World::new(
            scenario.model.clone(),
            scenario.timeline.clone(),
            scenario.epoch,
            Seed(header.seed),
        );
        world.set_run_end(end);
        world.start(&mut sim);
        let last_run = sim.run(&mut world);
        sim.advance_to(from);
        world.hand_over_to_processes(&mut sim, header.script, Seed(header.seed));
        let mut host = Host {
            world,
            sim,
            end,
            last_run,
            lines: vec![Line::Header(header.clone())],
            commands: Vec::new(),
        };
        host.take_world_commands();
        host
    }

    /// Simulated time now.
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }
    pub fn end(&self) -> SimTime {
        self.end
    }
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Whether the queue stopped before the end (an event budget, a full
    /// queue): the run then has no verdict.
    pub fn stopped(&self) -> Option<&RunOutcome> {
        let early = !matches!(
            self.last_run.reason,
            StopReason::TimeLimit | StopReason::QueueEmpty
        );
        early.then_some(&self.last_run)
    }

    /// Handles every event due up to `t` (never past the end, never back).
    pub fn advance(&mut self, t: SimTime) -> Advanced {
        let t = t.min(self.end).max(self.sim.now());
        let mut done = Advanced::default();
        if self.stopped().is_some() {
            return done;
        }
        if let Some(first) = self.sim.next_event_time().filter(|&e| e <= t) {
            done.behind = t.saturating_since(first);
            let before = self.sim.events_handled();
            self.sim.set_time_end(t);
            self.last_run = self.sim.run(&mut self.world);
            done.events = self.sim.events_handled() - before;
            if self.stopped().is_some() {
                return done;
            }
        }
        self.sim.advance_to(t);
        self.take_world_commands();
        done
    }

    /// Serves `input` at `t` (the time first moves there) and records it.
    pub fn serve(&mut self, t: SimTime, input: Input) -> Http {
        self.advance(t);
        let http = self.answer(&input);
        let line = line_of(self.sim.now().as_micros(), input, http.clone());
        self.lines.push(line);
        self.take_world_commands();
        http
    }

    /// What the world answers `input` now.
    fn answer(&mut self, input: &Input) -> Http {
        let t_us = self.sim.now().as_micros();
        let (sim, w) = (&mut self.sim, &mut self.world);
        match *input {
            Input::Poll(c) => history::desired_http(c, &w.serve_poll(sim, c)),
            Input::Listing(c, _) => history::listing_http(c, &w.serve_listing(sim, c)),
            Input::Cloud(c, pool, call, by) => {
                let reply = w.serve_cloud_call(sim, c, pool, call, by == By::Script);
                history::cloud_http(&reply, t_us)
            }
            Input::Probe(c, via) => {
                let v = match via {
                    Via::Edge => ProbeVia::Edge,
                    Via::Service => ProbeVia::Service,
                };
                history::desired_http(c, &w.serve_probe(sim, c, v))
            }
            Input::Status(c, in_hold) => {
                w.serve_status(sim, c, in_hold);
                ok()
            }
            Input::AgentExited(c, _) => {
                w.agent_exited(sim, c);
                ok()
            }
            Input::ScriptExited(_, ref clusters, ref exit) => {
                w.script_exited(sim, clusters, exit);
                ok()
            }
        }
    }

    /// History lines written since the last call, oldest first.
    pub fn take_lines(&mut self) -> Vec<Line> {
        std::mem::take(&mut self.lines)
    }

    /// Commands for the processes' driver since the last call.
    pub fn take_commands(&mut self) -> Vec<AgentCommand> {
        std::mem::take(&mut self.commands)
    }

    fn take_world_commands(&mut self) {
        let t_us = self.sim.now().as_micros();
        for c in self.world.take_commands() {
            self.lines.push(Line::Command {
                t_us,
                command: command_text(&c),
            });
            self.commands.push(c);
        }
    }

    /// The history's last line: where the run ends.
    pub fn end_line(&self) -> Line {
        Line::End {
            t_us: self.end.as_micros(),
        }
    }

    /// Ends the run early at now (an interrupted run, or its replay).
    pub fn end_now(&mut self) {
        self.end = self.sim.now();
    }

    /// Runs to the end and closes the books: the world and its outcome.
    pub fn finish(mut self) -> (World, Outcome) {
        self.advance(self.end);
        self.sim.set_time_end(self.end);
        self.sim.advance_to_end();
        self.world.finish(&mut self.sim);
        let outcome = self.world.outcome(RunOutcome {
            trace_hash: self.sim.trace.hash(),
            now: self.sim.now(),
            events_handled: self.sim.events_handled(),
            ..self.last_run.clone()
        });
        (self.world, outcome)
    }
}

/// The history line of `input`, served at `t_us` with `answer`.
fn line_of(t_us: u64, input: Input, answer: Http) -> Line {
    match input {
        Input::Poll(cluster) => Line::Poll {
            t_us,
            cluster,
            answer,
        },
        Input::Listing(cluster, by) => Line::Listing {
            t_us,
            cluster,
            by,
            answer,
        },
        Input::Cloud(cluster, pool, call, by) => {
            let (call, nodes) = Call::of(call);
            Line::Cloud {
                t_us,
                cluster,
                pool: crate::wire::api::pool_name(pool),
                call,
                nodes,
                by,
                answer,
            }
        }
        Input::Probe(cluster, via) => Line::Probe {
            t_us,
            cluster,
            via,
            answer,
        },
        Input::Status(cluster, in_hold) => Line::Status {
            t_us,
            cluster,
            in_hold,
        },
        Input::AgentExited(cluster, exit) => Line::AgentExited {
            t_us,
            cluster,
            exit,
        },
        Input::ScriptExited(run, clusters, exit) => Line::ScriptExited {
            t_us,
            run,
            clusters,
            exit,
        },
    }
}

fn ok() -> Http {
    Http {
        status: 200,
        retry_after_s: None,
        body: serde_json::Value::Null,
    }
}

/// A command in the history's words.
pub fn command_text(c: &AgentCommand) -> String {
    match c {
        AgentCommand::Start {
            cluster,
            after_fix: false,
        } => format!("start agent {cluster}"),
        AgentCommand::Start {
            cluster,
            after_fix: true,
        } => format!("start agent {cluster} (after the fix)"),
        AgentCommand::Stop {
            cluster,
            cause: StopCause::HostLost,
        } => format!("stop agent {cluster} (its host is gone)"),
        AgentCommand::Stop {
            cluster,
            cause: StopCause::Upgrade,
        } => format!("stop agent {cluster} (new version)"),
        AgentCommand::Restore { cluster } => format!("restore cluster {cluster} with the script"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(end_h: u64) -> (Scenario, Header) {
        let path = std::path::Path::new("scenarios/focused/d5-pool-loss.json");
        let o = "model.fleet.clusters=5".parse().unwrap();
        let mut sc = crate::scenario::load_with(path, &[o]).unwrap();
        sc.end = SimTime::from_secs(end_h * 3_600);
        let h = Header {
            format: history::FORMAT,
            commit: String::new(),
            scenario: String::new(),
            overrides: vec!["model.fleet.clusters=5".into()],
            seed: 1,
            from_us: 0,
            end_us: sc.end.as_micros(),
            scenario_end_us: sc.end.as_micros(),
            script: false,
            time_scale: 1,
            agent_cmd: String::new(),
            agent_cmd_after_fix: None,
            recovery_cmd: None,
        };
        (sc, h)
    }

    /// Time moved in many small steps gives the world that one step gives:
    /// the live run advances every few milliseconds, the replay only at
    /// each input.
    #[test]
    fn advancing_in_steps_is_advancing_at_once() {
        let (sc, h) = header(3);
        let at_once = Host::build(&sc, &h).finish().1.run.trace_hash;
        let mut host = Host::build(&sc, &h);
        let mut t = SimTime::ZERO;
        while t < host.end() {
            t += SimDuration::from_millis(2_345);
            host.advance(t);
        }
        let in_steps = host.finish().1.run.trace_hash;
        assert_eq!(in_steps, at_once);
    }
}
