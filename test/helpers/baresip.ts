// A baresip (Debian's baresip 1.0) phone driven from a test: headless, with a sine tone as its microphone and
// /dev/null as its speaker, commands sent to its UDP console (the `cons` module), and its output watched.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';

export interface BaresipOptions {
  /** Where its config lives (created). */
  home: string;
  user: string;
  password?: string;
  /** The proxy: ADDRESS:PORT, and the transport to reach it (and register) with. */
  proxy: string;
  transport: 'udp' | 'tcp' | 'tls';
  /** TLS: a PEM file with baresip's certificate and key (libre's TLS transport needs one), and the CAs it trusts. */
  tls?: { certAndKey: string; ca: string };
  /** Answer calls at once (`auto`) or on `/accept` (`manual`). */
  answer?: 'auto' | 'manual';
  /** Run inside a lab host: the argv prefix (`ip netns exec NS`), its address and the ports to use there. */
  host?: { wrap: readonly string[]; address: string; sipPort: number; consPort: number };
}

export class Baresip {
  private out = '';
  private exited = false;
  private constructor(
    private readonly child: ChildProcess,
    private readonly cons: { address: string; port: number; wrap: readonly string[] },
    readonly user: string,
  ) {
    const take = (d: Buffer) => {
      // Its status line redraws with carriage returns and pads with NULs.
      this.out += d.toString('latin1').replace(/\0/g, '').replace(/\r/g, '\n');
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.once('exit', () => {
      this.exited = true;
    });
  }

  static async start(o: BaresipOptions): Promise<Baresip> {
    // baresip listens on its SIP port and the next one (TLS): both must be free.
    let sip = o.host?.sipPort ?? (await freePort());
    while (sip >= 65_000) sip = await freePort();
    const address = o.host?.address ?? '127.0.0.1';
    const cons = { address, port: o.host?.consPort ?? (await freePort()), wrap: o.host?.wrap ?? [] };
    mkdirSync(o.home, { recursive: true });
    const config = [
      ['poll_method', 'epoll'],
      ['sip_listen', `${address}:${sip}`],
      ['module_path', '/usr/lib/baresip/modules'],
      ['module', 'g711.so'],
      ['module', 'ausine.so'],
      ['module', 'aufile.so'],
      ['module', 'cons.so'],
      ['module_app', 'account.so'],
      ['module_app', 'menu.so'],
      ['cons_listen', `${address}:${cons.port}`],
      ['audio_player', 'aufile,/dev/null'],
      ['audio_alert', 'aufile,/dev/null'],
      ['audio_source', 'ausine,440'],
      // ausine plays 48 kHz stereo only.
      ['ausrc_srate', '48000'],
      ['auplay_srate', '48000'],
      ['ausrc_channels', '2'],
      ['auplay_channels', '2'],
      ...(o.tls === undefined
        ? []
        : [
            ['sip_certificate', o.tls.certAndKey],
            ['sip_cafile', o.tls.ca],
          ]),
    ];
    writeFileSync(join(o.home, 'config'), `${config.map(([k, v]) => `${k}\t${v}`).join('\n')}\n`);
    const params = [
      `outbound="sip:${o.proxy};transport=${o.transport}"`,
      'regint=60',
      ...(o.password === undefined ? [] : [`auth_pass=${o.password}`]),
      ...(o.answer === 'auto' ? ['answermode=auto'] : []),
    ];
    writeFileSync(
      join(o.home, 'accounts'),
      `<sip:${o.user}@example.test;transport=${o.transport}>;${params.join(';')}\n`,
    );
    const argv = [...cons.wrap, 'baresip', '-f', o.home];
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const phone = new Baresip(child, cons, o.user);
    await phone.waitFor(/200 OK \(\) \[1 binding\]/, 10_000, `${o.user} registers`);
    return phone;
  }

  get output(): string {
    return this.out;
  }

  /** A command for its console, e.g. `/dial sip:bob@example.test`, `/accept`, `/hold`, `/hangup`. */
  command(text: string): Promise<void> {
    const { address, port, wrap } = this.cons;
    if (wrap.length > 0) {
      // Inside a lab host: its console is reachable only from there.
      const script = `const s=require('node:dgram').createSocket('udp4');s.send(process.argv[1],${port},'${address}',()=>s.close())`;
      const argv = [...wrap, process.execPath, '-e', script, `${text}\n`];
      return new Promise((resolve) => spawn(argv[0] as string, argv.slice(1)).once('exit', () => resolve()));
    }
    const s = createSocket('udp4');
    return new Promise((resolve) =>
      s.send(`${text}\n`, port, address, () => {
        s.close();
        resolve();
      }),
    );
  }

  /** Waits until its output matches `re` (counting from `from` characters in), or throws with the output. */
  async waitFor(re: RegExp, timeoutMs = 5000, what = re.source, from = 0): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.out.slice(from).search(re);
      if (at !== -1) return from + at;
      if (this.exited || Date.now() > deadline)
        throw new Error(
          `${this.user}: ${what}: not seen in\n${this.out.split('\n').filter(useful).join('\n')}`,
        );
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    await this.command('/quit');
    for (let i = 0; i < 40 && !this.exited; i++) await sleep(50);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** The lines worth showing when something went wrong (not the audio meter). */
function useful(line: string): boolean {
  return line.trim() !== '' && !/audio=\d+\/\d+/.test(line) && !line.startsWith('/');
}
