// The SIP server: transport, transactions, registrar, proxy and dialogs wired together from the config.
// It runs standalone (`sipha start` without `ha`) or as the SIP worker of an HA node.
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { restartOnlyDifferences } from '../config/reloadable.js';
import type { SiphaConfig } from '../config/schema.js';
import { formatHostPort, isLoopback } from '../net/address.js';
import type { ParseLimits } from '../sip/limits.js';
import { TransactionLayer } from '../sip/transaction/transaction-layer.js';
import { type ListenSpec, parseListenUri } from '../sip/transport/listen-uri.js';
import { TransportLayer } from '../sip/transport/transport-layer.js';
import { systemClock } from '../time/clock.js';
import { type DialogChange, DialogStore } from './dialogs.js';
import { DigestAuthenticator } from './digest-auth.js';
import { type BindingChange, LocationService } from './location-service.js';
import { Myself } from './myself.js';
import { type GovernorChange, OverloadGovernor } from './overload/governor.js';
import { LoopLagMonitor } from './overload/loop-lag.js';
import type { Advertise, AdvertisedPoint } from './proxy/identity.js';
import { ProxyCore } from './proxy/proxy-core.js';
import type { RegistrarPolicy } from './registrar.js';
import type { RemoteDirectory } from './remote-directory.js';
import { SipResolver } from './resolver/resolver.js';
import { compileRoutes, type StaticRoute } from './static-routes.js';
import { loadTlsMaterial } from './tls-material.js';
import { loadUsersFile } from './users-file.js';
import { warmUp } from './warm-up.js';

export interface SipServerOptions {
  /** The config in force (a reload replaces it). */
  config: SiphaConfig;
  resolvePath: (p: string) => string;
  log: Logger;
  /**
   * Whether this server acts on timers with outside effects (expiry), asked at each tick: an HA backup mirrors
   * silently, so the SIP worker answers from its role. Default: always.
   */
  acting?: () => boolean;
  /** The config file, for errors about files it names (sip.tls). */
  configFile?: string;
  /** The HA link's key (HA mode): TLS session-ticket keys derive from it unless sip.tls.ticket_key_file is set. */
  haKey?: Buffer;
  /**
   * One of several SIP workers on this node (src/workers/): they share the UDP listeners; worker 0 owns the TCP,
   * TLS and WebSocket listeners and connections, and is the keeper of the shared state (it alone expires it).
   */
  worker?: { index: number; count: number };
  /**
   * The key digest nonces are signed with (digest-auth.ts): the same on every worker of a node, so a nonce one
   * worker issued verifies on another (a phone's next request has a new Call-ID, and so maybe another worker), and
   * on both nodes of a pair (derived from the HA key). Absent: a random one.
   */
  nonceKey?: Buffer;
}

/** How often bindings and dialogs are checked for expiry. */
const EXPIRY_INTERVAL_MS = 1000;
/** A confirmed dialog without a BYE for this long is assumed gone (we keep no media to tell otherwise). */
const DIALOG_MAX_AGE_MS = 12 * 3600_000;

/** What a reload changes in place (the proxy holds these very objects). */
interface LiveSettings {
  users: Map<string, string>;
  routes: StaticRoute[];
  registrar: RegistrarPolicy;
}

export class SipServer {
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly location = new LocationService();
  readonly dialogs = new DialogStore();
  proxy!: ProxyCore;
  /**
   * Several pairs for one domain (`cluster`, src/cluster/directory.ts): set before start(), the proxy asks it for
   * users registered through another pair.
   */
  directory: RemoteDirectory | undefined;
  /** Overload control (`sip.overload`); absent when disabled. */
  readonly overload: OverloadGovernor | undefined;
  private readonly lagMonitor: LoopLagMonitor | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly listen: ListenSpec[];
  private readonly live: LiveSettings = {
    users: new Map(),
    routes: [],
    registrar: { minExpires: 0, maxExpires: 0, defaultExpires: 0 },
  };
  /** `sip.limits` as the parser takes them: the transport's and the warm-up's. */
  private readonly limits: ParseLimits;

