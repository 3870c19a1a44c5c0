// A client transaction and a server transaction talking over real UDP sockets on 127.0.0.1, each with its own
// TransactionLayer on the real clock. The transport is a minimal MessageSender of this test's own.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, describe, it } from 'node:test';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { serializeMessage } from '../../../src/sip/serializer.js';
import { newBranch } from '../../../src/sip/transaction/branch.js';
import { TransactionLayer } from '../../../src/sip/transaction/transaction-layer.js';
import type {
  ClientTransactionUser,
  ServerTransaction,
  TransactionCore,
} from '../../../src/sip/transaction/user.js';
import type {
  Endpoint,
  MessageSender,
  SendErrorHandler,
  SentResponse,
  Source,
} from '../../../src/sip/transport/types.js';
import { makeRequest, makeResponse } from './helpers.js';

class UdpSender implements MessageSender {
  constructor(private readonly socket: dgram.Socket) {}
  sendRequest(request: SipRequest, to: Endpoint, onError?: SendErrorHandler): void {
    this.socket.send(serializeMessage(request), to.port, to.address, (e) => e && onError?.(e));
  }
  sendResponse(response: SipResponse, source: Source, onError?: SendErrorHandler): SentResponse {
    const sent = { status: response.status, bytes: serializeMessage(response), target: source };
    this.resendResponse(sent, source, onError);
    return sent;
  }
  resendResponse(sent: SentResponse, source: Source, onError?: SendErrorHandler): void {
    this.socket.send(sent.bytes, source.port, source.address, (e) => e && onError?.(e));
  }
}

interface Peer {
  socket: dgram.Socket;
  layer: TransactionLayer;
  port: number;
}

/** Fast timers so the test runs in about a second: T1 20 ms (so J = 1.28 s), T4 50 ms, D 100 ms. */
const TIMERS = { t1: 20, t2: 80, t4: 50, d: 100 };

/** A core that answers each new request it is handed through `onRequest`. */
function core(onRequest: (tx: ServerTransaction) => void): TransactionCore {
  return { onRequest, onCancel: onRequest, onAck: () => {}, onStrayResponse: () => {} };
}

async function peer(onRequest: (tx: ServerTransaction) => void = () => {}): Promise<Peer> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const layer = new TransactionLayer({
    sender: new UdpSender(socket),
    timers: TIMERS,
    core: core(onRequest),
  });
  const port = socket.address().port;
  socket.on('message', (buf, rinfo) => {
    const parsed = parseMessage(buf);
    if (!parsed.ok) return;
    const source: Source = {
      transport: 'udp',
      address: rinfo.address,
      port: rinfo.port,
      localAddress: '127.0.0.1',
      localPort: port,
    };
    if (parsed.message.kind === 'response') layer.receiveResponse(parsed.message, source);
    else layer.receiveRequest(parsed.message, source);
  });
  return { socket, layer, port };
}

function clientTU(): ClientTransactionUser & { statuses: number[]; done: Promise<void> } {
  let resolve = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  const statuses: number[] = [];
  return {
    statuses,
    done,
    onResponse: (response) => statuses.push(response.status),
    onTimeout: () => assert.fail('client transaction timed out'),
    onTransportError: (error) => assert.fail(error),
    onTerminated: () => resolve(),
  };
}

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('transactions over UDP on loopback', () => {
  const peers: Peer[] = [];
  after(() => {
    for (const p of peers) {
      p.layer.close();
      p.socket.close();
    }
  });

  it('absorbs a real retransmission and completes a non-INVITE and an INVITE (486 + ACK) transaction', async () => {
    const serverTransactions: ServerTransaction[] = [];
    // The server's TU answers after 70 ms, so the client's timer E (20, 60 ms) retransmits meanwhile.
    const server = await peer((tx) => {
      const request = tx.request;
      serverTransactions.push(tx);
      const status = request.method === 'INVITE' ? 486 : 200;
      setTimeout(
        () => tx.respond(makeResponse(request, status, status === 200 ? 'OK' : 'Busy Here', 'uas')),
        70,
      );
    });
    const client = await peer();
    peers.push(server, client);
    const to: Endpoint = { transport: 'udp', address: '127.0.0.1', port: server.port };
    const sentBy = `127.0.0.1:${client.port}`;

    const optionsTU = clientTU();
    const options = makeRequest({ method: 'OPTIONS', branch: newBranch(), sentBy, callId: 'loop-1' });
    client.layer.createClientTransaction(options, to, optionsTU);
    await optionsTU.done; // Timer K (T4) after the 200
    assert.deepEqual(optionsTU.statuses, [200]);
    assert.ok(client.layer.stats.requestsRetransmitted >= 1, 'the client retransmitted');
    assert.ok(server.layer.stats.retransmissionsAbsorbed >= 1, 'the server absorbed it');
    assert.equal(serverTransactions.length, 1, 'one server transaction for all copies');

    const inviteTU = clientTU();
    const invite = makeRequest({ method: 'INVITE', branch: newBranch(), sentBy, callId: 'loop-2' });
    client.layer.createClientTransaction(invite, to, inviteTU);
    await inviteTU.done; // Timer D after the ACK
    assert.deepEqual(inviteTU.statuses, [100, 486]);
    const inviteTx = serverTransactions[1];
    assert.equal(inviteTx?.kind, 'server-invite');
    // The client's ACK crossed the loopback and confirmed the server transaction; Timer I then ends it.
    await waitFor(() => inviteTx?.state === 'Terminated');
    assert.equal(server.layer.stats.timeouts, 0, 'the ACK arrived before timer H');

    await waitFor(() => server.layer.size === 0 && client.layer.size === 0); // Timer J of the OPTIONS
    assert.equal(serverTransactions.length, 2);
  });
});
