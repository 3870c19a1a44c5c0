// One schema for the whole YAML config. Key names follow DESIGN.md; they are the public interface.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCidr } from '../net/address.js';
import { vipSchema } from '../vip/config.js';

/** The most SIP workers one node runs (`sip.workers`): the sibling mesh and the state keeper's fan-out stay small. */
export const MAX_SIP_WORKERS = 32;

const listenUri = z
  .string()
  .regex(
    /^(udp|tcp|tls|ws|wss):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]+):\d{1,5}$/,
    'must look like udp://ADDRESS:PORT (or tcp://, tls://, ws://, wss://)',
  );

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:/\s]+):\d{1,5}$/, 'must look like ADDRESS:PORT or [IPv6]:PORT');

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const nodeSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, 'must be 1-32 letters, digits, dot, dash or underscore'),
    priority: z.number().int().min(0).max(255).default(100),
    state_dir: z.string().min(1).default('/var/lib/sipha'),
  })
  .strict();

export const routeSchema = z
  .object({
    match: z.string().refine(isValidRegex, 'must be a valid regular expression'),
    to: z.string().regex(/^sips?:/, 'must be a sip: or sips: URI'),
  })
  .strict();

export const sipSchema = z
  .object({
    listen: z.array(listenUri).min(1),
    domain: z.string().min(1).optional(),
    users_file: z.string().min(1).optional(),
    /**
     * Digest challenges offered, most preferred first, one header each (RFC 8760 §2.4). MD5 alone by default:
     * phones on older SIP stacks give up on a challenge set that holds SHA-256 (baresip 1.0 / libre 1.1 fails on
     * any non-MD5 challenge in the set, whatever its place; sipsak 0.9.8 reads only the first). A client may answer
     * MD5 whenever MD5 is offered, so offering SHA-256 beside it protects nobody against a downgrade.
     */
    auth_algorithms: z
      .array(z.enum(['SHA-256', 'MD5']))
      .min(1)
      .refine((a) => new Set(a).size === a.length, 'must not repeat an algorithm')
      .default(['MD5']),
    nonce_lifetime_s: z.number().int().min(10).max(86_400).default(300),
    /** The relay policy (README "Security"); it takes effect with users_file. */
    auth: z
      .object({
        /** Strangers (a From not of our domain) calling our users: let them (`allow`) or authenticate them too. */
        inbound: z.enum(['allow', 'challenge']).default('allow'),
        /** Peers (gateways, SBCs) whose requests need no credentials: addresses or ADDRESS/PREFIX networks. */
        trusted: z
          .array(
            z.string().refine((s) => parseCidr(s) !== undefined, 'must be an IP address or ADDRESS/PREFIX'),
          )
          .default([]),
      })
      .strict()
      .default({ inbound: 'allow', trusted: [] }),
    routes: z.array(routeSchema).default([]),
    /**
     * Phones behind NAT: reach a phone where its REGISTER came from when its Contact is private and its source is
     * not (`auto`), always (`always`), or at its Contact as written (`never`).
     */
    nat: z.enum(['auto', 'always', 'never']).default('auto'),
    advertise: z.string().min(1).optional(),
    limits: z
      .object({
        max_message_bytes: z.number().int().min(1024).max(1_048_576).default(65_535),
        max_headers: z.number().int().min(8).max(1000).default(128),
        max_line_length: z.number().int().min(256).max(65_535).default(8192),
      })
      .strict()
      .default({ max_message_bytes: 65_535, max_headers: 128, max_line_length: 8192 }),
    timers: z
      .object({
        t1_ms: z.number().int().min(10).max(10_000).default(500),
        t2_ms: z.number().int().min(100).max(60_000).default(4000),
        t4_ms: z.number().int().min(100).max(60_000).default(5000),
      })
      .strict()
      .default({ t1_ms: 500, t2_ms: 4000, t4_ms: 5000 }),
    registrar: z
      .object({
        min_expires: z.number().int().min(0).max(86_400).default(60),
        max_expires: z.number().int().min(1).max(604_800).default(3600),
        default_expires: z.number().int().min(1).max(604_800).default(3600),
      })
      .strict()
      .default({ min_expires: 60, max_expires: 3600, default_expires: 3600 }),
    tcp_idle_timeout_ms: z.number().int().min(1000).max(86_400_000).default(600_000),
    /**
     * SIP worker processes (README "Every core"): `auto` is the host's cores less one for the node, at least one
     * and at most MAX_SIP_WORKERS; a number is taken as given.
     */
    workers: z
      .union([
        z.literal('auto'),
        z
          .number({ message: `must be auto or a whole number from 1 to ${MAX_SIP_WORKERS}` })
          .int(`must be auto or a whole number from 1 to ${MAX_SIP_WORKERS}`)
          .min(1, `must be auto or a whole number from 1 to ${MAX_SIP_WORKERS}`)
          .max(MAX_SIP_WORKERS, `must be auto or a whole number from 1 to ${MAX_SIP_WORKERS}`),
      ])
      .default('auto'),
    /** TLS for tls:// and wss:// listeners and for requests sent over TLS (README "TLS and WebSocket"). */
    tls: z
      .object({
        /** PEM certificate chain presented for the VIP: the same file on both nodes of a pair. */
        cert_file: z.string().min(1),
        /** PEM private key of the certificate: a file only its owner can read (chmod 600). */
        key_file: z.string().min(1),
        /** PEM CA certificates trusted for peers' certificates (clients with verify_client, servers we connect to). */
        ca_file: z.string().min(1).optional(),
        min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
        /** Ask connecting clients for a certificate and refuse those not signed by ca_file (trunks, SBCs). */
        verify_client: z.boolean().default(false),
        /** Check the certificate of a server we connect to (a gateway over TLS) against ca_file or the system's CAs. */
        verify_server: z.boolean().default(true),
        /**
         * Session-ticket keys: a file of at least 48 random bytes shared by both nodes, so that clients resume
         * their sessions on the new primary after a takeover. Default: derived from ha.key_file (HA mode), else
         * random per start.
         */
        ticket_key_file: z.string().min(1).optional(),
        /**
         * TLS handshakes in progress at once; a connection over it is closed at once (the client retries): the
         * reconnect storm after a takeover is admitted at the rate the CPU can do handshakes, not all at once.
         */
        max_handshakes: z.number().int().min(1).max(100_000).default(256),
      })
      .strict()
      .refine((t) => !t.verify_client || t.ca_file !== undefined, {
        message: 'verify_client needs ca_file (the CAs client certificates must be signed by)',
        path: ['verify_client'],
      })
      .optional(),
    /** WebSocket listeners (ws://, wss://; RFC 7118). */
    websocket: z
      .object({
        /** Origins (scheme://host[:port]) allowed to open a connection; empty: any (README "TLS and WebSocket"). */
        allowed_origins: z
          .array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'must look like https://host[:port]'))
          .default([]),
        /** Open WebSocket connections at most; a new one past it is refused with 503. */
        max_connections: z.number().int().min(1).max(1_000_000).default(100_000),
      })
      .strict()
      .default({ allowed_origins: [], max_connections: 100_000 }),
    /**
     * RFC 5626 §4.4.1: the Flow-Timer (seconds) a registrar returns to an outbound client, which then keeps its flow
     * alive with a CRLF ping at most this often; 0: send none (clients keep their defaults).
     */
    flow_timer_s: z.number().int().min(0).max(3600).default(120),
    /**
     * Synthetic calls through a throwaway copy of the SIP stack before the sockets open (src/server/warm-up.ts), so
     * that the first seconds of real traffic do not run in V8's interpreter at twice the steady CPU cost.
     */
    warm_up: z.boolean().default(true),
    /** Overload control (README "Overload control"): new out-of-dialog requests get 503 + Retry-After. */
    overload: z
      .object({
        enabled: z.boolean().default(true),
        /**
         * Mean event-loop delay over a 100 ms interval above which the worker sheds. 40 ms: a healthy loop runs
         * late by about 1 ms and one GC pause averages out over an interval; a loop that stays 40 ms late holds
         * every message that long, and well before T1 (500 ms) the clients' retransmissions add to the load.
         */
        max_loop_delay_ms: z.number().int().min(5).max(1000).default(40),
        /**
         * Retry-After of the 503, drawn from N..2N seconds per answer. 5 s: short enough that a phone whose
         * REGISTER was shed re-registers soon, long enough for the burst (e.g. after a takeover) to spread out.
         */
        retry_after_s: z.number().int().min(1).max(3600).default(5),
      })
      .strict()
      .default({ enabled: true, max_loop_delay_ms: 40, retry_after_s: 5 }),
    /** Resolving next hops given by name (RFC 3263): README "DNS (RFC 3263)". */
    dns: z
      .object({
        /** DNS servers, ADDRESS or ADDRESS:PORT ([IPv6]:PORT); none: the system's (/etc/resolv.conf). */
        servers: z
          .array(
            z
              .string()
              .refine(
                (s) => isIP(s) !== 0 || /^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/.test(s),
                'must be ADDRESS, ADDRESS:PORT or [IPv6]:PORT',
              ),
          )
          .default([]),
        /** Per query try, and how many tries, before a server counts as failed (503). */
        timeout_ms: z.number().int().min(50).max(30_000).default(1000),
        tries: z.number().int().min(1).max(5).default(2),
        /** How long a name or record that does not exist is believed (node:dns gives no SOA minimum). */
        negative_ttl_s: z.number().int().min(0).max(86_400).default(30),
        /** How long NAPTR and SRV answers are kept (node:dns gives no TTL for them; A/AAAA keep their own). */
        record_ttl_s: z.number().int().min(0).max(86_400).default(60),
      })
      .strict()
      .default({ servers: [], timeout_ms: 1000, tries: 2, negative_ttl_s: 30, record_ttl_s: 60 }),
  })
  .strict()
  .refine((sip) => sip.auth.inbound === 'allow' || sip.users_file !== undefined, {
    message: 'challenge needs sip.users_file (there is nobody to authenticate)',
    path: ['auth', 'inbound'],
  })
  .refine((sip) => sip.tls !== undefined || !sip.listen.some((l) => /^(tls|wss):/.test(l)), {
    message: 'a tls:// or wss:// listener needs sip.tls (cert_file and key_file)',
    path: ['tls'],
  });

