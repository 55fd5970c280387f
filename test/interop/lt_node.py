#!/usr/bin/python3
"""A libtorrent DHT node on 127.0.0.1, driven by JSON lines (the kadmium interop harness).

Run it with Debian's /usr/bin/python3: the python3-libtorrent bindings import only there.

Protocol: one JSON object per line on stdin, {"id": <any>, "cmd": "<name>", ...args}; exactly
one JSON line per request on stdout, {"id": <same>, "ok": true, "result": {...}} or
{"id": <same>, "ok": false, "error": "..."}. Before any response the node prints
{"event": "ready", "port": <udp port>, "node_id": "<hex>", "libtorrent": "<version>"} once its
DHT socket is up. Diagnostics go to stderr only. Requests that wait on the network (get_peers,
put/get items, announce, bootstrap) are answered asynchronously from libtorrent alerts, so
several may be in flight at once; every one of them has a bounded timeout.

Byte strings travel as UTF-8 JSON strings when they are valid UTF-8; every value is also
returned bencoded, as hex, so callers can compare bytes exactly.
"""

import argparse
import faulthandler
import hashlib
import json
import os
import queue
import sys
import tempfile
import threading
import time
import warnings

# session.status() and session.dht_state() are deprecated in 2.0 but are the only ways the
# 2.0.8 bindings expose the routing-table size and our node id without extra round trips.
warnings.simplefilter('ignore', DeprecationWarning)

# The bindings have crashed this process with SIGSEGV once in CI (a get_mutable of a salted item,
# not reproduced in 12 reruns): if it happens again, stderr (which the harness puts in the test's
# error) says which Python line was running in which thread.
faulthandler.enable(all_threads=True)

try:
    import libtorrent as lt
except ImportError as exc:  # fail loudly: the harness must never skip silently
    sys.stderr.write(f'lt_node: cannot import libtorrent under {sys.executable}: {exc}\n'
                     'run scripts/deps/libtorrent.sh (installs python3-libtorrent)\n')
    sys.exit(3)

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError as exc:
    sys.stderr.write(f'lt_node: cannot import cryptography (python3-cryptography): {exc}\n')
    sys.exit(3)


def log(msg):
    sys.stderr.write(f'lt_node[{os.getpid()}]: {msg}\n')
    sys.stderr.flush()


_out_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(',', ':'))
    with _out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


class CommandError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# value conversion between JSON and libtorrent entries


def to_bytes(v):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, str):
        return v.encode('utf-8')
    raise CommandError(f'expected a string, got {type(v).__name__}')


def json_to_entry(v):
    """JSON -> a value libtorrent converts to an entry: strings become byte strings."""
    if isinstance(v, bool):
        raise CommandError('booleans have no bencoding')
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        return v.encode('utf-8')
    if isinstance(v, list):
        return [json_to_entry(x) for x in v]
    if isinstance(v, dict):
        return {k.encode('utf-8'): json_to_entry(x) for k, x in v.items()}
    raise CommandError(f'cannot bencode {type(v).__name__}')


