#!/usr/bin/env python3
"""A reference node-pool agent for `cascade blackbox`, standard library only.

One process per cluster. It polls the cluster's desired state from the
control plane (through the edge) and reconciles the cluster's node pools
through the cloud API:

- historical (the default): the March 2025 agent. A 404 from the control
  plane is read as "this cluster wants no pools", so the next full resync
  (every 4 simulated hours, first one at a random phase) deletes every
  present pool, the system pool included. Other errors: retry at the next
  poll.
- fixed (`--fixed`): only a 200 whose body parses is authoritative (G1); an
  answer older than the newest generation seen is ignored (G3); a pool is
  deleted only when the answer tombstones it (G2), and only once it has been
  tombstoned for the confirmation window, 300 simulated seconds (G4); every
  failure backs off exponentially with jitter, Retry-After honoured, at
  most 6 requests a simulated minute (G7).

Both create any desired, non-tombstoned pool the cloud lists as absent.
Pruning happens only on a full resync, as in cascade's model agent
(src/model/agent.rs).

Time: cascade runs simulated time TIME_SCALE times faster than the wall
clock. The poll interval comes in wall milliseconds; the model's figures
below are simulated seconds and are divided by the time scale.

Every action is one line on stdout, flushed. SIGTERM and SIGINT end the
process with exit code 0.
"""

import argparse
import json
import os
import random
import signal
import sys
import time
import urllib.error
import urllib.request

POOLS = ("system", "airflow", "worker-default", "worker-1", "worker-2", "worker-3")
POOL_STATES = ("absent", "creating", "present", "deleting")

# The model's figures, in simulated seconds (src/model/agent.rs).
FULL_RESYNC_INTERVAL_S = 4 * 3600.0
CONFIRM_WINDOW_S = 300.0
BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 600.0
REQUESTS_PER_MIN_MAX = 6.0
# Failed polls in a row before the fixed agent reports safe hold (G1).
HOLD_AFTER_FAILURES = 5
POLL_JITTER_RATIO = 0.2

REQUEST_TIMEOUT_S = 2.0  # wall
BODY_BYTES_MAX = 64 * 1024
# A Retry-After beyond this (wall seconds) is cut to it: the agent keeps
# polling at least this often whatever a server says.
RETRY_AFTER_MAX_S = 60.0


class Reply:
    """One HTTP exchange as the client saw it: a status (None when no
    complete answer came: `error` says why), Retry-After and body."""

    def __init__(self, status, body=b"", retry_after_s=None, error=None):
        self.status = status
        self.body = body
        self.retry_after_s = retry_after_s
        self.error = error

    def describe(self):
        return str(self.status) if self.status is not None else self.error


def parse_retry_after(value):
    """Retry-After in seconds, or None when absent or not a number."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def http(method, url, token, body=None, timeout_s=REQUEST_TIMEOUT_S):
    """One request with a timeout; never raises for network trouble."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return Reply(resp.status, resp.read(BODY_BYTES_MAX),
                         parse_retry_after(resp.headers.get("Retry-After")))
    except urllib.error.HTTPError as e:
        try:
            payload = e.read(BODY_BYTES_MAX)
        except OSError:
            payload = b""
        return Reply(e.code, payload, parse_retry_after(e.headers.get("Retry-After")))
    except TimeoutError:
        return Reply(None, error="timeout")
    except urllib.error.URLError as e:
        timed_out = isinstance(e.reason, TimeoutError)
        return Reply(None, error="timeout" if timed_out else "connection error")
    except OSError:
        return Reply(None, error="connection error")


