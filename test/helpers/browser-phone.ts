// A real browser SIP client for the WebSocket (RFC 7118) transport tests: SIP.js (the library most
// contact-centre agent desktops are built on) running in Debian's Chromium, driven by playwright-core.
//
// The page is served without any network: a route for http://phone.test/ answers /index.html with a tiny page
// and /sipjs/** from node_modules/sip.js/lib/** (plain ES modules, no dependencies), so the only connection the
// browser makes is the WebSocket to the server under test. Media is not our business: SIP.js gets a fake
// SessionDescriptionHandler that offers and answers a fixed audio SDP, without getUserMedia or RTCPeerConnection.
//
// Like an agent desktop, the phone reconnects its transport when the server drops it (SIP.js's
// reconnectionAttempts/reconnectionDelay) and registers again as soon as it is connected if it was registered
// before: that is what makes it bind again to the backup after a takeover.
//
// `wrap` runs Chromium inside something, typically a network namespace (['ip', 'netns', 'exec', NS]): a
// wrapper script `exec <wrap...> /usr/bin/chromium "$@"` is given to playwright as the executable. Playwright
// talks to Chromium over pipes on fds 3 and 4, which `ip netns exec` and the shell's exec both keep open (checked:
// a phone in a scratch namespace registers with a sipha started there with the same wrap).
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM, QUIET_CHROMIUM_ARGS } from './chromium.js';

export { CHROMIUM };

const SIPJS_LIB = join(process.cwd(), 'node_modules', 'sip.js', 'lib');
const ORIGIN = 'http://phone.test';

export interface BrowserPhoneOptions {
  /** 'ws://127.0.0.1:8080' or 'wss://127.0.0.1:8443'. */
  wsUrl: string;
  user: string;
  domain: string;
  password?: string;
  /** Prefix for the Chromium command line, e.g. ['ip', 'netns', 'exec', NS]. */
  wrap?: readonly string[];
  /** Accept incoming calls at once (after 180 Ringing). */
  autoAnswer?: boolean;
  /** Default bound for each operation, ms (default 10 s). */
  timeoutMs?: number;
  /**
   * SIP Outbound (RFC 5626): register with ;reg-id=regId;+sip.instance="<urn:uuid:instanceId>" (instanceId:
   * SIP.js's random one unless given; keep it to survive a browser restart). Default: a plain binding.
   */
  regId?: number;
  instanceId?: string;
  /** SIP.js reconnection: attempts (default 30) and delay in seconds (default 1). */
  reconnectionAttempts?: number;
  reconnectionDelay?: number;
}

/** SIP.js SessionState. */
export type CallState = 'none' | 'Initial' | 'Establishing' | 'Established' | 'Terminating' | 'Terminated';
/** SIP.js TransportState. */
export type TransportState = 'Connecting' | 'Connected' | 'Disconnecting' | 'Disconnected';
export type RegistrationState = 'none' | 'Initial' | 'Registered' | 'Unregistered' | 'Terminated';

export interface SeenMessage {
  /** 'in': received by the page; 'out': sent by it. */
  dir: 'in' | 'out';
  /** The start line, e.g. 'INVITE sip:b@… SIP/2.0' or 'SIP/2.0 200 OK'. */
  firstLine: string;
  /** The CSeq header's value, e.g. '2 INVITE'. */
  cseq: string;
  /** The whole message, for the first few of each start line (see `messagesSeen`). */
  text: string;
  at: number;
}

