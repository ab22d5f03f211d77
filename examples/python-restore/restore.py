#!/usr/bin/env python3
"""A reference recovery script for `cascade blackbox`, standard library only.

For each cluster of the incident's clusters file it restores the node pools
the cluster should have:

1. preflight (unless `--no-preflight`): reads the cluster's desired state
   THROUGH THE EDGE, as the cluster's agent does. Anything but a 200 whose
   body parses means the route is broken or unknown: the cluster is
   skipped, with the reason, because its agent would delete again what the
   script restores.
2. reads the desired state from the desired-state service directly
   (bypassing the edge, which may misroute);
3. lists the cloud's pools and creates every desired, non-tombstoned pool
   that is absent (429: waits Retry-After and retries; 409: reports and
   goes on; a pool being deleted: waits for the delete to finish first);
4. waits, bounded, until the pools it created are present.

Every wait and retry is bounded. Exit code: 0 when every cluster was
restored, 3 when some were skipped by the preflight (and none failed
otherwise), 1 when some failed otherwise, 2 on bad input.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

POOLS = ("system", "airflow", "worker-default", "worker-1", "worker-2", "worker-3")
POOL_STATES = ("absent", "creating", "present", "deleting")

REQUEST_TIMEOUT_S = 2.0  # wall
BODY_BYTES_MAX = 64 * 1024
ATTEMPTS = 8
# Simulated seconds: the first pause after a failed call (doubling), how
# often a listing is read while waiting, and the longest wait for a pool.
RETRY_PAUSE_S = 10.0
LISTING_EVERY_S = 10.0
SETTLE_MAX_S = 600.0
# Wall seconds: the longest a single Retry-After is honoured.
RETRY_AFTER_MAX_S = 60.0

EXIT_RESTORED, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3


class Reply:
    """One HTTP exchange: a status (None when no complete answer came:
    `error` says why), Retry-After in seconds and the body."""

    def __init__(self, status, body=b"", retry_after_s=None, error=None):
        self.status = status
        self.body = body
        self.retry_after_s = retry_after_s
        self.error = error

    def describe(self):
        if self.status is None:
            return self.error
        try:
            return "%d %s" % (self.status, json.loads(self.body)["error"])
        except (ValueError, KeyError, TypeError):
            return str(self.status)


def parse_retry_after(value):
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
    """{pool: nodes} of the wanted (desired, non-tombstoned) pools of a
    desired-state document, or None when the body is not one."""
    try:
        doc = json.loads(body)
        if doc["cluster"] != cluster or not isinstance(doc["generation"], int):
            return None
        tombstones = set(doc["tombstones"])
        wanted = {}
        for p in doc["pools"]:
            name, nodes = p["name"], p["nodes"]
            if name not in POOLS or not isinstance(nodes, int) or name in wanted:
                return None
            wanted[name] = nodes
        if not tombstones <= set(POOLS) or not isinstance(doc["empty_explicit"], bool):
            return None
        return {name: n for name, n in wanted.items() if name not in tombstones}
    except (ValueError, KeyError, TypeError):
        return None


def parse_pools(body):
    try:
        doc = json.loads(body)
        out = {}
        for p in doc["pools"]:
            if p["name"] in POOLS and p["state"] in POOL_STATES:
                out[p["name"]] = p["state"]
        return out
    except (ValueError, KeyError, TypeError):
        return None


class Restorer:
    def __init__(self, cfg):
        self.cfg = cfg

    def say(self, cluster, text):
        print("cluster=%d %s" % (cluster, text), flush=True)

    def wall(self, simulated_s):
        return simulated_s / self.cfg.time_scale

    def pause(self, reply, attempt):
        """Wall seconds to wait before retrying after `reply`."""
        if reply.status == 429 and reply.retry_after_s is not None:
            return min(reply.retry_after_s, RETRY_AFTER_MAX_S)
        return min(self.wall(RETRY_PAUSE_S * 2 ** attempt), RETRY_AFTER_MAX_S)

    def get_with_retries(self, url, parse):
        """A parsed 200 of `url`, retrying 429, 5xx and timeouts (bounded);
        (None, last reply) when none came."""
        for attempt in range(ATTEMPTS):
            reply = http("GET", url, self.cfg.token, timeout_s=self.cfg.timeout_s)
            parsed = parse(reply.body) if reply.status == 200 else None
            if parsed is not None:
                return parsed, reply
            retryable = reply.status is None or reply.status == 429 or reply.status >= 500
            if not retryable or attempt == ATTEMPTS - 1:
                return None, reply
            time.sleep(self.pause(reply, attempt))
        return None, None

    def desired_url(self, base, cluster):
        return "%s/v1/clusters/%d/desired-state" % (base, cluster)

    def pools_url(self, cluster):
        return "%s/v1/clusters/%d/node-pools" % (self.cfg.cloud_url, cluster)

    def preflight(self, cluster):
        """None when the edge routes the cluster, else why not."""
        url = self.desired_url(self.cfg.control_plane_url, cluster)
        reply = http("GET", url, self.cfg.token, timeout_s=self.cfg.timeout_s)
        if reply.status == 200 and parse_desired(reply.body, cluster) is not None:
            return None
        if reply.status == 404:
            return "the edge answers 404 for its desired state (misrouted): its agent would delete again"
        return "the edge answers %s for its desired state: route unknown" % reply.describe()

    def preflight_waiting(self, cluster):
        """The preflight, looked at again every `--preflight-recheck-s` while
        the route is broken, for at most `--preflight-wait-s` (simulated):
        the route is usually reverted within hours, and a restore before
        that only feeds the agent pools to delete again."""
        waited_s = 0.0
        while True:
            why = self.preflight(cluster)
            if why is None or waited_s >= self.cfg.preflight_wait_s:
                return why
            self.say(cluster, "waiting for the route: " + why)
            time.sleep(self.wall(self.cfg.preflight_recheck_s))
            waited_s += self.cfg.preflight_recheck_s

    def restore(self, cluster):
        """("restored" | "skipped" | "failed", why)."""
        if not self.cfg.no_preflight:
            why = self.preflight_waiting(cluster)
            if why is not None:
                self.say(cluster, "skip: " + why)
                return "skipped", why
        wanted, reply = self.get_with_retries(self.desired_url(self.cfg.service_url, cluster),
                                              lambda body: parse_desired(body, cluster))
        if wanted is None:
            return "failed", "no desired state from the service (%s)" % reply.describe()
        listing, reply = self.get_with_retries(self.pools_url(cluster), parse_pools)
        if listing is None:
            return "failed", "no node-pool listing (%s)" % reply.describe()
        problems = []
        for pool in POOLS:
            if pool in wanted and listing.get(pool, "absent") in ("absent", "deleting"):
                problem = self.create(cluster, pool, wanted[pool], listing.get(pool))
                if problem:
                    problems.append(problem)
        missing = self.wait_present(cluster, wanted)
        if missing:
            problems.append("not present in time: " + ",".join(missing))
        return ("failed", "; ".join(problems)) if problems else ("restored", "")

    def create(self, cluster, pool, nodes, state):
        """Creates `pool`; None when accepted, else the problem."""
        if state == "deleting" and not self.wait_deleted(cluster, pool):
            return "%s still deleting" % pool
        url = "%s/%s" % (self.pools_url(cluster), pool)
        for attempt in range(ATTEMPTS):
            reply = http("PUT", url, self.cfg.token, {"nodes": nodes}, timeout_s=self.cfg.timeout_s)
            self.say(cluster, "create pool=%s nodes=%d -> %s" % (pool, nodes, reply.describe()))
            if reply.status == 202:
                return None
            if reply.status == 409:
                return "%s refused (%s)" % (pool, reply.describe())
            if reply.status is not None and reply.status < 500 and reply.status != 429:
                return "%s refused (%s)" % (pool, reply.describe())
            if attempt < ATTEMPTS - 1:
                time.sleep(self.pause(reply, attempt))
        return "%s not created after %d attempts" % (pool, ATTEMPTS)

    def wait_deleted(self, cluster, pool):
        deadline = time.monotonic() + self.wall(SETTLE_MAX_S)
        self.say(cluster, "pool=%s is deleting: wait" % pool)
        while time.monotonic() < deadline:
            time.sleep(self.listing_every())
            listing = self.list_once(cluster)
            if listing is not None and listing.get(pool, "absent") != "deleting":
                return True
        return False

    def wait_present(self, cluster, wanted):
        """The wanted pools still not present after the bounded wait."""
        deadline = time.monotonic() + self.wall(SETTLE_MAX_S)
        while True:
            listing = self.list_once(cluster) or {}
            missing = [p for p in POOLS if p in wanted and listing.get(p) != "present"]
            if not missing or time.monotonic() >= deadline:
                return missing
            time.sleep(self.listing_every())

    def list_once(self, cluster):
        reply = http("GET", self.pools_url(cluster), self.cfg.token, timeout_s=self.cfg.timeout_s)
        return parse_pools(reply.body) if reply.status == 200 else None

    def listing_every(self):
        return min(max(self.wall(LISTING_EVERY_S), 0.01), 5.0)


def usage(text):
    print("restore: " + text, file=sys.stderr)
    sys.exit(EXIT_USAGE)


def read_clusters(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        usage("cannot read the clusters file %s: %s" % (path, e))
    clusters = doc.get("clusters") if isinstance(doc, dict) else None
    if not isinstance(clusters, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in clusters):
        usage('expected the clusters file to hold {"incident": N, "clusters": [ids]}, in %s' % path)
    return doc.get("incident"), clusters


def settings(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag in ("clusters-file", "service-url", "control-plane-url", "cloud-url", "token",
                 "time-scale", "incident"):
        ap.add_argument("--" + flag)
    ap.add_argument("--no-preflight", action="store_true",
                    help="restore without checking the edge's route first")
    ap.add_argument("--timeout-s", type=float, default=REQUEST_TIMEOUT_S)
    ap.add_argument("--preflight-wait-s", type=float, default=6 * 3600.0,
                    help="simulated seconds to wait for a broken route before skipping a cluster")
    ap.add_argument("--preflight-recheck-s", type=float, default=120.0,
                    help="simulated seconds between two looks at a broken route")
    a = ap.parse_args(argv)
    if not a.preflight_wait_s >= 0 or not a.preflight_recheck_s > 0:
        usage("expected --preflight-wait-s at least 0 and --preflight-recheck-s above 0")
    for attr in ("clusters_file", "service_url", "control_plane_url", "cloud_url", "token"):
        name = "CASCADE_" + attr.upper()
        value = getattr(a, attr) or os.environ.get(name)
        if not value:
            usage("expected --%s or %s" % (attr.replace("_", "-"), name))
        setattr(a, attr, value.rstrip("/") if attr.endswith("url") else value)
    scale = a.time_scale or os.environ.get("CASCADE_TIME_SCALE", "1")
    try:
        a.time_scale = float(scale)
    except ValueError:
        a.time_scale = 0
    if not a.time_scale > 0 or not a.timeout_s > 0:
        usage("expected --time-scale / CASCADE_TIME_SCALE and --timeout-s above 0, found %r" % scale)
    a.incident = a.incident or os.environ.get("CASCADE_INCIDENT")
    return a


def main(argv):
    cfg = settings(argv)
    incident, clusters = read_clusters(cfg.clusters_file)
    incident = cfg.incident or incident
    restorer = Restorer(cfg)
    outcomes = {"restored": [], "skipped": [], "failed": []}
    for cluster in clusters:
        outcome, why = restorer.restore(cluster)
        outcomes[outcome].append(cluster)
        restorer.say(cluster, outcome + (": " + why if why else ""))
    print("restore incident=%s: restored %d %s, skipped %d %s, failed %d %s" % (
        incident, len(outcomes["restored"]), outcomes["restored"], len(outcomes["skipped"]),
        outcomes["skipped"], len(outcomes["failed"]), outcomes["failed"]), flush=True)
    if outcomes["failed"]:
        return EXIT_FAILED
    return EXIT_SKIPPED if outcomes["skipped"] else EXIT_RESTORED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