  constructor(private readonly o: SipServerOptions) {
    const sip = o.config.sip;
    this.live.routes.push(...compileRoutes(sip.routes));
    this.limits = {
      maxMessageBytes: sip.limits.max_message_bytes,
      maxHeaders: sip.limits.max_headers,
      maxLineLength: sip.limits.max_line_length,
    };
    this.listen = sip.listen.map((l) => {
      const spec = parseListenUri(l);
      if (spec === undefined) throw new Error(`sip.listen: cannot use ${l}`);
      return spec;
    });
    this.transport = new TransportLayer({
      listen: this.listen,
      limits: this.limits,
      tcpIdleTimeoutMs: sip.tcp_idle_timeout_ms,
      websocket: {
        allowedOrigins: sip.websocket.allowed_origins,
        maxConnections: sip.websocket.max_connections,
      },
      ...(o.worker === undefined || o.worker.count <= 1
        ? {}
        : { workers: { shared: true, relayStreams: o.worker.index !== 0 } }),
    });
    this.transactions = new TransactionLayer({
      sender: this.transport,
      clock: systemClock,
      timers: { t1: sip.timers.t1_ms, t2: sip.timers.t2_ms, t4: sip.timers.t4_ms },
    });
    // SIP activity for the journal, one line per registration change and per call state change: at info for what
    // this node did, at debug for what a backup applies from the primary's replication stream. `log.sip` sets the
    // level of these lines apart from the rest.
    const level = o.config.log.sip;
    const activity = o.log.child({ component: 'sip' }, level === undefined ? {} : { level });
    this.location.subscribe((c) => logRegistration(activity, c, performance.now()));
    this.dialogs.subscribe((c) => logCall(activity, c));
    if (sip.overload.enabled) {
      this.overload = new OverloadGovernor({ maxLoopDelayMs: sip.overload.max_loop_delay_ms });
      this.lagMonitor = new LoopLagMonitor(this.overload, (c) => this.logOverload(c));
    }
  }

  /**
   * Forces the overload governor's rejection fraction (1: shed every new out-of-dialog request), or gives it back
   * to the loop-lag control (`undefined`). For tests (no operator command sets it yet); nothing when overload
   * control is disabled.
   */
  forceOverload(fraction: number | undefined): void {
    const change = this.overload?.force(fraction, performance.now());
    if (change !== undefined) this.logOverload(change);
  }

  /** One line when shedding starts and one when it stops: the governor's hysteresis rate-limits them. */
  private logOverload(c: NonNullable<GovernorChange>): void {
    if (c.type === 'start')
      this.o.log.warn(
        { lagMs: Math.round(c.lagMs), rejecting: c.fraction },
        'SIP overload: shedding new requests with 503',
      );
    else
      this.o.log.info(
        { rejected: c.rejected, worstLagMs: Math.round(c.worstLagMs) },
        'SIP overload over: admitting every request again',
      );
  }

