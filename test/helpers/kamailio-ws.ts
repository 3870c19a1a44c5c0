// A minimal Kamailio (5.6, Debian's kamailio + kamailio-websocket-modules) registrar/proxy with a SIP over
// WebSocket (RFC 7118) listener, as a reference server for the browser phone: the same test can be pointed at
// it and at sipha. Only plain ws (no TLS), no authentication; contacts of WebSocket clients (whose hosts are
// .invalid) are reached through nathelper's received/alias parameters.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KamailioWs {
  /** ws://host:port of the WebSocket listener. */
  wsUrl: string;
  domain: string;
  log: () => string;
  stop(): Promise<void>;
}

export interface KamailioWsOptions {
  host?: string;
  udpPort: number;
  wsPort: number;
  domain?: string;
  /** Runs kamailio inside, e.g. ['ip', 'netns', 'exec', NS]. */
  wrap?: readonly string[];
}

function config(host: string, udpPort: number, wsPort: number, domain: string): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=2
auto_aliases=no
alias="${domain}"
listen=udp:${host}:${udpPort}
listen=tcp:${host}:${wsPort}
tcp_accept_no_cl=yes
tcp_connection_lifetime=3605

loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "nathelper.so"
loadmodule "xhttp.so"
loadmodule "websocket.so"

modparam("usrloc", "db_mode", 0)
modparam("registrar", "received_avp", "$avp(RECEIVED)")
modparam("nathelper", "received_avp", "$avp(RECEIVED)")
modparam("websocket", "keepalive_mechanism", 0)

event_route[xhttp:request] {
  set_reply_close();
  set_reply_no_connect();
  if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
    if (ws_handle_handshake()) exit;
  }
  xhttp_reply("404", "Not Found", "", "");
}

request_route {
  if (!mf_process_maxfwd_header("10")) {
    sl_send_reply("483", "Too Many Hops");
    exit;
  }
  if (nat_uac_test("64")) {
    force_rport();
    if (is_method("REGISTER")) {
      fix_nated_register();
    } else if (!add_contact_alias()) {
      sl_send_reply("400", "Bad Contact");
      exit;
    }
  }
  if (has_totag()) {
    if (loose_route()) {
      handle_ruri_alias();
      t_relay();
      exit;
    }
    if (is_method("ACK")) {
      if (t_check_trans()) t_relay();
      exit;
    }
    handle_ruri_alias();
    t_relay();
    exit;
  }
  if (is_method("CANCEL")) {
    if (t_check_trans()) t_relay();
    exit;
  }
  t_check_trans();
  if (is_method("REGISTER")) {
    save("location");
    exit;
  }
  record_route();
  if (!lookup("location")) {
    sl_send_reply("404", "Not Found");
    exit;
  }
  t_relay();
}

onreply_route {
  if (nat_uac_test("64")) add_contact_alias();
}
`;
}

export async function startKamailioWs(o: KamailioWsOptions): Promise<KamailioWs> {
  const host = o.host ?? '127.0.0.1';
  const domain = o.domain ?? 'example.test';
  const dir = mkdtempSync(join(tmpdir(), 'sipha-kamailio-'));
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, config(host, o.udpPort, o.wsPort, domain));
  const argv = ['kamailio', '-f', cfg, '-DD', '-E', '-m', '256', '-M', '32', '-Y', dir];
  const [cmd, ...args] = [...(o.wrap ?? []), ...argv] as [string, ...string[]];
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`kamailio did not start:\n${log}`)), 10_000);
      const check = (): void => {
        if (/tcp_main|INFO: .*(ws|websocket)|init_tcp|main_loop/i.test(log) && /listening on/i.test(log)) {
          clearTimeout(deadline);
          resolve();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(deadline);
          reject(new Error(`kamailio exited with ${child.exitCode ?? child.signalCode}:\n${log}`));
        } else setTimeout(check, 50);
      };
      check();
    });
  } catch (err) {
    await stop();
    throw err;
  }
  // Listening sockets are bound before the workers fork; give them a moment to start.
  await new Promise((r) => setTimeout(r, 300));
  return { wsUrl: `ws://${host}:${o.wsPort}`, domain, log: () => log, stop };
}