def entry_to_json(v):
    """libtorrent entry (as the bindings hand it out) -> JSON; non-UTF-8 strings become {"hex"}."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, (bytes, bytearray, str)):
        b = to_bytes(v)
        try:
            return b.decode('utf-8')
        except UnicodeDecodeError:
            return {'hex': b.hex()}
    if isinstance(v, (list, tuple)):
        return [entry_to_json(x) for x in v]
    if isinstance(v, dict):
        return {to_bytes(k).decode('utf-8', 'replace'): entry_to_json(x) for k, x in v.items()}
    return repr(v)


def bencoded_hex(v):
    if v is None:
        return None
    try:
        return bytes(lt.bencode(v)).hex()
    except Exception:  # noqa: BLE001 - diagnostics only
        return None


def parse_hash(hex_str, name):
    try:
        raw = bytes.fromhex(hex_str)
    except (TypeError, ValueError):
        raise CommandError(f'{name} must be hex') from None
    if len(raw) != 20:
        raise CommandError(f'{name} must be 20 bytes (40 hex chars), got {len(raw)}')
    return lt.sha1_hash(raw)


def hash_hex(h):
    return bytes(h.to_bytes()).hex() if hasattr(h, 'to_bytes') else str(h)


def ed25519_keys(seed_hex):
    """32-byte seed -> (64-byte libtorrent secret key, 32-byte public key).

    libtorrent's dht::secret_key is the expanded ed25519 key of orlp/ed25519:
    SHA-512(seed) with the scalar half clamped (RFC 8032 section 5.1.5). The 2.0.8 bindings do
    not export ed25519_create_keypair, so the public key comes from python3-cryptography.
    """
    try:
        seed = bytes.fromhex(seed_hex)
    except (TypeError, ValueError):
        raise CommandError('seed_hex must be hex') from None
    if len(seed) != 32:
        raise CommandError(f'seed_hex must be 32 bytes, got {len(seed)}')
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return bytes(h), pub


# ---------------------------------------------------------------------------------------------
# the session


def make_settings(port, bootstrap):
    return {
        # Only the DHT matters here, but a torrent added for `announce` needs the session.
        'enable_dht': True,
        # No local service discovery, UPnP or NAT-PMP: they multicast or talk to the gateway,
        # and the harness must stay on loopback.
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        # Listen on loopback only. libtorrent's DHT shares the uTP UDP socket, so this port is
        # also the DHT port; 0 lets the kernel pick a free one (reported in the ready line).
        'listen_interfaces': f'127.0.0.1:{port}',
        # Never contact the public bootstrap routers (default dht.libtorrent.org:25401); the
        # caller's loopback nodes are the only bootstrap nodes, if any.
        'dht_bootstrap_nodes': ','.join(f'{h}:{p}' for h, p in bootstrap),
        # Default 5 packets/s per source IP, after which libtorrent silently drops everything
        # from that IP for dht_block_timeout seconds. On loopback every node is 127.0.0.1, so
        # the limit is hit within the first lookup.
        'dht_block_ratelimit': 1_000_000,
        # Default 8000 bytes/s of DHT upload, which throttles a busy loopback test.
        'dht_upload_rate_limit': 10_000_000,
        # Default True: at most one routing-table entry per IP (/24 for v4). Every node here is
        # 127.0.0.1, so only the first would ever be kept.
        'dht_restrict_routing_ips': False,
        # Default True: at most one node per IP in a lookup's result set; same reason as above.
        'dht_restrict_search_ips': False,
        # Node ids of other loopback nodes are not derived from 127.0.0.1 (BEP 42), so neither
        # enforce nor prefer verified ids.
        'dht_enforce_node_id': False,
        'dht_prefer_verified_node_ids': False,
        # Do not drop nodes in reserved ("dark") address ranges.
        'dht_ignore_dark_internet': False,
        # We must answer queries, or no one can store or find anything on us (BEP 43 ro=1).
        'dht_read_only': False,
        # Alerts: DHT results, DHT operations, the raw packet log (dht_pkt, used to confirm
        # announce_peer acks), listen results and errors. A large queue so none are dropped.
        'alert_mask': (lt.alert.category_t.dht_notification
                       | lt.alert.category_t.dht_operation_notification
                       | lt.alert.category_t.dht_log_notification
                       | lt.alert.category_t.status_notification
                       | lt.alert.category_t.error_notification),
        'alert_queue_size': 100_000,
    }


class Pending:
    """A request waiting on alerts. `check(alert)` returns True when finished."""

    def __init__(self, req_id, deadline):
        self.req_id = req_id
        self.deadline = deadline
        self.done = False

    def finish(self, result):
        if not self.done:
            self.done = True
            emit({'id': self.req_id, 'ok': True, 'result': result})

    def fail(self, error):
        if not self.done:
            self.done = True
            emit({'id': self.req_id, 'ok': False, 'error': error})

    def on_alert(self, alert):  # pragma: no cover - overridden
        pass

    def on_tick(self, now):
        if now >= self.deadline:
            self.on_timeout()

    def on_timeout(self):
        self.fail('timeout')


class GetPeers(Pending):
    def __init__(self, req_id, deadline, ih_hex, until_peers):
        super().__init__(req_id, deadline)
        self.ih_hex = ih_hex
        self.until_peers = until_peers
        self.peers = {}
        self.started = time.monotonic()

    def on_alert(self, a):
        if isinstance(a, lt.dht_get_peers_reply_alert) and hash_hex(a.info_hash) == self.ih_hex:
            for host, port in a.peers():
                self.peers[f'{host}:{port}'] = {'host': host, 'port': port}
            if self.until_peers and len(self.peers) >= self.until_peers:
                self.finish(self.result())

    def result(self):
        return {'peers': list(self.peers.values()),
                'elapsed_ms': int((time.monotonic() - self.started) * 1000)}

    def on_timeout(self):  # the timeout is the normal end of a get_peers collection
        self.finish(self.result())


class PutImmutable(Pending):
    def __init__(self, req_id, deadline, target_hex):
        super().__init__(req_id, deadline)
        self.target_hex = target_hex

    def on_alert(self, a):
        if isinstance(a, lt.dht_put_alert) and hash_hex(a.target) == self.target_hex:
            self.finish({'target_hex': self.target_hex, 'num_success': a.num_success})


class ItemLookup(Pending):
    """Shared by get_immutable and get_mutable.

    The 2.0.8 bindings convert a found item with entry.string(), which raises for any item that
    is not a byte string (and would decode a binary one as UTF-8). So the value is taken from
    the DHT packet log instead: replies to our own `get` queries for this target, re-bencoded
    exactly. libtorrent's alert remains the completion signal (it has verified the item).
    """

    def __init__(self, req_id, deadline, target_raw):
        super().__init__(req_id, deadline)
        self.target_raw = target_raw
        self.queries = set()  # (endpoint, tid) of our outgoing gets for this target
        self.replies = []  # decoded `r` dicts of replies carrying a value

    def on_packet(self, outgoing, endpoint, msg):
        tid = msg.get(b't')
        if outgoing and msg.get(b'y') == b'q' and msg.get(b'q') == b'get':
            if (msg.get(b'a') or {}).get(b'target') == self.target_raw:
                self.queries.add((endpoint, tid))
        elif not outgoing and (endpoint, tid) in self.queries:
            self.queries.discard((endpoint, tid))
            r = msg.get(b'r')
            if msg.get(b'y') == b'r' and isinstance(r, dict) and b'v' in r:
                self.replies.append(r)


class GetImmutable(ItemLookup):
    def __init__(self, req_id, deadline, target_hex):
        super().__init__(req_id, deadline, bytes.fromhex(target_hex))
        self.target_hex = target_hex

    def on_alert(self, a):
        if isinstance(a, lt.dht_immutable_item_alert) and hash_hex(a.target) == self.target_hex:
            for r in self.replies:
                raw = bytes(lt.bencode(r[b'v']))
                if hashlib.sha1(raw).digest() == self.target_raw:
                    self.finish({'target_hex': self.target_hex, 'found': True,
                                 'value': entry_to_json(r[b'v']), 'value_bencoded_hex': raw.hex()})
                    return
            self.finish({'target_hex': self.target_hex, 'found': False, 'value': None,
                         'value_bencoded_hex': None})


class PutMutable(Pending):
    def __init__(self, req_id, deadline, pub, salt):
        super().__init__(req_id, deadline)
        self.pub = pub
        self.salt = salt

    def on_alert(self, a):
        if (isinstance(a, lt.dht_put_alert) and to_bytes(a.public_key) == self.pub
                and to_bytes(a.salt) == self.salt):
            self.finish({'public_key_hex': self.pub.hex(), 'salt': entry_to_json(self.salt),
                         'seq': a.seq, 'signature_hex': to_bytes(a.signature).hex(),
                         'num_success': a.num_success})


class GetMutable(ItemLookup):
    """Finishes on the authoritative dht_mutable_item_alert, or on timeout with the last one."""

    def __init__(self, req_id, deadline, pub, salt):
        super().__init__(req_id, deadline, hashlib.sha1(pub + salt).digest())
        self.pub = pub
        self.salt = salt
        self.last = None

    def on_alert(self, a):
        if not isinstance(a, lt.dht_mutable_item_alert):
            return
        if to_bytes(a.key) != self.pub or to_bytes(a.salt) != self.salt:
            return
        sig = to_bytes(a.signature)
        match = next((r for r in self.replies
                      if r.get(b'seq') == a.seq and to_bytes(r.get(b'sig', b'')) == sig), None)
        if match is None:
            # the item came from libtorrent's own store (we put it ourselves)
            value, raw = None, None
            try:
                value = a.item
                raw = bytes(lt.bencode(to_bytes(value))).hex()
                value = entry_to_json(value)
            except Exception:  # noqa: BLE001 - see ItemLookup
                value = None
        else:
            raw = bytes(lt.bencode(match[b'v'])).hex()
            value = entry_to_json(match[b'v'])
        self.last = {'public_key_hex': self.pub.hex(), 'salt': entry_to_json(self.salt),
                     'seq': a.seq, 'signature_hex': sig.hex(), 'value': value,
                     'value_bencoded_hex': raw, 'authoritative': bool(a.authoritative)}
        if a.authoritative:
            self.finish(self.last)

    def on_timeout(self):
        if self.last is not None:
            self.finish(self.last)
        else:
            self.fail('timeout')


class Announce(Pending):
    """Watches the DHT packet log for announce_peer queries about one infohash and their replies."""

    def __init__(self, req_id, deadline, ih_raw, port):
        super().__init__(req_id, deadline)
        self.ih_raw = ih_raw
        self.port = port
        self.sent = {}  # (endpoint, tid) -> announce_peer arguments
        self.acked = []
        self.errors = []
        self.grace_until = None
        self.started = time.monotonic()

    def on_packet(self, outgoing, endpoint, msg):
        y = msg.get(b'y')
        tid = msg.get(b't')
        if outgoing and y == b'q' and msg.get(b'q') == b'announce_peer':
            args = msg.get(b'a') or {}
            if args.get(b'info_hash') == self.ih_raw:
                self.sent[(endpoint, tid)] = {
                    'node': endpoint, 'port': args.get(b'port'),
                    'implied_port': args.get(b'implied_port', 0)}
        elif not outgoing and y in (b'r', b'e') and (endpoint, tid) in self.sent:
            # (y == q would be libtorrent receiving its own announce_peer: it does announce to
            # itself when it appears among the closest nodes)
            info = self.sent.pop((endpoint, tid))
            if y == b'r':
                self.acked.append(info)
                if self.grace_until is None:
                    # first ack: give the other closest nodes a moment to answer as well
                    self.grace_until = time.monotonic() + 0.3
            else:
                self.errors.append({**info, 'error': entry_to_json(msg.get(b'e'))})

    def result(self):
        return {'port': self.port, 'acked': self.acked, 'unanswered': list(self.sent.values()),
                'errors': self.errors, 'elapsed_ms': int((time.monotonic() - self.started) * 1000)}

    def on_tick(self, now):
        if self.grace_until is not None and (now >= self.grace_until or not self.sent):
            self.finish(self.result())
        elif now >= self.deadline:
            self.on_timeout()

    def on_timeout(self):
        if self.acked:
            self.finish(self.result())
        else:
            self.fail('timeout: no node acknowledged announce_peer '
                      f'(sent {len(self.sent)}, errors {self.errors})')


class Bootstrap(Pending):
    """add_dht_node for each node, then wait until the routing table holds min_nodes."""

    def __init__(self, req_id, deadline, node, min_nodes):
        super().__init__(req_id, deadline)
        self.node = node
        self.min_nodes = min_nodes
        self.refreshed = False

    def on_tick(self, now):
        n = self.node.dht_nodes()
        if n >= self.min_nodes:
            if not self.refreshed:
                # a lookup of our own id pulls the target's neighbours into our table (the
                # bindings have no explicit refresh call)
                self.refreshed = True
                self.node.ses.dht_get_peers(lt.sha1_hash(self.node.node_id))
            self.finish({'dht_nodes': n})
        elif now >= self.deadline:
            self.fail(f'timeout: routing table has {n} nodes, wanted {self.min_nodes}')


class Node:
    def __init__(self, port, bootstrap):
        self.tmp = tempfile.mkdtemp(prefix='kadmium-lt-')
        self.ses = lt.session(make_settings(port, bootstrap))
        self.pending = []
        self.port = None
        self.node_id = None
        self.torrents = {}

    def dht_nodes(self):
        return self.ses.status().dht_nodes

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        udp_port = None
        while time.monotonic() < deadline:
            self.ses.wait_for_alert(50)
            for a in self.ses.pop_alerts():
                if isinstance(a, lt.listen_failed_alert):
                    raise RuntimeError(f'listen failed: {a.message()}')
                if isinstance(a, lt.listen_succeeded_alert) and a.socket_type != lt.socket_type_t.tcp:
                    udp_port = a.port
            if udp_port is not None and self.ses.is_dht_running():
                nid = self.read_node_id()
                if nid is not None:
                    self.port = udp_port
                    self.node_id = nid
                    return
        raise RuntimeError(f'DHT not up within {timeout}s (udp port {udp_port}, '
                           f'running {self.ses.is_dht_running()})')

    def read_node_id(self):
        # dht_state()['node-id'] is a list of 24-byte strings for IPv4 sockets: the 20-byte node
        # id followed by the 4-byte address of the listen socket it belongs to.
        state = self.ses.dht_state() or {}
        ids = state.get(b'node-id') or state.get('node-id')
        if isinstance(ids, (list, tuple)) and ids:
            raw = to_bytes(ids[0])
            return raw[:20] if len(raw) >= 20 else None
        if isinstance(ids, (bytes, str)) and len(to_bytes(ids)) >= 20:
            return to_bytes(ids)[:20]
        return None

    # -- commands ------------------------------------------------------------------------------

    def cmd_status(self, req):
        return {'port': self.port, 'node_id': self.node_id.hex(), 'dht_nodes': self.dht_nodes(),
                'dht_running': self.ses.is_dht_running(), 'libtorrent': lt.__version__}

    def cmd_add_node(self, req):
        host, port = req.get('host', '127.0.0.1'), int(req['port'])
        self.ses.add_dht_node((host, port))
        return {}

    def cmd_bootstrap(self, req):
        nodes = req.get('nodes') or []
        if not nodes:
            raise CommandError('bootstrap needs nodes: [{host, port}, ...]')
        for n in nodes:
            self.ses.add_dht_node((n.get('host', '127.0.0.1'), int(n['port'])))
        return Bootstrap(req['id'], self.deadline(req, 5000), self, int(req.get('min_nodes', 1)))

    def cmd_announce(self, req):
        ih = parse_hash(req.get('infohash_hex'), 'infohash_hex')
        port = req.get('port')
        # The 2.0.8 bindings expose session.dht_announce but not its flags type, so it cannot be
        # called from Python; announce through a torrent instead. A torrent announces the
        # session's listen port, so any other port cannot be announced.
        if port is not None and int(port) != self.port:
            raise CommandError(f'libtorrent can only announce its own port {self.port} (asked {port})')
        ih_hex = req['infohash_hex'].lower()
        if ih_hex not in self.torrents:
            p = lt.add_torrent_params()
            p.info_hash = ih
            p.save_path = self.tmp
            p.name = ih_hex
            p.flags &= ~lt.torrent_flags.auto_managed
            p.flags &= ~lt.torrent_flags.paused
            self.torrents[ih_hex] = self.ses.add_torrent(p)
        pending = Announce(req['id'], self.deadline(req, 10000), bytes.fromhex(ih_hex), self.port)
        self.torrents[ih_hex].force_dht_announce()
        return pending

    def cmd_get_peers(self, req):
        ih = parse_hash(req.get('infohash_hex'), 'infohash_hex')
        pending = GetPeers(req['id'], self.deadline(req, 5000), req['infohash_hex'].lower(),
                           int(req.get('until_peers', 0)))
        self.ses.dht_get_peers(ih)
        return pending

    def cmd_put_immutable(self, req):
        if 'value_bencoded_hex' in req:
            # exact bytes: any bencoded value, including non-UTF-8 strings
            try:
                value = lt.bdecode(bytes.fromhex(req['value_bencoded_hex']))
            except (TypeError, ValueError):
                raise CommandError('value_bencoded_hex must be hex') from None
            if value is None:
                raise CommandError('value_bencoded_hex is not valid bencoding')
        elif 'value' in req:
            value = json_to_entry(req['value'])
        else:
            raise CommandError('put_immutable needs value or value_bencoded_hex')
        target = self.ses.dht_put_immutable_item(value)
        return PutImmutable(req['id'], self.deadline(req, 10000), hash_hex(target))

    def cmd_get_immutable(self, req):
        target = parse_hash(req.get('target_hex'), 'target_hex')
        pending = GetImmutable(req['id'], self.deadline(req, 10000), req['target_hex'].lower())
        self.ses.dht_get_immutable_item(target)
        return pending

    def cmd_put_mutable(self, req):
        if 'seq' in req:
            # the bindings sign in C++ with seq = (highest seq found in the DHT) + 1
            raise CommandError('libtorrent 2.0 bindings choose seq themselves; do not pass seq')
        if not isinstance(req.get('value'), str):
            raise CommandError('put_mutable value must be a string (the bindings store a byte string)')
        sk, pub = ed25519_keys(req.get('seed_hex'))
        salt = to_bytes(req.get('salt', ''))
        pending = PutMutable(req['id'], self.deadline(req, 10000), pub, salt)
        self.ses.dht_put_mutable_item(sk, pub, to_bytes(req['value']), salt)
        return pending

    def cmd_get_mutable(self, req):
        try:
            pub = bytes.fromhex(req.get('public_key_hex'))
        except (TypeError, ValueError):
            raise CommandError('public_key_hex must be hex') from None
        if len(pub) != 32:
            raise CommandError('public_key_hex must be 32 bytes')
        salt = to_bytes(req.get('salt', ''))
        pending = GetMutable(req['id'], self.deadline(req, 10000), pub, salt)
        self.ses.dht_get_mutable_item(pub, salt)
        return pending

    @staticmethod
    def deadline(req, default_ms):
        ms = int(req.get('timeout_ms', default_ms))
        if ms <= 0 or ms > 120_000:
            raise CommandError('timeout_ms must be in 1..120000')
        return time.monotonic() + ms / 1000

    # -- loop ----------------------------------------------------------------------------------

    def handle(self, req):
        cmd = req.get('cmd')
        fn = getattr(self, f'cmd_{cmd}', None) if isinstance(cmd, str) else None
        if fn is None:
            raise CommandError(f'unknown cmd {cmd!r}')
        return fn(req)

    def dispatch_alert(self, a):
        if isinstance(a, lt.dht_pkt_alert):
            self.on_packet(a)
            return
        for p in self.pending:
            if not p.done:
                try:
                    p.on_alert(a)
                except Exception as exc:  # noqa: BLE001 - fail the request, keep the node
                    p.fail(f'{type(exc).__name__} while reading {a.what()}: {exc}')

    def on_packet(self, a):
        listeners = [p for p in self.pending if hasattr(p, 'on_packet') and not p.done]
        if not listeners:
            return
        # message(): "==> [127.0.0.1:1234] { ... }" (outgoing) or "<== [...]" (incoming)
        text = a.message()
        outgoing = text.startswith('==>')
        start, end = text.find('['), text.find(']')
        endpoint = text[start + 1:end] if start >= 0 and end > start else '?'
        try:
            msg = lt.bdecode(bytes(a.pkt_buf))
        except Exception:  # noqa: BLE001 - a malformed packet is not ours to judge here
            return
        if not isinstance(msg, dict):
            return
        for p in listeners:
            p.on_packet(outgoing, endpoint, msg)


def stdin_reader(q):
    for line in sys.stdin:
        q.put(line)
    q.put(None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--bootstrap', default='', help='comma-separated host:port list')
    ap.add_argument('--ready-timeout', type=float, default=10.0)
    args = ap.parse_args()
    bootstrap = []
    for item in filter(None, args.bootstrap.split(',')):
        host, _, port = item.rpartition(':')
        bootstrap.append((host or '127.0.0.1', int(port)))

    node = Node(args.port, bootstrap)
    node.wait_ready(args.ready_timeout)
    emit({'event': 'ready', 'port': node.port, 'node_id': node.node_id.hex(), 'libtorrent': lt.__version__})
    log(f'ready on 127.0.0.1:{node.port} id {node.node_id.hex()}')

    q = queue.Queue()
    threading.Thread(target=stdin_reader, args=(q,), daemon=True).start()
    running = True
    while running or any(not p.done for p in node.pending):
        while True:
            try:
                line = q.get_nowait()
            except queue.Empty:
                break
            if line is None:
                running = False
                break
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict) or 'id' not in req:
                    raise CommandError('request must be a JSON object with an id')
            except (ValueError, CommandError) as exc:
                emit({'id': None, 'ok': False, 'error': f'bad request: {exc}'})
                continue
            if req.get('cmd') == 'quit':
                for p in node.pending:
                    p.fail('node quitting')
                emit({'id': req['id'], 'ok': True, 'result': {}})
                running = False
                node.pending = []
                break
            try:
                out = node.handle(req)
            except CommandError as exc:
                emit({'id': req['id'], 'ok': False, 'error': str(exc)})
                continue
            except Exception as exc:  # noqa: BLE001 - report, keep serving
                emit({'id': req['id'], 'ok': False, 'error': f'{type(exc).__name__}: {exc}'})
                continue
            if isinstance(out, Pending):
                node.pending.append(out)
            else:
                emit({'id': req['id'], 'ok': True, 'result': out})
        node.ses.wait_for_alert(20)
        for a in node.ses.pop_alerts():
            node.dispatch_alert(a)
        now = time.monotonic()
        for p in node.pending:
            if not p.done:
                p.on_tick(now)
        node.pending = [p for p in node.pending if not p.done]
    log('quit')
    # do not wait for libtorrent's orderly shutdown (it may try to reach trackers/nodes)
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - fail loudly with a reason on stderr
        log(f'fatal: {type(exc).__name__}: {exc}')
        sys.stderr.flush()
        os._exit(2)