export const haSchema = z
  .object({
    listen: z.array(hostPort).min(1),
    peer: z.array(hostPort).min(1),
    key_file: z.string().min(1),
    heartbeat_ms: z.number().int().min(5).max(10_000).default(50),
    dead_after_ms: z.number().int().min(20).max(60_000).default(200),
    witnesses: z.array(z.string().min(1)).default([]),
    preempt: z.boolean().default(false),
    /**
     * Scheduling priority (nice) of the node process and of its SIP worker: the node's heartbeats must stay on
     * time when the worker, or anything else, eats every core. Raising it needs root or CAP_SYS_NICE (or systemd's
     * Nice=); without it the node says so once and runs at the priority it was given.
     */
    node_nice: z.number().int().min(-20).max(19).default(-10),
    worker_nice: z.number().int().min(-20).max(19).default(0),
    /** Largest clock difference accepted on peer messages; older or newer ones are rejected as stale. */
    max_skew_ms: z.number().int().min(50).max(60_000).default(1000),
    witness_interval_ms: z.number().int().min(20).max(60_000).default(500),
    witness_timeout_ms: z.number().int().min(10).max(10_000).default(300),
    /** Consecutive witness rounds without any answer before the node counts itself isolated. */
    witness_fail_rounds: z.number().int().min(1).max(100).default(2),
    /** The SIP worker is dead when it has not answered the IPC heartbeat for this long. */
    worker_dead_after_ms: z.number().int().min(20).max(60_000).default(1000),
    /** Wait before restarting a dead worker (doubles on repeated failures, up to 10 s). */
    worker_restart_ms: z.number().int().min(10).max(60_000).default(500),
    /** TCP port of the state replication stream on the ha.listen/ha.peer addresses; default: their first port + 1. */
    replication_port: z.number().int().min(1).max(65_535).optional(),
    replication: z
      .object({
        /**
         * Acknowledged means replicated: a REGISTER's 200 and the 2xx that confirms a dialog wait up to this long
         * for the synced backup to acknowledge the change (then go anyway, and the backup counts as unsynced).
         * 0: never wait.
         */
        ack_wait_ms: z
          .number({ message: 'must be a whole number of ms from 0 to 1000' })
          .int('must be a whole number of ms from 0 to 1000')
          .min(0, 'must be a whole number of ms from 0 to 1000')
          .max(1000, 'must be a whole number of ms from 0 to 1000')
          .default(10),
      })
      .strict()
      .default({ ack_wait_ms: 10 }),
  })
  .strict()
  .refine((ha) => ha.listen.length === ha.peer.length, {
    message: 'ha.listen and ha.peer must list the same number of paths',
    path: ['peer'],
  })
  .refine((ha) => ha.dead_after_ms >= 2 * ha.heartbeat_ms, {
    message: 'must be at least twice heartbeat_ms',
    path: ['dead_after_ms'],
  });

