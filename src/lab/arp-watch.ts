// Who answers ARP for the VIP, seen from a client's namespace: the chaos run's view of the single-owner
// invariant. `ip addr` in the pair's hosts says what each node *thinks* it holds; what a split brain costs
// clients is two hosts *answering* for the address, and a frozen or crashed host's kernel keeps answering for
// an address its stopped node cannot remove. So the watcher asks the network, as a client's kernel does.
//
// A perl process (perl-base is Essential on Debian, and Node has no packet sockets) on the client's NIC sends a
// who-has request for the VIP every INTERVAL ms from the client's own MAC and IP, and reads every ARP packet on
// the NIC. Each interval ends with one line, the MACs that answered in it:
//   W <monoMs> <mac,mac|->      replies (op 2) with sender IP = VIP received in the interval that started at monoMs
//   G <monoMs> <mac>            an announcement (gratuitous ARP: op 1, sender IP = target IP = VIP)
// Times are CLOCK_MONOTONIC in ms, the clock process.hrtime.bigint() reads, so they compare with the runner's.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Lab } from './lab.js';
import type { LabHostName } from './topology.js';

export const ARP_WATCH_SCRIPT = `use strict; use warnings;
use Socket qw(SOCK_DGRAM inet_aton);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);
my ($if, $me, $vip, $interval) = @ARGV;
die "usage: IF MY_IPV4 VIP INTERVAL_MS\\n" unless defined $interval;
sub slurp { my ($f) = @_; open(my $h, '<', $f) or die "$f: $!\\n"; my $l = <$h>; chomp $l; return $l; }
my $ifindex = slurp("/sys/class/net/$if/ifindex") + 0;
my $mac = pack('H12', slurp("/sys/class/net/$if/address") =~ s/://gr);
my $vipn = inet_aton($vip) // die "bad IPv4 address $vip\\n";
my $men = inet_aton($me) // die "bad IPv4 address $me\\n";
# ETH_P_ARP in network order is 0x0608 read as a little-endian short.
socket(my $s, 17, SOCK_DGRAM, 0x0608) or die "AF_PACKET socket: $!\\n";
bind($s, pack('SniSCCa8', 17, 0x0806, $ifindex, 0, 0, 0, '')) or die "bind $if: $!\\n";
my $req = pack('nnCCn', 1, 0x0800, 6, 4, 1) . $mac . $men . ("\\0" x 6) . $vipn;
my $to = pack('SniSCCa8', 17, 0x0806, $ifindex, 0, 0, 6, "\\xff" x 6);
my $ms = sub { clock_gettime(CLOCK_MONOTONIC) * 1000 };
$| = 1;
print "ready\\n";
my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
my $next = $ms->();
while (!$stop) {
  my $start = $ms->();
  # After a stall (the watcher's own, on a busy machine) start again from now rather than catch up.
  $next = $start if $start - $next > 2 * $interval;
  send($s, $req, 0, $to);
  my %seen;
  my $end = $next + $interval;
  while (1) {
    my $left = $end - $ms->();
    last if $left <= 0;
    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    last if $stop;
    next unless select(my $rout = $rin, undef, undef, $left / 1000) > 0;
    defined(recv($s, my $p, 64, 0)) or next;
    next if length($p) < 28;
    my ($op, $sha, $spa, $tpa) = (unpack('n', substr($p, 6, 2)), substr($p, 8, 6), substr($p, 14, 4), substr($p, 24, 4));
    next unless $spa eq $vipn;
    my $hex = join(':', unpack('(H2)6', $sha));
    if ($op == 2) { $seen{$hex} = 1; }
    elsif ($op == 1 && $tpa eq $vipn) { printf "G %.3f %s\\n", $ms->(), $hex; }
  }
  printf "W %.3f %s\\n", $start, (%seen ? join(',', sort keys %seen) : '-');
  $next = $end;
}
`;

export interface ArpWindow {
  /** CLOCK_MONOTONIC ms when the window's request left. */
  t: number;
  /** MACs (lower case, colon-separated) that answered in the window. */
  macs: string[];
}

export interface ArpAnnouncement {
  t: number;
  mac: string;
}

/** One line of the watcher's output; undefined for anything else (a stray line never stops the run). */
export function parseArpLine(line: string): ArpWindow | ArpAnnouncement | undefined {
  const m = /^([WG]) (\d+(?:\.\d+)?) (\S+)$/.exec(line.trim());
  if (m === null) return undefined;
  const t = Number(m[2]);
  const what = m[3] as string;
  if (m[1] === 'G') return { t, mac: what };
  return { t, macs: what === '-' ? [] : what.split(',') };
}

export function arpWatchArgv(iface: string, myIpv4: string, vip: string, intervalMs: number): string[] {
  return ['perl', '-e', ARP_WATCH_SCRIPT, '--', iface, myIpv4, vip, String(intervalMs)];
}

/** The watcher running in one of the lab's hosts (the client's, c, by default), collecting its lines. */
export class ArpWatch {
  readonly windows: ArpWindow[] = [];
  readonly announcements: ArpAnnouncement[] = [];
  private readonly exited: Promise<void>;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', () => r()));
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
  }

  static async start(lab: Lab, o: { host?: LabHostName; intervalMs?: number } = {}): Promise<ArpWatch> {
    const host = o.host ?? 'c';
    const nic = lab.nic(host);
    const child = lab.spawn(
      host,
      arpWatchArgv(nic.ifname, nic.ipv4, lab.topology.vip.ipv4, o.intervalMs ?? 10),
    );
    const w = new ArpWatch(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ARP watcher did not start: ${w.stderr}`)), 5000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`ARP watcher exited (${code}): ${w.stderr}`));
      });
      // (Once resolved, a later reject is a no-op: the exit after stop() is not an error.)
      if (!child.stdout) return;
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'ready') {
          clearTimeout(timer);
          resolve();
          return;
        }
        const x = parseArpLine(line);
        if (x === undefined) return;
        if ('macs' in x) w.windows.push(x);
        else w.announcements.push(x);
      });
    });
    return w;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
