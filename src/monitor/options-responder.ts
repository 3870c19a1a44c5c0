// The other end of the peer probe: answers OPTIONS with 200 on this node's unique SIP address, so that the peer
// can check the SIP path between the two hosts through the SIP network (the SIP worker listens on the VIP only,
// and must not serve real traffic on the unique address). Everything else is dropped.
import { createSocket, type Socket } from 'node:dgram';
import { udpType } from '../net/address.js';
import { createResponse } from '../sip/build.js';
import { parseMessage } from '../sip/parser.js';
import { serializeMessage } from '../sip/serializer.js';

export class OptionsResponder {
  private socket: Socket | undefined;
  answered = 0;

  constructor(
    private readonly address: string,
    private readonly port: number,
  ) {}

  start(): Promise<void> {
    const s = createSocket({ type: udpType(this.address), reuseAddr: false });
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.port, this.address, () => {
        s.removeListener('error', reject);
        s.on('error', () => {});
        s.on('message', (buf, rinfo) => {
          const r = parseMessage(buf);
          if (!r.ok || r.message.kind !== 'request' || r.message.method !== 'OPTIONS') return;
          const res = createResponse(r.message, 200);
          res.headers.append('Allow', 'OPTIONS');
          // To the source (RFC 3581 style): the probe's own socket.
          s.send(serializeMessage(res), rinfo.port, rinfo.address);
          this.answered++;
        });
        this.socket = s;
        resolve();
      });
    });
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