  async start(): Promise<void> {
    const { config, resolvePath, log } = this.o;
    const sip = config.sip;
    let auth: DigestAuthenticator | undefined;
    if (sip.users_file !== undefined) {
      const users = await loadUsersFile(resolvePath(sip.users_file));
      for (const [u, p] of users) this.live.users.set(u, p);
      auth = new DigestAuthenticator(
        sip.domain ?? 'sipha',
        this.live.users,
        sip.nonce_lifetime_s * 1000,
        sip.auth_algorithms,
        this.o.nonceKey,
      );
    }
    // Before binding: a certificate problem is a config error, and nothing listens half-configured.
    this.transport.reloadTls(await this.loadTls());
    // Before binding: nothing is dropped while the hot path is still being compiled.
    if (sip.warm_up) await this.warmUp();
    await this.transport.start();
    const bound = this.transport.listening;
    const myself = new Myself(sip.domain, bound);
    const all: AdvertisedPoint[] = [];
    const advertise: Advertise = { all };
    for (const l of bound) {
      // sip.advertise may be written with or without the brackets of an IPv6 address.
      const host = sip.advertise ?? l.address;
      const point = { host: host.startsWith('[') ? host.slice(1, -1) : host, port: l.port };
      advertise[l.transport] ??= point;
      all.push({ ...point, transport: l.transport });
    }
    this.proxy = new ProxyCore(this.transport, this.transactions, {
      myself,
      location: this.location,
      dialogs: this.dialogs,
      registrar: Object.assign(this.live.registrar, registrarPolicy(config)),
      ...(auth === undefined ? {} : { auth }),
      relay: sip.auth,
      nat: sip.nat,
      routes: this.live.routes,
      resolver: new SipResolver({
        servers: sip.dns.servers,
        timeoutMs: sip.dns.timeout_ms,
        tries: sip.dns.tries,
        negativeTtlMs: sip.dns.negative_ttl_s * 1000,
        recordTtlMs: sip.dns.record_ttl_s * 1000,
        now: () => performance.now(),
      }),
      onError: (err) =>
        log.error(
          { err },
          'error in deferred SIP handling (a resolved next hop, a response held for replication)',
        ),
      advertise,
      now: () => performance.now(),
      hasFlow: (to) => this.transport.hasFlow(to),
      ...(this.directory === undefined ? {} : { directory: this.directory }),
      ...(this.overload === undefined
        ? {}
        : { overload: { governor: this.overload, retryAfterS: sip.overload.retry_after_s } }),
    });
    // Transport → transactions → proxy core: the core sees only what no transaction absorbs.
    this.transactions.core = this.proxy;
    this.transport.onRequest = (req, source) => this.transactions.receiveRequest(req, source);
    this.transport.onResponse = (res, source) => this.transactions.receiveResponse(res, source);
    // §18.4: an ICMP error or a failed TCP connection fails what waits on that next hop at once (§17.1.4).
    this.transport.onUnreachable = (to, err) => this.transactions.transportFailed(to, err);
    this.transport.onHandlerError = (err) => log.error({ err }, 'error while handling a SIP message');
    this.expiryTimer = setInterval(() => this.expire(), EXPIRY_INTERVAL_MS);
    this.expiryTimer.unref();
    this.lagMonitor?.start();
    log.info(
      { listen: bound.map((l) => `${l.transport}://${formatHostPort({ host: l.address, port: l.port })}`) },
      'SIP server listening',
    );
    this.warnIfOpenRelay(bound);
  }

  /**
   * A new config read on SIGHUP (README "Reload"), applied in place where the running server allows it: the users
   * file (read again), static routes, registrar intervals, the log level, the TLS files. Registrations, calls and
   * connections stay. Any other difference needs a restart: a ConfigError names those keys and nothing changes.
   * Returns what changed.
   */
  async reload(next: SiphaConfig): Promise<string[]> {
    const now = this.o.config;
    const fixed = restartOnlyDifferences(now, next);
    if (fixed.length > 0)
      throw new ConfigError(
        this.o.configFile ?? 'config',
        fixed.join(', '),
        'changed: needs a restart (sipha restart the node; on a pair one node after the other)',
      );
    const users =
      next.sip.users_file === undefined
        ? undefined
        : await loadUsersFile(this.o.resolvePath(next.sip.users_file));
    const tls = next.sip.tls === undefined ? undefined : await this.loadTls(next);
    const routes = compileRoutes(next.sip.routes);
    // Everything read and checked: now apply, all at once.
    const applied: string[] = [];
    if (users !== undefined) {
      const before = this.live.users.size;
      this.live.users.clear();
      for (const [u, p] of users) this.live.users.set(u, p);
      applied.push(`sip.users_file (${before} → ${users.size} users)`);
    }
    this.live.routes.splice(0, this.live.routes.length, ...routes);
    applied.push(`sip.routes (${routes.length})`);
    Object.assign(this.live.registrar, registrarPolicy(next));
    if (tls !== undefined) {
      this.transport.reloadTls(tls);
      applied.push('sip.tls');
    }
    if (next.log.level !== now.log.level) {
      this.o.log.level = next.log.level;
      applied.push(`log.level (${next.log.level})`);
    }
    this.o.config = next;
    return applied;
  }