// The page: SIP.js plus a small API on window.phone. Plain JavaScript, run by Chromium.
const PAGE_SCRIPT = String.raw`
import * as SIP from '/sipjs/index.js';

const logs = [];
const messages = [];
function log(line) {
  logs.push(new Date().toISOString().slice(11, 23) + ' ' + line);
  if (logs.length > 400) logs.shift();
}
window.addEventListener('error', (e) => log('page error: ' + e.message));
window.addEventListener('unhandledrejection', (e) => log('unhandled rejection: ' + (e.reason && e.reason.message || e.reason)));

function record(dir, text) {
  const firstLine = text.slice(0, text.indexOf('\r\n') >= 0 ? text.indexOf('\r\n') : text.length);
  if (firstLine.trim() === '') return; // keep-alive CRLFs
  const m = /^CSeq:\s*(.+)$/im.exec(text);
  messages.push({ dir, firstLine, cseq: m ? m[1].trim() : '', text: text.slice(0, 4000), at: Date.now() });
  if (messages.length > 500) messages.shift();
}

let sdpVersion = 0;
function sdp() {
  sdpVersion++;
  return 'v=0\r\no=- 4242 ' + sdpVersion + ' IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
    'm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n';
}
class FakeSessionDescriptionHandler {
  constructor() { this.remote = undefined; }
  close() {}
  getDescription() { return Promise.resolve({ body: sdp(), contentType: 'application/sdp' }); }
  hasDescription(contentType) { return contentType === 'application/sdp'; }
  rollbackDescription() { return Promise.resolve(); }
  sendDtmf() { return true; }
  setDescription(body) { this.remote = body; return Promise.resolve(); }
}

const st = {
  ua: undefined, registerer: undefined, session: undefined, wantRegistered: false,
  connects: 0, reconnects: 0, regError: undefined, incoming: 0, autoAnswer: false, callStates: [],
};

function track(session) {
  st.session = session;
  st.callStates = [session.state];
  session.stateChange.addListener((s) => {
    st.callStates.push(s);
    log('call state ' + s);
  });
}

function registerNow() {
  st.regError = undefined;
  return st.registerer.register({
    requestDelegate: {
      onReject: (response) => {
        st.regError = response.message.statusCode + ' ' + response.message.reasonPhrase;
        log('REGISTER rejected: ' + st.regError);
      },
    },
  });
}

window.phone = {
  async start(o) {
    st.autoAnswer = !!o.autoAnswer;
    const uri = SIP.UserAgent.makeURI('sip:' + o.user + '@' + o.domain);
    if (!uri) throw new Error('bad AOR sip:' + o.user + '@' + o.domain);
    const ua = new SIP.UserAgent({
      uri,
      transportOptions: { server: o.wsUrl, traceSip: false, connectionTimeout: 5 },
      authorizationUsername: o.user,
      authorizationPassword: o.password || '',
      contactParams: { transport: 'ws' },
      instanceId: o.instanceId || undefined,
      reconnectionAttempts: o.reconnectionAttempts,
      reconnectionDelay: o.reconnectionDelay,
      logBuiltinEnabled: false,
      logLevel: 'log',
      logConnector: (level, category, label, content) => log(level + ' ' + category + ' ' + content),
      sessionDescriptionHandlerFactory: () => new FakeSessionDescriptionHandler(),
      delegate: {
        onConnect: () => {
          st.connects++;
          if (st.connects > 1) st.reconnects++;
          log('transport connected (' + st.connects + ')');
          // A real agent desktop registers again at once on a new connection: after a takeover, this is
          // what binds the AOR to the new flow.
          if (st.wantRegistered && st.connects > 1) {
            registerNow().catch((e) => log('re-REGISTER on connect failed: ' + e.message));
          }
        },
        onDisconnect: (error) => log('transport disconnected' + (error ? ': ' + error.message : '')),
        onInvite: (invitation) => {
          st.incoming++;
          log('incoming INVITE from ' + invitation.remoteIdentity.uri);
          track(invitation);
          if (st.autoAnswer) invitation.accept().catch((e) => log('auto-answer failed: ' + e.message));
        },
      },
    });
    const t = ua.transport;
    const onMessage = t.onMessage;
    t.onMessage = (text) => { record('in', text); onMessage(text); };
    const send = t.send.bind(t);
    t.send = (text) => { record('out', text); return send(text); };
    st.ua = ua;
    st.registerer = new SIP.Registerer(ua, { expires: 300, regId: o.regId || 0 });
    st.registerer.stateChange.addListener((s) => log('registration state ' + s));
    await ua.start();
    st.connects = Math.max(st.connects, 1);
  },
  register() {
    st.wantRegistered = true;
    return registerNow();
  },
  unregister() {
    st.wantRegistered = false;
    return st.registerer.unregister();
  },
  registrationState() { return st.registerer ? st.registerer.state : 'none'; },
  regError() { return st.regError; },
  call(target) {
    const uri = SIP.UserAgent.makeURI(target);
    if (!uri) throw new Error('bad target ' + target);
    const inviter = new SIP.Inviter(st.ua, uri);
    track(inviter);
    return inviter.invite().then(() => undefined);
  },
  incoming() { return st.incoming; },
  answer() {
    if (!st.session || typeof st.session.accept !== 'function') throw new Error('no incoming call to answer');
    return st.session.accept();
  },
  bye() {
    const s = st.session;
    if (!s) throw new Error('no call');
    if (s.state === 'Established') return s.bye().then(() => undefined);
    if (typeof s.cancel === 'function') return s.cancel();
    if (typeof s.reject === 'function') return s.reject();
    throw new Error('cannot end a call in state ' + s.state);
  },
  reinvite() {
    const s = st.session;
    if (!s || s.state !== 'Established') throw new Error('no established call to re-INVITE');
    return new Promise((resolve, reject) => {
      s.invite({
        requestDelegate: {
          onAccept: (r) => resolve(r.message.statusCode),
          onReject: (r) => reject(new Error('re-INVITE rejected: ' + r.message.statusCode + ' ' + r.message.reasonPhrase)),
        },
      }).catch(reject);
    });
  },
  callState() { return st.session ? st.session.state : 'none'; },
  callStates() { return st.callStates.slice(); },
  transportState() { return st.ua ? st.ua.transport.state : 'Disconnected'; },
  reconnects() { return st.reconnects; },
  messages() { return messages.slice(); },
  logs(n) { return logs.slice(-n); },
  async stop() {
    if (st.ua) await st.ua.stop();
  },
};
window.phoneReady = true;
`;

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>sipha browser phone</title></head>
<body><p>SIP.js phone</p><script type="module">${PAGE_SCRIPT}</script></body></html>
`;

function chromiumArgs(): string[] {
  const args = [
    ...QUIET_CHROMIUM_ARGS,
    '--ignore-certificate-errors',
    // Chromium 156 refuses a WebSocket from a public origin (http://phone.test) to a loopback or private
    // address (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS): the servers under test are all there.
    '--disable-features=MediaRouter,LocalNetworkAccessChecks',
  ];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return args;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

export class BrowserPhone {
  private pageErrors: string[] = [];

  private constructor(
    readonly options: BrowserPhoneOptions,
    private readonly context: BrowserContext,
    private readonly page: Page,
    private readonly dir: string,
  ) {}

  static async start(o: BrowserPhoneOptions): Promise<BrowserPhone> {
    const timeoutMs = o.timeoutMs ?? 10_000;
    const dir = mkdtempSync(join(tmpdir(), 'sipha-browser-phone-'));
    let context: BrowserContext | undefined;
    try {
      let executablePath = CHROMIUM;
      if (o.wrap && o.wrap.length > 0) {
        const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
        executablePath = join(dir, 'chromium-wrapped');
        writeFileSync(executablePath, `#!/bin/sh\nexec ${[...o.wrap, CHROMIUM].map(quote).join(' ')} "$@"\n`);
        chmodSync(executablePath, 0o755);
      }
      context = await chromium.launchPersistentContext(join(dir, 'profile'), {
        executablePath,
        headless: true,
        args: chromiumArgs(),
        ignoreHTTPSErrors: true,
        timeout: Math.max(timeoutMs, 20_000),
      });
      await context.route(`${ORIGIN}/**`, async (route) => {
        const path = new URL(route.request().url()).pathname;
        if (path === '/' || path === '/index.html') {
          await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: INDEX_HTML });
          return;
        }
        if (path.startsWith('/sipjs/')) {
          const file = normalize(join(SIPJS_LIB, decodeURIComponent(path.slice('/sipjs/'.length))));
          if (file.startsWith(SIPJS_LIB + sep) && existsSync(file)) {
            await route.fulfill({
              status: 200,
              contentType: 'application/javascript; charset=utf-8',
              body: readFileSync(file),
            });
            return;
          }
        }
        await route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
      });
      const page = context.pages()[0] ?? (await context.newPage());
      const phone = new BrowserPhone(o, context, page, dir);
      page.on('pageerror', (e) => phone.pageErrors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') phone.pageErrors.push(m.text());
      });
      await page.goto(`${ORIGIN}/index.html`, { timeout: timeoutMs });
      await page.waitForFunction(
        () => (globalThis as unknown as { phoneReady?: boolean }).phoneReady === true,
        null,
        {
          timeout: timeoutMs,
        },
      );
      await phone.bounded('start', timeoutMs, () =>
        page.evaluate((opts) => (globalThis as unknown as PageWindow).phone.start(opts), {
          wsUrl: o.wsUrl,
          user: o.user,
          domain: o.domain,
          password: o.password ?? '',
          autoAnswer: o.autoAnswer ?? false,
          regId: o.regId ?? 0,
          instanceId: o.instanceId ?? '',
          reconnectionAttempts: o.reconnectionAttempts ?? 30,
          reconnectionDelay: o.reconnectionDelay ?? 1,
        }),
      );
      return phone;
    } catch (err) {
      await context?.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 10_000;
  }

  /** The page's last SIP.js log lines (and page errors). */
  async recentLog(n = 40): Promise<string[]> {
    const lines = await this.page
      .evaluate((k) => (globalThis as unknown as PageWindow).phone?.logs(k) ?? [], n)
      .catch((e: unknown) => [`(page log unavailable: ${describeError(e)})`]);
    return [...this.pageErrors.slice(-5).map((e) => `page: ${e}`), ...lines];
  }

  /** Runs fn, bounded by ms; a timeout or failure throws with the page's recent log. */
  private async bounded<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([fn(), timeout]);
    } catch (err) {
      const log = await this.recentLog();
      throw new Error(
        `BrowserPhone ${this.options.user}: ${what} failed: ${describeError(err)}\n` +
          `--- recent SIP.js log ---\n${log.join('\n')}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private waitUntil(what: string, predicate: (arg: string) => boolean, arg = '', ms = this.timeoutMs) {
    return this.bounded(what, ms, async () => {
      await this.page.waitForFunction(predicate, arg, { timeout: ms + 1_000, polling: 50 });
    });
  }

  /** REGISTER; resolves once Registered (rejects at once on a final error response). */
  async register(ms = this.timeoutMs): Promise<void> {
    await this.bounded('register', ms, () =>
      this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.register()),
    );
    await this.waitUntil(
      'register',
      () =>
        (globalThis as unknown as PageWindow).phone.registrationState() === 'Registered' ||
        !!(globalThis as unknown as PageWindow).phone.regError(),
      '',
      ms,
    );
    const rejected = await this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.regError());
    if (rejected) {
      await this.bounded('register', 1, () => Promise.reject(new Error(`REGISTER rejected: ${rejected}`)));
    }
  }

  /** REGISTER with Expires 0; resolves once Unregistered. */
  async unregister(ms = this.timeoutMs): Promise<void> {
    await this.bounded('unregister', ms, () =>
      this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.unregister()),
    );
    await this.waitUntil(
      'unregister',
      () => (globalThis as unknown as PageWindow).phone.registrationState() === 'Unregistered',
      '',
      ms,
    );
  }

  registrationState(): Promise<RegistrationState> {
    return this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.registrationState());
  }

  /** INVITE targetUri ('sip:b@example.test'); resolves once the call is Established. */
  async call(targetUri: string, ms = this.timeoutMs): Promise<void> {
    await this.bounded(`call ${targetUri}`, ms, () =>
      this.page.evaluate((t) => (globalThis as unknown as PageWindow).phone.call(t), targetUri),
    );
    await this.waitUntil(
      `call ${targetUri}`,
      () =>
        (globalThis as unknown as PageWindow).phone.callState() === 'Established' ||
        (globalThis as unknown as PageWindow).phone.callState() === 'Terminated',
      '',
      ms,
    );
    const state = await this.callState();
    if (state !== 'Established') {
      await this.bounded(`call ${targetUri}`, 1, () => Promise.reject(new Error(`call ended: ${state}`)));
    }
  }

  /** Resolves once an incoming INVITE has arrived (the n-th since start, default the first). */
  async waitForIncoming(n = 1, ms = this.timeoutMs): Promise<void> {
    await this.waitUntil(
      'wait for an incoming call',
      (k) => (globalThis as unknown as PageWindow).phone.incoming() >= Number(k),
      String(n),
      ms,
    );
  }

  /** Accepts the incoming call; resolves once it is Established (the ACK has arrived). */
  async answer(ms = this.timeoutMs): Promise<void> {
    await this.bounded('answer', ms, () =>
      this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.answer()),
    );
    await this.waitForCallState('Established', ms);
  }

  /** BYE (or CANCEL/reject when not yet established); resolves once Terminated. */
  async bye(ms = this.timeoutMs): Promise<void> {
    await this.bounded('bye', ms, () =>
      this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.bye()),
    );
    await this.waitForCallState('Terminated', ms);
  }

  async waitForCallState(state: CallState, ms = this.timeoutMs): Promise<void> {
    await this.waitUntil(
      `wait for call state ${state}`,
      (s) => (globalThis as unknown as PageWindow).phone.callState() === s,
      state,
      ms,
    );
  }

  /** re-INVITE within the call; resolves with the 2xx's status code. */
  reinvite(ms = this.timeoutMs): Promise<number> {
    return this.bounded('re-INVITE', ms, () =>
      this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.reinvite()),
    );
  }

  callState(): Promise<CallState> {
    return this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.callState());
  }

  /** Every state the current call went through. */
  callStates(): Promise<CallState[]> {
    return this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.callStates());
  }

  transportState(): Promise<TransportState> {
    return this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.transportState());
  }

  /** Transport connections after the first (SIP.js reconnections). */
  reconnects(): Promise<number> {
    return this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.reconnects());
  }

  /** SIP messages the page received (dir 'in') and sent ('out'), oldest first. */
  async messagesSeen(dir?: 'in' | 'out'): Promise<SeenMessage[]> {
    const all = await this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.messages());
    return dir ? all.filter((m) => m.dir === dir) : all;
  }

  /** Stops SIP.js, closes the browser and removes the temp dir; never throws. */
  async close(): Promise<void> {
    await Promise.race([
      this.page.evaluate(() => (globalThis as unknown as PageWindow).phone.stop()).catch(() => undefined),
      new Promise((r) => setTimeout(r, 2_000)),
    ]);
    await Promise.race([
      this.context.close().catch(() => undefined),
      new Promise((r) => setTimeout(r, 10_000)),
    ]);
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

// The page-side API, for typing the evaluate callbacks.
interface PagePhone {
  start(o: Record<string, unknown>): Promise<void>;
  register(): Promise<unknown>;
  unregister(): Promise<void>;
  registrationState(): RegistrationState;
  regError(): string | undefined;
  call(target: string): Promise<void>;
  incoming(): number;
  answer(): Promise<void>;
  bye(): Promise<void>;
  reinvite(): Promise<number>;
  callState(): CallState;
  callStates(): CallState[];
  transportState(): TransportState;
  reconnects(): number;
  messages(): SeenMessage[];
  logs(n: number): string[];
  stop(): Promise<void>;
}
interface PageWindow {
  phone: PagePhone;
}