export const managementSchema = z
  .object({
    listen: hostPort,
    token_file: z.string().min(1),
  })
  .strict();

export const monitoringSchema = z
  .object({
    /** SIP traffic monitoring (Genesys `sip-pass-check`): is this node's SIP path working? See README. */
    sip_traffic: z
      .object({
        enabled: z.boolean().default(true),
        /** The VIP holder probes actively after this long without receiving any SIP. */
        idle_ms: z.number().int().min(50).max(600_000).default(1000),
        probe_timeout_ms: z.number().int().min(10).max(60_000).default(300),
        /** Probe round period: the backup's cross-probe of the VIP, and the idle primary's probes. */
        cross_probe_ms: z.number().int().min(20).max(60_000).default(200),
        /** Consecutive failed rounds before a probe counts as failed (one answer is enough to pass). */
        fail_rounds: z.number().int().min(1).max(100).default(2),
        /** OPTIONS targets outside the pair (gateway, SBC), ADDRESS:PORT; none: the ICMP ha.witnesses stand in. */
        probe_targets: z.array(hostPort).default([]),
        /** This node's unique SIP address (the probes' source); default: the ha.listen address in the VIP's subnet. */
        local_address: z.string().min(1).optional(),
        /** The peer's unique SIP address; default: the ha.peer address in the VIP's subnet. */
        peer_address: z.string().min(1).optional(),
        /** UDP port of the OPTIONS responder on the unique SIP address (the peer probes it). */
        probe_port: z.number().int().min(1).max(65_535).default(5060),
      })
      .strict()
      .default({
        enabled: true,
        idle_ms: 1000,
        probe_timeout_ms: 300,
        cross_probe_ms: 200,
        fail_rounds: 2,
        probe_targets: [],
        probe_port: 5060,
      }),
    /** Carrier/operstate of the SIP NIC (default: vip.interface), from /sys/class/net. */
    nic: z
      .object({
        enabled: z.boolean().default(true),
        interface: z.string().min(1).optional(),
        interval_ms: z.number().int().min(10).max(60_000).default(100),
      })
      .strict()
      .default({ enabled: true, interval_ms: 100 }),
    /** SIP worker event-loop stalls (the IPC silence limit is ha.worker_dead_after_ms). */
    worker: z
      .object({
        stall_ms: z.number().int().min(10).max(60_000).default(500),
      })
      .strict()
      .default({ stall_ms: 500 }),
  })
  .strict();

