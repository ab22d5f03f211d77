"""Tests of the reference agent and recovery script against a fake control
plane, edge and cloud: `http.server` threads on 127.0.0.1:0 playing scripted
answers and recording every call. Time runs fast (TIME_SCALE 300 to 3600),
so each run takes a few wall seconds.

Run: python3 -m unittest discover -s examples/tests -v
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(HERE, "..", "python-agent", "agent.py")
RESTORE = os.path.join(HERE, "..", "python-restore", "restore.py")

POOLS = ("system", "airflow", "worker-default", "worker-1", "worker-2", "worker-3")
TOKEN = "c3.test-token"


def desired_doc(cluster, generation, nodes, tombstones=()):
    return {"cluster": cluster, "generation": generation,
            "pools": [{"name": p, "nodes": n} for p, n in nodes.items()],
            "tombstones": list(tombstones), "empty_explicit": False}


def answer(status, doc=None, retry_after_s=None, text=None):
    """A scripted answer: status, JSON document or text, Retry-After."""
    body = json.dumps(doc) if doc is not None else (text or json.dumps({"error": "scripted"}))
    return status, body.encode(), retry_after_s


class FakeWorld:
    """What the three fake servers share: the cloud's pools, the scripts of
    the answers and the record of every call."""

    def __init__(self, pools):
        self.lock = threading.Lock()
        # {cluster: {pool: state}}; a pending change is (state, done_at, next).
        self.pools = {c: dict(ps) for c, ps in pools.items()}
        self.pending = {}
        self.calls = []
        self.first_desired_at = {}
        # desired(role, cluster, seconds since that role's first desired call)
        self.desired = lambda role, cluster, t: answer(404, text="default backend - 404")
        # cloud(method, cluster, pool, how many such calls before) -> answer or None
        self.cloud = lambda method, cluster, pool, n: None
        self.op_s = 0.1
        self.servers = []

    def start(self):
        urls = {}
        for role in ("edge", "service", "cloud"):
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self, role))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)
            urls[role] = "http://127.0.0.1:%d" % server.server_address[1]
        return urls

    def stop(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def record(self, role, method, path):
        parts = path.strip("/").split("/")
        cluster = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
        pool = parts[4] if len(parts) > 4 else None
        call = {"t": time.monotonic(), "role": role, "method": method, "path": path,
                "cluster": cluster, "pool": pool}
        with self.lock:
            self.calls.append(call)
        return call

    def select(self, role=None, method=None, cluster=None, pool=None):
        with self.lock:
            return [c for c in self.calls if (role is None or c["role"] == role)
                    and (method is None or c["method"] == method)
                    and (cluster is None or c["cluster"] == cluster)
                    and (pool is None or c["pool"] == pool)]

    def state(self, cluster, pool):
        key = (cluster, pool)
        if key in self.pending and time.monotonic() >= self.pending[key][0]:
            self.pools[cluster][pool] = self.pending.pop(key)[1]
        return self.pools[cluster].get(pool, "absent")

    def serve_desired(self, role, call):
        with self.lock:
            first = self.first_desired_at.setdefault((role, call["cluster"]), call["t"])
        return self.desired(role, call["cluster"], call["t"] - first)

    def serve_cloud(self, method, call):
        c, pool = call["cluster"], call["pool"]
        with self.lock:
            if pool is None:
                listing = [{"name": p, "state": self.state(c, p), "nodes": 1} for p in POOLS]
                return answer(200, {"cluster": c, "pools": listing})
            n = len([x for x in self.calls if x["method"] == method and x["cluster"] == c
                     and x["pool"] == pool]) - 1
            scripted = self.cloud(method, c, pool, n)
            if scripted is not None:
                return scripted
            state = self.state(c, pool)
            if method == "PUT" and state in ("absent", "present"):
                return self.start_op(c, pool, "creating", "present")
            if method == "DELETE" and state == "present":
                return self.start_op(c, pool, "deleting", "absent")
            return answer(409, {"error": "conflict"})

    def start_op(self, cluster, pool, now_state, next_state):
        self.pools[cluster][pool] = now_state
        self.pending[(cluster, pool)] = (time.monotonic() + self.op_s, next_state)
        return answer(202, {"op": 1, "done_at_us": 0})


def handler_for(world, role):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            call = world.record(role, self.command, self.path)
            if role == "cloud":
                status, body, retry_after_s = world.serve_cloud(self.command, call)
            else:
                status, body, retry_after_s = world.serve_desired(role, call)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if retry_after_s is not None:
                self.send_header("Retry-After", str(retry_after_s))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = serve

    return Handler


def gaps(calls):
    return [b["t"] - a["t"] for a, b in zip(calls, calls[1:])]


class AgentTests(unittest.TestCase):
    CLUSTER = 3

    def setUp(self):
        self.world = FakeWorld({self.CLUSTER: {p: "present" for p in POOLS}})
        self.urls = self.world.start()
        self.addCleanup(self.world.stop)

    def agent_cmd(self, *args):
        return [sys.executable, AGENT, "--cluster", str(self.CLUSTER),
                "--control-plane-url", self.urls["edge"], "--cloud-url", self.urls["cloud"],
                "--token", TOKEN, "--seed", "7"] + list(args)

    def run_agent(self, *args, for_s):
        done = subprocess.run(self.agent_cmd("--for-s", str(for_s), *args), capture_output=True,
                              text=True, timeout=for_s + 20)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def polls(self):
        return self.world.select(role="edge", method="GET")

    def deletes(self):
        return self.world.select(role="cloud", method="DELETE")

    def test_historical_agent_deletes_every_pool_at_its_full_resync_after_404s(self):
        # Full resync 1 wall second in (3,600 simulated s at 3,600x).
        out = self.run_agent("--time-scale", "3600", "--poll-interval-ms", "50",
                             "--full-resync-phase-s", "3600", for_s=2.0)
        deletes = self.deletes()
        self.assertEqual(sorted(d["pool"] for d in deletes), sorted(POOLS), out)
        first_poll = self.polls()[0]["t"]
        self.assertGreaterEqual(min(d["t"] for d in deletes) - first_poll, 0.9)
        self.assertEqual(self.world.select(role="cloud", method="PUT"), [])
        # No backoff: it keeps polling every 50 ms (±20 %) through the 404s.
        self.assertGreaterEqual(len(self.polls()), 25)
        self.assertIn("delete pool=system -> 202", out)

    def test_historical_agent_keeps_the_pools_a_200_lists(self):
        everything = desired_doc(self.CLUSTER, 1, {p: 1 for p in POOLS})
        self.world.desired = lambda role, c, t: answer(200, everything)
        self.run_agent("--time-scale", "3600", "--poll-interval-ms", "50",
                       "--full-resync-phase-s", "0", "--full-resync-interval-s", "360", for_s=1.0)
        self.assertGreaterEqual(len(self.polls()), 12)
        self.assertEqual(self.deletes(), [])

    def test_fixed_agent_never_deletes_on_404s_and_backs_off(self):
        # 10 simulated s is 17 ms at 600x; the backoff doubles to 600 s = 1 s.
        out = self.run_agent("--fixed", "--time-scale", "600", "--poll-interval-ms", "20",
                             "--full-resync-phase-s", "0", "--full-resync-interval-s", "30",
                             for_s=3.0)
        self.assertEqual(self.deletes(), [], out)
        self.assertEqual(self.world.select(role="cloud", method="PUT"), [])
        # After 5 failed polls it reports safe hold (what the agent-hold alert counts).
        reports = [c["path"] for c in self.world.select(role="edge", method="PUT")]
        self.assertIn("/v1/clusters/3/agent-status", reports)
        polls = self.polls()
        # Polling every 20 ms would be ~150 requests; the backoff allows ~6 to 13.
        self.assertTrue(5 <= len(polls) <= 14, "%d polls\n%s" % (len(polls), out))
        # After failure k + 1: between half and all of min(10 s * 2^k, 600 s),
        # and never closer than 10 s (6 requests a minute), scaled, with
        # some slack for the scheduler.
        spacing = gaps(polls)
        for k, gap in enumerate(spacing):
            backoff = min(10.0 * 2 ** k, 600.0) / 600
            self.assertTrue(0.5 * backoff - 0.01 <= gap <= max(backoff, 10 / 600) + 0.05,
                            "gap %d: %.3f s, backoff %.3f s; %s" % (k, gap, backoff, spacing))
        self.assertGreater(spacing[-1], 0.4)

    def test_fixed_agent_honours_retry_after(self):
        everything = desired_doc(self.CLUSTER, 1, {p: 1 for p in POOLS})
        self.world.desired = lambda role, c, t: (
            answer(429, retry_after_s=1) if t == 0 else answer(200, everything))
        self.run_agent("--fixed", "--time-scale", "3600", "--poll-interval-ms", "50", for_s=1.6)
        polls = self.polls()
        self.assertGreaterEqual(polls[1]["t"] - polls[0]["t"], 0.95)
        # Then every 50 ms (±20 %) again: ~10 more in the 0.6 s left.
        self.assertGreaterEqual(len(polls), 6)

    def tombstoning(self, tombstoned):
        """Answers that want system, airflow, worker-default and worker-2,
        and tombstone worker-1 while `tombstoned(t)` (else want it)."""
        def desired(role, c, t):
            nodes = {"system": 3, "airflow": 2, "worker-default": 4, "worker-2": 2}
            if tombstoned(t):
                return answer(200, desired_doc(c, 1, nodes, ["worker-1"]))
            return answer(200, desired_doc(c, 1, dict(nodes, **{"worker-1": 1})))
        self.world.pools[self.CLUSTER].update({"worker-2": "absent", "worker-3": "absent"})
        self.world.desired = desired

    def run_fixed_300x(self, for_s):
        # 300x: the 300 s confirmation window is 1 wall second; a full resync
        # every 30 simulated s (0.1 wall s).
        return self.run_agent("--fixed", "--time-scale", "300", "--poll-interval-ms", "40",
                              "--full-resync-phase-s", "0", "--full-resync-interval-s", "30",
                              for_s=for_s)

    def test_fixed_agent_deletes_a_tombstoned_pool_only_after_the_confirmation_window(self):
        self.tombstoning(lambda t: True)
        out = self.run_fixed_300x(2.2)
        deletes = self.deletes()
        self.assertEqual([d["pool"] for d in deletes], ["worker-1"], out)
        after_s = deletes[0]["t"] - self.polls()[0]["t"]
        self.assertTrue(0.95 <= after_s < 1.6, "deleted %.3f s after the first tombstone" % after_s)
        # It still creates the absent desired pool, once.
        self.assertEqual([p["pool"] for p in self.world.select(role="cloud", method="PUT")], ["worker-2"])
        self.assertIn("(G4)", out)

    def test_fixed_agent_restarts_the_confirmation_window_when_an_answer_wants_the_pool(self):
        # Tombstoned, wanted again from 0.5 s to 0.7 s, tombstoned again.
        self.tombstoning(lambda t: not 0.5 <= t < 0.7)
        out = self.run_fixed_300x(2.6)
        deletes = self.deletes()
        self.assertEqual([d["pool"] for d in deletes], ["worker-1"], out)
        after_s = deletes[0]["t"] - self.polls()[0]["t"]
        self.assertTrue(1.65 <= after_s < 2.3, "deleted %.3f s after the first tombstone" % after_s)

    def test_fixed_agent_keeps_a_pool_an_answer_leaves_out_without_a_tombstone(self):
        # A partial answer: worker-1 is present but neither listed nor
        # tombstoned. The historical agent deletes it at its full resync.
        nodes = {"system": 3, "airflow": 2, "worker-default": 4}
        self.world.pools[self.CLUSTER].update({"worker-2": "absent", "worker-3": "absent"})
        self.world.desired = lambda role, c, t: answer(200, desired_doc(c, 1, nodes))
        out = self.run_fixed_300x(1.6)
        self.assertEqual(self.deletes(), [], out)
        self.assertIn("keep pool=worker-1: not desired but not tombstoned (G2)", out)

    def test_fixed_agent_ignores_an_older_generation(self):
        nodes = {"system": 3, "airflow": 2, "worker-default": 4}

        def desired(role, c, t):
            # Generation 5 wants every present pool; the lagging replica's
            # generation 4 tombstones worker-1.
            if t < 0.2:
                return answer(200, desired_doc(c, 5, dict(nodes, **{"worker-1": 1})))
            return answer(200, desired_doc(c, 4, nodes, ["worker-1"]))
        self.world.pools[self.CLUSTER].update({"worker-2": "absent", "worker-3": "absent"})
        self.world.desired = desired
        out = self.run_fixed_300x(2.0)
        self.assertEqual(self.deletes(), [], out)
        self.assertIn("stale generation 4 < 5 ignored (G3)", out)

    def test_agent_exits_cleanly_on_sigterm_and_sigint(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig=sig):
                proc = subprocess.Popen(
                    self.agent_cmd("--time-scale", "60", "--poll-interval-ms", "100"),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                deadline = time.monotonic() + 10
                before = len(self.polls())
                while len(self.polls()) == before and time.monotonic() < deadline:
                    time.sleep(0.02)
                proc.send_signal(sig)
                out, err = proc.communicate(timeout=10)
                self.assertIn(proc.returncode, (0, 143), err)
                self.assertTrue(out.rstrip().endswith("stop"), out)

    def test_agent_reads_the_environment_and_refuses_bad_input(self):
        env = dict(os.environ, CASCADE_CLUSTER=str(self.CLUSTER), CASCADE_TOKEN=TOKEN,
                   CASCADE_CONTROL_PLANE_URL=self.urls["edge"],
                   CASCADE_CLOUD_URL=self.urls["cloud"], CASCADE_TIME_SCALE="3600",
                   CASCADE_POLL_INTERVAL_MS="100")
        done = subprocess.run([sys.executable, AGENT, "--for-s", "0.5"], env=env,
                              capture_output=True, text=True, timeout=20)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertGreaterEqual(len(self.polls()), 3)
        self.assertEqual({c["cluster"] for c in self.polls()}, {self.CLUSTER})
        # A flag wins over the environment.
        bad = subprocess.run([sys.executable, AGENT, "--time-scale", "fast"], env=env,
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("expected --time-scale / CASCADE_TIME_SCALE to be a number, found 'fast'",
                      bad.stderr)


class RestoreTests(unittest.TestCase):
    WANTED = {"system": 3, "airflow": 2, "worker-default": 4, "worker-1": 1}

    def setUp(self):
        self.world = FakeWorld({3: {"system": "present"}, 17: {}})
        self.urls = self.world.start()
        self.addCleanup(self.world.stop)
        self.world.op_s = 0.2

        def desired(role, cluster, t):
            if role == "edge" and cluster == 17:
                return answer(404, text="default backend - 404")
            return answer(200, desired_doc(cluster, 2, self.WANTED, ["worker-3"]))
        self.world.desired = desired
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.clusters_file = os.path.join(tmp.name, "clusters.json")
        self.set_clusters([3, 17])

    def set_clusters(self, clusters):
        with open(self.clusters_file, "w", encoding="utf-8") as f:
            json.dump({"incident": 1, "clusters": clusters}, f)

    def run_restore(self, *args):
        env = dict(os.environ, CASCADE_CLUSTERS_FILE=self.clusters_file,
                   CASCADE_SERVICE_URL=self.urls["service"],
                   CASCADE_CONTROL_PLANE_URL=self.urls["edge"],
                   CASCADE_CLOUD_URL=self.urls["cloud"], CASCADE_TOKEN="recovery-token",
                   CASCADE_TIME_SCALE="600", CASCADE_INCIDENT="1")
        return subprocess.run([sys.executable, RESTORE] + list(args), env=env,
                              capture_output=True, text=True, timeout=60)

    def created(self, cluster):
        return sorted(c["pool"] for c in self.world.select(method="PUT", cluster=cluster))

    def test_restore_skips_a_cluster_the_edge_misroutes(self):
        # Ten simulated minutes of waiting for the route (one wall second).
        done = self.run_restore("--preflight-wait-s", "600")
        self.assertEqual(done.returncode, 3, done.stdout + done.stderr)
        self.assertEqual(self.created(3), ["airflow", "worker-1", "worker-default"])
        self.assertEqual(self.created(17), [])
        self.assertIn("cluster=17 skip: the edge answers 404", done.stdout)
        self.assertEqual([self.world.state(3, p) for p in self.WANTED], ["present"] * 4)
        self.assertIn("restored 1 [3], skipped 1 [17], failed 0", done.stdout)

    def test_restore_without_preflight_restores_the_misrouted_cluster(self):
        done = self.run_restore("--no-preflight")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(self.created(17), sorted(self.WANTED))
        self.assertEqual(self.created(3), ["airflow", "worker-1", "worker-default"])
        self.assertEqual(self.world.select(role="edge"), [])
        self.assertEqual([self.world.state(17, p) for p in POOLS],
                         ["present"] * 4 + ["absent"] * 2)

    def test_restore_honours_retry_after(self):
        self.set_clusters([3])
        self.world.cloud = lambda method, c, pool, n: (
            answer(429, {"error": "rate_limited"}, retry_after_s=1)
            if method == "PUT" and pool == "airflow" and n == 0 else None)
        done = self.run_restore()
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        puts = self.world.select(method="PUT", pool="airflow")
        self.assertEqual(len(puts), 2)
        self.assertGreaterEqual(puts[1]["t"] - puts[0]["t"], 0.95)
        self.assertEqual(self.created(3), ["airflow", "airflow", "worker-1", "worker-default"])

    def test_restore_waits_for_a_deleting_pool_then_creates_it(self):
        self.set_clusters([3])
        self.world.pools[3]["worker-1"] = "deleting"
        self.world.pending[(3, "worker-1")] = (time.monotonic() + 1.0, "absent")
        done = self.run_restore()
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        puts = self.world.select(method="PUT", pool="worker-1")
        self.assertEqual(len(puts), 1, done.stdout)
        self.assertEqual(self.world.state(3, "worker-1"), "present")

    def test_restore_reports_a_409_and_goes_on(self):
        self.set_clusters([3])
        self.world.cloud = lambda method, c, pool, n: (
            answer(409, {"error": "locked"}) if pool == "airflow" else None)
        done = self.run_restore()
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertEqual(self.created(3), ["airflow", "worker-1", "worker-default"])
        self.assertIn("create pool=airflow nodes=2 -> 409 locked", done.stdout)
        self.assertIn("airflow refused (409 locked)", done.stdout)


if __name__ == "__main__":
    unittest.main()