def parse_desired(body, cluster):
    """The desired state of a 200, or None when the body is not one (an
    HTML page of a default backend, another cluster's, an unknown pool)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("cluster") != cluster:
        return None
    gen, pools, tombs = doc.get("generation"), doc.get("pools"), doc.get("tombstones")
    if not isinstance(gen, int) or isinstance(gen, bool) or gen < 0:
        return None
    if not isinstance(pools, list) or not isinstance(tombs, list):
        return None
    if not isinstance(doc.get("empty_explicit"), bool):
        return None
    nodes = {}
    for p in pools:
        if not isinstance(p, dict) or p.get("name") not in POOLS or p["name"] in nodes:
            return None
        n = p.get("nodes")
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 65535:
            return None
        nodes[p["name"]] = n
    if any(t not in POOLS for t in tombs):
        return None
    return {"generation": gen, "nodes": nodes, "tombstones": set(tombs),
            "empty_explicit": doc["empty_explicit"]}


def parse_pools(body):
    """The cloud listing as {pool: state}, or None when it does not parse."""
    try:
        doc = json.loads(body)
        out = {}
        for p in doc["pools"]:
            if p["name"] in POOLS and p["state"] in POOL_STATES:
                out[p["name"]] = p["state"]
        return out
    except (ValueError, KeyError, TypeError):
        return None


class Agent:
    """One cluster's agent; `poll(now)` does one round and returns the wall
    seconds to wait before the next."""

    def __init__(self, cfg, rng, now):
        self.cfg = cfg
        self.rng = rng
        self.scale = cfg.time_scale
        self.highest_generation = -1
        self.failures = 0
        self.in_hold = False
        self.last_fetch = None
        # G4: when each pool was first tombstoned in an unbroken run of answers.
        self.tombstoned_since = {}
        self.cloud_quiet_until = 0.0
        period = FULL_RESYNC_INTERVAL_S if cfg.full_resync_interval_s is None \
            else cfg.full_resync_interval_s
        self.full_resync_wall_s = period / self.scale
        phase = cfg.full_resync_phase_s
        phase_wall = rng.uniform(0, self.full_resync_wall_s) if phase is None \
            else phase / self.scale
        self.next_full_resync = now + phase_wall

    def say(self, text):
        print("cluster=%d %s" % (self.cfg.cluster, text), flush=True)

    def wall(self, simulated_s):
        return simulated_s / self.scale

    def poll_delay(self):
        period_s = self.cfg.poll_interval_ms / 1000.0
        return period_s * self.rng.uniform(1 - POLL_JITTER_RATIO, 1 + POLL_JITTER_RATIO)

    def poll(self, now):
        if self.cfg.fixed:
            spacing = self.wall(60.0 / REQUESTS_PER_MIN_MAX)
            if self.last_fetch is not None and now < self.last_fetch + spacing:
                return self.last_fetch + spacing - now
        self.last_fetch = now
        url = "%s/v1/clusters/%d/desired-state" % (self.cfg.control_plane_url, self.cfg.cluster)
        reply = http("GET", url, self.cfg.token, timeout_s=self.cfg.timeout_s)
        desired = parse_desired(reply.body, self.cfg.cluster) if reply.status == 200 else None
        if self.cfg.fixed:
            return self.answer_fixed(now, reply, desired)
        return self.answer_historical(now, reply, desired)

    def answer_historical(self, now, reply, desired):
        if desired is not None:
            self.reconcile(now, desired)
        elif reply.status == 404:
            # The March 2025 bug: a 404 is read as "no pools desired".
            self.say("desired-state 404: read as no pools desired")
            self.reconcile(now, {"nodes": {}, "tombstones": set()})
        else:
            self.say("desired-state %s: retry at the next poll" % reply.describe())
        return self.poll_delay()

    def answer_fixed(self, now, reply, desired):
        if desired is None:
            return self.back_off("desired-state %s" % reply.describe(), reply.retry_after_s)
        if desired["generation"] < self.highest_generation:
            return self.back_off("stale generation %d < %d ignored (G3)"
                                 % (desired["generation"], self.highest_generation), None)
        self.highest_generation = desired["generation"]
        self.failures = 0
        self.report_hold(False)
        self.watch_tombstones(now, desired["tombstones"])
        self.reconcile(now, desired)
        return self.poll_delay()

    def back_off(self, why, retry_after_s):
        """G7: jittered exponential backoff, Retry-After honoured."""
        self.failures += 1
        base_s = min(BACKOFF_BASE_S * 2 ** min(self.failures - 1, 16), BACKOFF_MAX_S)
        delay = self.wall(base_s * (0.5 + 0.5 * self.rng.random()))
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, RETRY_AFTER_MAX_S))
        self.say("%s: back off %.3f s (failure %d)" % (why, delay, self.failures))
        if self.failures >= HOLD_AFTER_FAILURES:
            self.report_hold(True)
        return delay

    def report_hold(self, in_hold):
        """Safe hold, reported to monitoring (`PUT .../agent-status`) when it
        changes: the agent-hold alert is how a team learns that agents have
        stopped acting on answers they cannot trust."""
        if in_hold == self.in_hold:
            return
        url = "%s/v1/clusters/%d/agent-status" % (self.cfg.control_plane_url, self.cfg.cluster)
        reply = http("PUT", url, self.cfg.token, body={"in_hold": in_hold},
                     timeout_s=self.cfg.timeout_s)
        if reply.status == 200:
            self.in_hold = in_hold
        self.say("%s safe hold: status report %s" % ("entered" if in_hold else "left", reply.describe()))

    def watch_tombstones(self, now, tombstones):
        for pool in list(self.tombstoned_since):
            if pool not in tombstones:
                del self.tombstoned_since[pool]
        for pool in tombstones:
            self.tombstoned_since.setdefault(pool, now)

    def reconcile(self, now, desired):
        full = now >= self.next_full_resync
        if full:
            behind = now - self.next_full_resync
            self.next_full_resync += (behind // self.full_resync_wall_s + 1) * self.full_resync_wall_s
        listing = self.list_pools()
        if listing is None:
            return
        for pool in POOLS:
            state = listing.get(pool, "absent")
            wanted = pool in desired["nodes"] and pool not in desired["tombstones"]
            if state == "absent" and wanted:
                self.cloud_call(now, "PUT", pool, {"nodes": desired["nodes"][pool]}, "create")
            elif state == "present" and not wanted and full:
                if self.may_delete(now, pool, desired):
                    self.cloud_call(now, "DELETE", pool, None, "delete")

    def may_delete(self, now, pool, desired):
        if not self.cfg.fixed:
            return True
        if pool not in desired["tombstones"]:
            self.say("keep pool=%s: not desired but not tombstoned (G2)" % pool)
            return False
        since = self.tombstoned_since.get(pool, now)
        if now - since < self.wall(CONFIRM_WINDOW_S):
            self.say("keep pool=%s: tombstoned %.3f s, window %.3f s (G4)"
                     % (pool, now - since, self.wall(CONFIRM_WINDOW_S)))
            return False
        return True

    def pools_url(self):
        return "%s/v1/clusters/%d/node-pools" % (self.cfg.cloud_url, self.cfg.cluster)

    def list_pools(self):
        reply = http("GET", self.pools_url(), self.cfg.token, timeout_s=self.cfg.timeout_s)
        listing = parse_pools(reply.body) if reply.status == 200 else None
        if listing is None:
            self.say("node-pools listing %s: reconcile skipped" % reply.describe())
        return listing

    def cloud_call(self, now, method, pool, body, action):
        if now < self.cloud_quiet_until:
            self.say("%s pool=%s: cloud asked to wait, skipped" % (action, pool))
            return
        url = "%s/%s" % (self.pools_url(), pool)
        reply = http(method, url, self.cfg.token, body, timeout_s=self.cfg.timeout_s)
        nodes = " nodes=%d" % body["nodes"] if body else ""
        self.say("%s pool=%s%s -> %s" % (action, pool, nodes, reply.describe()))
        if reply.status == 429:
            wait = min(reply.retry_after_s or 1.0, RETRY_AFTER_MAX_S)
            self.cloud_quiet_until = time.monotonic() + wait


def env_or(flag_value, name, default=None):
    if flag_value is not None:
        return flag_value
    return os.environ.get(name, default)


def usage(text):
    print("agent: " + text, file=sys.stderr)
    sys.exit(2)


def number(text, what, kind=float, low=None):
    if text is None:
        usage("expected %s" % what.replace(" / ", " or "))
    try:
        value = kind(text)
    except (TypeError, ValueError):
        usage("expected %s to be a number, found %r" % (what, text))
    if low is not None and not value > low:
        usage("expected %s above %s, found %s" % (what, low, value))
    return value


def settings(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cluster")
    ap.add_argument("--control-plane-url")
    ap.add_argument("--cloud-url")
    ap.add_argument("--token")
    ap.add_argument("--time-scale")
    ap.add_argument("--poll-interval-ms")
    ap.add_argument("--fixed", action="store_true", help="the fixed agent (default: historical)")
    ap.add_argument("--for-s", type=float, help="run this many wall seconds, then exit 0")
    ap.add_argument("--timeout-s", type=float, default=REQUEST_TIMEOUT_S,
                    help="wall seconds per request (default 2)")
    ap.add_argument("--full-resync-phase-s", type=float,
                    help="simulated seconds to the first full resync (default: random)")
    ap.add_argument("--full-resync-interval-s", type=float,
                    help="simulated seconds between full resyncs (default 14400)")
    ap.add_argument("--seed", type=int, help="seed of the jitter (default: random)")
    a = ap.parse_args(argv)
    a.cluster = number(env_or(a.cluster, "CASCADE_CLUSTER"), "--cluster / CASCADE_CLUSTER", int, -1)
    a.time_scale = number(env_or(a.time_scale, "CASCADE_TIME_SCALE", "1"),
                          "--time-scale / CASCADE_TIME_SCALE", float, 0)
    a.poll_interval_ms = number(env_or(a.poll_interval_ms, "CASCADE_POLL_INTERVAL_MS", "60000"),
                                "--poll-interval-ms / CASCADE_POLL_INTERVAL_MS", float, 0)
    for attr, name in (("control_plane_url", "CASCADE_CONTROL_PLANE_URL"),
                       ("cloud_url", "CASCADE_CLOUD_URL"), ("token", "CASCADE_TOKEN")):
        value = env_or(getattr(a, attr), name)
        if not value:
            usage("expected --%s or %s" % (attr.replace("_", "-"), name))
        setattr(a, attr, value.rstrip("/") if attr.endswith("url") else value)
    if a.timeout_s <= 0 or (a.full_resync_interval_s is not None and a.full_resync_interval_s <= 0):
        usage("expected --timeout-s and --full-resync-interval-s above 0")
    return a


class Stop(Exception):
    """SIGTERM or SIGINT arrived."""


def on_signal(*_):
    # Raising interrupts a sleep or a request at once; the first signal only.
    if not on_signal.seen:
        on_signal.seen = True
        raise Stop()


on_signal.seen = False


def main(argv):
    cfg = settings(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    start = time.monotonic()
    deadline = start + cfg.for_s if cfg.for_s is not None else None
    agent = Agent(cfg, random.Random(cfg.seed), start)
    try:
        agent.say("start %s time_scale=%g poll_interval_ms=%g"
                  % ("fixed" if cfg.fixed else "historical", cfg.time_scale, cfg.poll_interval_ms))
        while deadline is None or time.monotonic() < deadline:
            # A floor so that no answer can make the loop spin.
            delay = max(agent.poll(time.monotonic()), 0.001)
            if deadline is not None:
                delay = min(delay, max(deadline - time.monotonic(), 0))
            time.sleep(delay)
    except Stop:
        pass
    agent.say("stop")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