/** An etcd endpoint: http(s)://HOST:PORT (etcd's client URL). */
const etcdEndpoint = z
  .string()
  .regex(
    /^https?:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]+):\d{1,5}\/?$/,
    'must look like http://HOST:PORT or https://HOST:PORT',
  );

/**
 * Several pairs behind one domain (README "Growing past one pair"): an etcd 3.4 cluster holds the directory of
 * which pair serves which AoR, and is the witness and fence of each pair's election.
 */
export const clusterSchema = z
  .object({
    /** The etcd cluster's client URLs (all members: the client fails over between them). */
    etcd: z.array(etcdEndpoint).min(1),
    /** This pair's name, the same on both of its nodes and unique in the cluster. */
    pair_id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,32}$/, 'must be 1-32 letters, digits, dot, dash or underscore'),
    /** Where the other pairs send this pair's calls, ADDRESS:PORT (UDP); default: the VIP (HA) or the first UDP listen address. */
    advertise: hostPort.optional(),
    /** Key prefix in etcd, so that several clusters can share one etcd. */
    prefix: z
      .string()
      .regex(/^\/[A-Za-z0-9_./-]*$/, 'must start with / (letters, digits, . _ - /)')
      .default('/sipha'),
    /**
     * TTL of each node's etcd lease, which backs its claim to the pair's VIP: a dead primary's claim lapses this
     * long after its last keep-alive (the backup takes over no sooner). etcd rounds it up to its own minimum.
     */
    lease_ttl_s: z.number().int().min(1).max(60).default(2),
    /** TTL of the pair's lease, which backs its directory entries: they vanish this long after the whole pair died. */
    pair_lease_ttl_s: z.number().int().min(1).max(600).default(10),
    /**
     * With etcd unreachable from both nodes while they still hear each other, the primary keeps the VIP (Patroni's
     * failsafe_mode). false: a primary that cannot renew its lease always gives the VIP up.
     */
    failsafe: z.boolean().default(true),
    /** How long one etcd request may take before it counts as failed. */
    request_timeout_ms: z.number().int().min(50).max(60_000).default(1000),
    /** Directory changes are batched into one etcd transaction this often. */
    batch_ms: z.number().int().min(0).max(10_000).default(50),
    tls: z
      .object({
        ca_file: z.string().min(1),
        cert_file: z.string().min(1).optional(),
        key_file: z.string().min(1).optional(),
      })
      .strict()
      .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
        message: 'cert_file and key_file go together',
        path: ['key_file'],
      })
      .optional(),
    auth: z
      .object({
        user: z.string().min(1),
        password_file: z.string().min(1),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => !c.etcd.some((e) => e.startsWith('https:')) || c.tls !== undefined, {
    message: 'an https:// endpoint needs cluster.tls.ca_file',
    path: ['tls'],
  });

export const configSchema = z
  .object({
    node: nodeSchema.default({ id: 'standalone', priority: 100, state_dir: '/var/lib/sipha' }),
    sip: sipSchema,
    vip: vipSchema.optional(),
    ha: haSchema.optional(),
    management: managementSchema.optional(),
    monitoring: monitoringSchema.optional(),
    cluster: clusterSchema.optional(),
    log: z
      .object({
        level: z.enum(LOG_LEVELS).default('info'),
        /** SIP activity — registrations and calls, one line per change — at its own level; default: `level`. */
        sip: z.enum(LOG_LEVELS).optional(),
      })
      .strict()
      .default({ level: 'info' }),
  })
  .strict()
  .refine((c) => c.ha === undefined || c.vip !== undefined, {
    message: 'is required when ha is set',
    path: ['vip'],
  })
  .refine((c) => c.cluster === undefined || c.sip.domain !== undefined, {
    message: 'cluster needs sip.domain (the directory is per domain)',
    path: ['sip', 'domain'],
  });

export type SiphaConfig = z.infer<typeof configSchema>;

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
export type ClusterConfig = z.infer<typeof clusterSchema>;
