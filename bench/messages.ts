// Typical messages for the parser benchmark and tests: what a softphone sends through a proxy.
export const TYPICAL_INVITE = [
  'INVITE sip:bob@example.test SIP/2.0',
  'Via: SIP/2.0/UDP 198.51.100.100:5060;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@example.test>',
  'From: Alice <sip:alice@example.test>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.example.test',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@198.51.100.100:5060>',
  'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY',
  'Supported: replaces, timer',
  'User-Agent: sipha-bench/1.0',
  'Content-Type: application/sdp',
  'Content-Length: 142',
  '',
  'v=0\r\no=alice 2890844526 2890844526 IN IP4 198.51.100.100\r\ns=-\r\nc=IN IP4 198.51.100.100\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n',
].join('\r\n');

export const TYPICAL_REGISTER = [
  'REGISTER sip:example.test SIP/2.0',
  'Via: SIP/2.0/UDP 198.51.100.100:5060;branch=z9hG4bKnashds7;rport',
  'Max-Forwards: 70',
  'To: Alice <sip:alice@example.test>',
  'From: Alice <sip:alice@example.test>;tag=456248',
  'Call-ID: 843817637684230@998sdasdh09',
  'CSeq: 1826 REGISTER',
  'Contact: <sip:alice@198.51.100.100:5060>;expires=3600',
  'User-Agent: sipha-bench/1.0',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');