  private loadTls(config: SiphaConfig = this.o.config) {
    const { resolvePath, configFile, haKey } = this.o;
    return loadTlsMaterial({
      tls: config.sip.tls,
      resolvePath,
      configFile: configFile ?? 'config',
      ...(haKey === undefined ? {} : { haKey }),
    });
  }

  /** JIT warm-up of the hot path (src/server/warm-up.ts); a failure only means a cold start. */
  private async warmUp(): Promise<void> {
    const { log } = this.o;
    try {
      const r = await warmUp({ limits: this.limits });
      log.info(
        { calls: r.calls, registrations: r.registrations, options: r.options, ms: Math.round(r.ms) },
        'SIP hot path warmed up with synthetic calls',
      );
    } catch (err) {
      log.debug({ err }, 'SIP warm-up failed; starting cold');
    }
  }

  /**
   * Without a users file nothing is authenticated (README "Security"): reachable from the network with static
   * routes, anyone can call through the gateways at our cost. Said once, at start.
   */
  private warnIfOpenRelay(bound: readonly ListenSpec[]): void {
    const { sip } = this.o.config;
    const exposed = bound.filter((l) => !isLoopback(l.address)).map((l) => l.address);
    if (sip.users_file !== undefined || sip.routes.length === 0 || exposed.length === 0) return;
    this.o.log.warn(
      { listen: [...new Set(exposed)], gateways: sip.routes.map((r) => r.to) },
      'no sip.users_file: anyone who reaches these addresses can call out through the static routes (an open relay); see README "Security"',
    );
  }

  get listening(): readonly ListenSpec[] {
    return this.transport.listening;
  }

  /** Whether it acts on timers now (see SipServerOptions.acting). */
  get acting(): boolean {
    return this.o.acting?.() ?? true;
  }

  private expire(): void {
    // Several workers: the keeper expires, and the others hear it (they never serve an expired binding anyway).
    if (!this.acting || (this.o.worker?.index ?? 0) !== 0) return;
    this.location.expire(performance.now());
    this.dialogs.expire(DIALOG_MAX_AGE_MS);
  }

  /** Graceful stop: refuse new TCP connections, let transactions in flight finish for up to `graceMs`, then close. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    this.lagMonitor?.stop();
    await this.transport.stopAccepting();
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (this.proxy?.activeContexts ?? 0) > 0)
      await new Promise((r) => setTimeout(r, 50));
    this.transactions.close();
    await this.transport.stop();
  }
}

function logRegistration(log: Logger, c: BindingChange, now: number): void {
  const level = c.origin === 'local' ? 'info' : 'debug';
  if (c.kind === 'removed') {
    log[level](
      { aor: c.aor, contact: c.contact, reason: c.reason, origin: c.origin },
      'registration removed',
    );
    return;
  }
  const b = c.binding;
  const from = b.received;
  const source =
    from === undefined
      ? {}
      : { transport: from.transport, source: formatHostPort({ host: from.address, port: from.port }) };
  const expires = Math.max(0, Math.round((b.expiresAt - now) / 1000));
  log[level](
    { aor: b.aor, contact: b.contact, expires, ...source, origin: c.origin },
    `registration ${c.kind}`,
  );
}

function logCall(log: Logger, c: DialogChange): void {
  const d = c.dialog;
  // A call answered without a provisional response is created confirmed; its `confirmed` change follows.
  if (c.kind === 'created' && d.state !== 'early' && c.origin === 'local') return;
  const level = c.origin === 'local' ? 'info' : 'debug';
  const reason = d.endReason === undefined ? {} : { reason: d.endReason };
  log[level](
    { dialog: d.id, caller: d.caller, callee: d.callee, state: d.state, ...reason, origin: c.origin },
    `call ${d.state}`,
  );
}

function registrarPolicy(c: SiphaConfig): RegistrarPolicy {
  return {
    minExpires: c.sip.registrar.min_expires,
    maxExpires: c.sip.registrar.max_expires,
    defaultExpires: c.sip.registrar.default_expires,
    flowTimerS: c.sip.flow_timer_s,
  };
}
