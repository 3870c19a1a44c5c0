// Our own sender for announcements, run as `perl -e`: perl-base is Essential on Debian, so it is always there,
// and neither a one-shot `arping -U` (lingers 1 s per packet) nor a Debian `ndsend` (there is none) fits.
// arp: gratuitous ARP *requests* (sender IP = target IP = VIP, RFC 5227 announcement form), broadcast.
// na:  unsolicited Neighbour Advertisements to ff02::1 with the Override flag and our link-layer address,
//      hop limit 255 as RFC 4861 requires; the kernel fills in the ICMPv6 checksum for raw ICMPv6 sockets.
// Two forms: one burst (COUNT INTERVAL_MS as arguments), or primed (COUNT is "serve"): the socket is opened at
// start, "ready" is printed, then every stdin line "COUNT INTERVAL_MS" sends a burst and prints "done COUNT",
// so the first announcement of a takeover leaves without waiting for a perl start.

export const ANNOUNCE_SCRIPT = `use strict; use warnings;
use Socket qw(AF_INET6 SOCK_RAW SOCK_DGRAM inet_pton inet_aton pack_sockaddr_in6);
use Time::HiRes qw(usleep);
my ($kind, $if, $vip, $count, $interval) = @ARGV;
die "usage: arp|na IF VIP COUNT INTERVAL_MS | arp|na IF VIP serve\\n"
  unless defined $count && $kind =~ /^(arp|na)$/ && ($count eq 'serve' || defined $interval);
sub slurp { my ($f) = @_; open(my $h, '<', $f) or die "$f: $!\\n"; my $l = <$h>; chomp $l; return $l; }
my $ifindex = slurp("/sys/class/net/$if/ifindex") + 0;
my $mac = pack('H12', slurp("/sys/class/net/$if/address") =~ s/://gr);
my ($sock, $pkt, $to);
if ($kind eq 'arp') {
  my $ip = inet_aton($vip) // die "bad IPv4 address $vip\\n";
  socket($sock, 17, SOCK_DGRAM, 0x0608) or die "AF_PACKET socket: $!\\n";
  $pkt = pack('nnCCn', 1, 0x0800, 6, 4, 1) . $mac . $ip . ("\\0" x 6) . $ip;
  $to = pack('SniSCCa8', 17, 0x0806, $ifindex, 0, 0, 6, "\\xff" x 6);
} else {
  my $ip = inet_pton(AF_INET6, $vip) // die "bad IPv6 address $vip\\n";
  socket($sock, AF_INET6, SOCK_RAW, 58) or die "ICMPv6 socket: $!\\n";
  setsockopt($sock, 41, 18, pack('i', 255)) or die "IPV6_MULTICAST_HOPS: $!\\n";
  setsockopt($sock, 41, 17, pack('i', $ifindex)) or die "IPV6_MULTICAST_IF: $!\\n";
  # IPV6_FREEBIND: a primed sender binds before the VIP is on the host.
  setsockopt($sock, 41, 78, pack('i', 1)) or die "IPV6_FREEBIND: $!\\n";
  bind($sock, pack_sockaddr_in6(0, $ip)) or die "bind $vip: $!\\n";
  $pkt = pack('CCnN', 136, 0, 0, 0x20000000) . $ip . pack('CC', 2, 1) . $mac;
  $to = pack_sockaddr_in6(0, inet_pton(AF_INET6, 'ff02::1'), $ifindex);
}
sub burst {
  my ($n, $ms) = @_;
  for my $i (1 .. $n) {
    defined(send($sock, $pkt, 0, $to)) or die "send: $!\\n";
    usleep($ms * 1000) if $i < $n;
  }
}
if ($count ne 'serve') { burst($count, $interval); exit 0; }
$| = 1;
print "ready\\n";
while (my $line = <STDIN>) {
  my ($n, $ms) = $line =~ /^(\\d+) (\\d+)$/ or die "bad request: $line";
  burst($n, $ms);
  print "done $n\\n";
}
`;

/** argv for the primed sender: reads "COUNT INTERVAL_MS" lines, answers "done COUNT" after each burst. */
export function announceServeArgv(kind: 'arp' | 'na', iface: string, ip: string): string[] {
  return ['perl', '-e', ANNOUNCE_SCRIPT, '--', kind, iface, ip, 'serve'];
}

/** argv for one burst from the built-in sender. */
export function announceArgv(
  kind: 'arp' | 'na',
  iface: string,
  ip: string,
  count: number,
  intervalMs: number,
): string[] {
  return ['perl', '-e', ANNOUNCE_SCRIPT, '--', kind, iface, ip, String(count), String(intervalMs)];
}
