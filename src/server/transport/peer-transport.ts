/**
 * Persistent TCP links between region nodes. Each node listens for its peers' inbound links and
 * keeps one outbound link to every peer; it sends on its outbound links and receives on inbound
 * ones. A link starts with a handshake naming the cluster and the node: a peer of another cluster
 * (or an unknown region) is refused and logged. Outbound links reconnect with jittered
 * exponential backoff. Each peer's send queue is bounded in bytes: when full, new messages are
 * dropped and counted (replication resends what a peer misses), so a slow peer cannot make this
 * node run out of memory.
 *
 * One peer per region: at most one inbound link per peer region is welcomed at a time, and nothing
 * a socket sends is delivered before its handshake completed. A hello naming a region whose link
 * is live is refused and logged: otherwise a second socket claiming that region (an impostor, or
 * a misconfigured node) would have its messages taken as the region's, forged clock probes and
 * liveness included. The old link gives way to the new one only when it is provably dead, which
 * we define as nothing received on it for longer than `inboundSilenceMsMax`: a live peer sends
 * clock probes every 500 ms and replication syncs more often, so a live link is never silent that
 * long, while a half-open socket left by a lost machine (no FIN ever comes) is. The real peer
 * whose reconnect is refused while its old link still looks live retries with backoff, and gets
 * in once the old link has been silent long enough (or has closed: a closed link frees its slot).
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import type { RegionId } from '../../core/clock/version-vector.js';
import { controlMessageProblem, type ControlMessage, type NodeMessage } from '../../core/node/messages.js';
import type { PeerMessage } from '../../core/replica/messages.js';
import type { HostPort } from '../config.js';
import { peerMessageProblem } from '../../core/replica/peer-message.js';
import { strongMessageProblem, type StrongPeerMessage } from '../../core/strong/messages.js';
import { encodeFrame, frameBytesMax, FrameReader } from './frames.js';
import { nodeLimits } from '../limits.js';
import { plainSockets, type PeerIdentity, type PeerSockets } from './sockets.js';

const { helloBytesMax, handshakeMs, inboundSilenceMsMax } = nodeLimits;
/** How often the transport notes that its process runs (a stall shows as a gap since the last note). */
const awakeTickMs = 100;

/** 2: strong-group frames; 3: the region core's clock probes. Peers of another version are refused at the handshake. */
export const protocolVersion = 3;

type Hello = { t: 'hello'; cluster: string; region: RegionId; node: string; protocol: number };
type Welcome = { t: 'welcome'; region: RegionId };
type Refused = { t: 'refused'; reason: string };
/** Replication messages of async tables, the strong group's (Raft and forwarding), and the region core's clock probes. */
type Wire = { t: 'msg'; m: PeerMessage } | { t: 'strong'; m: StrongPeerMessage } | { t: 'node'; m: ControlMessage };

export interface TransportOptions {
  readonly cluster: string;
  readonly region: RegionId;
  readonly node: string;
  readonly listen: HostPort;
  /** Where to connect to reach each peer region (directly, or through the WAN emulator). */
  readonly peers: ReadonlyMap<RegionId, HostPort>;
  /** The node id the configuration gives each peer region: under TLS, the one its certificate must name. */
  readonly peerNodes?: ReadonlyMap<RegionId, string>;
  /** Plain TCP (the default) or mutual TLS (sockets.ts). */
  readonly sockets?: PeerSockets;
  readonly log: Logger;
  readonly onMessage: (from: RegionId, message: NodeMessage) => void;
  readonly sendQueueBytesMax?: number;
  /** Connections to the peer port at once, and how long a welcomed link may be silent (nodeLimits; tests set small ones). */
  readonly peerConnectionsMax?: number;
  readonly inboundIdleMsMax?: number;
  readonly backoffMsMin?: number;
  readonly backoffMsMax?: number;
}

export interface PeerLinkStats {
  connected: boolean;
  framesSent: number;
  framesDropped: number;
  framesReceived: number;
  queuedBytes: number;
  refusals: number;
}

/** A peer's link to us; `region` is set once its hello was welcomed. */
class InboundLink {
  region: RegionId | null = null;
  /** On the monotonic clock: a step of the wall clock must not make a live link look silent. */
  lastReceivedMs = performance.now();

  /** `identity`: what its certificate names (mutual TLS), null over plain TCP. */
  constructor(readonly socket: net.Socket, readonly identity: PeerIdentity | null) {}

  get address(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  silentMs(): number {
    return performance.now() - this.lastReceivedMs;
  }
}

class OutboundLink {
  socket: net.Socket | null = null;
  ready = false;
  queue: Buffer[] = [];
  queuedBytes = 0;
  writable = true;
  backoffMs: number;
  timer: NodeJS.Timeout | null = null;
  readonly stats: PeerLinkStats = { connected: false, framesSent: 0, framesDropped: 0, framesReceived: 0, queuedBytes: 0, refusals: 0 };

  constructor(readonly region: RegionId, readonly address: HostPort, backoffMs: number) {
    this.backoffMs = backoffMs;
  }
}

export class PeerTransport {
  readonly #o: Required<Omit<TransportOptions, 'peers' | 'log' | 'onMessage' | 'peerNodes'>> & Pick<TransportOptions, 'peers' | 'log' | 'onMessage' | 'peerNodes'>;
  readonly #links = new Map<RegionId, OutboundLink>();
  readonly #inbound = new Set<net.Socket>();
  /** The welcomed inbound link of each peer region: one at most. */
  readonly #inboundFrom = new Map<RegionId, InboundLink>();
  readonly #received = new Map<RegionId, number>();
  #server: net.Server | null = null;
  #stopped = false;
  refusedInbound = 0;
  badMessages = 0;
  /** When this process last ran its awake tick, and the tick's timer. */
  #awakeMs = performance.now();
  #awakeTimer: NodeJS.Timeout | null = null;

  constructor(options: TransportOptions) {
    this.#o = { sendQueueBytesMax: nodeLimits.sendQueueBytesMax, peerConnectionsMax: nodeLimits.peerConnectionsMax, inboundIdleMsMax: nodeLimits.inboundIdleMsMax, backoffMsMin: nodeLimits.backoffMsMin, backoffMsMax: nodeLimits.backoffMsMax, sockets: plainSockets, ...options };
    for (const [region, address] of options.peers) this.#links.set(region, new OutboundLink(region, address, this.#o.backoffMsMin));
  }

  async start(): Promise<void> {
    // Marks when this process last ran (see #claim): a stall of its own must not make a live link look dead.
    this.#awakeTimer = setInterval(() => {
      // Before the mark moves: silence is counted up to the last tick, so after a stall of this
      // process the links get a tick to have their waiting frames read.
      this.#closeIdle();
      this.#awakeMs = performance.now();
    }, awakeTickMs);
    this.#awakeTimer.unref();
    const server = this.#o.sockets.createServer((socket, identity) => this.#accept(socket, identity));
    server.maxConnections = this.#o.peerConnectionsMax;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.listen.port, this.#o.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    for (const link of this.#links.values()) this.#connect(link);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#awakeTimer !== null) clearInterval(this.#awakeTimer);
    for (const link of this.#links.values()) {
      if (link.timer !== null) clearTimeout(link.timer);
      link.socket?.destroy();
    }
    for (const s of this.#inbound) s.destroy();
    await new Promise<void>((resolve) => (this.#server === null ? resolve() : this.#server.close(() => resolve())));
  }

  /**
   * Queues a message for a peer; false if it was dropped because the peer's queue is full (each
   * channel tolerates that: replication resends, Raft retries, probes are repeated).
   */
  send(to: RegionId, message: NodeMessage): boolean {
    const wire: Wire = message.ch === 'async' ? { t: 'msg', m: message.m } : message.ch === 'strong' ? { t: 'strong', m: message.m } : { t: 'node', m: message.m };
    const frame = encodeFrame(wire);
    // Every message goes as one frame. Ops batches are cut once, in the core, within a budget that
    // encodes far below a frame (src/core/replica/ops-batches.ts says why); this transport used to
    // cut them again in halves, and no longer does. A frame the peer could not take (past
    // frameBytesMax its reader drops the link) would be a bug upstream: it is refused here, counted
    // as dropped and logged, and the link stays up.
    if (frame.length - 4 > frameBytesMax) {
      const link = this.#links.get(to);
      if (link !== undefined) link.stats.framesDropped++;
      this.#o.log.error({ peer: to, channel: message.ch, kind: message.m.t, frameBytes: frame.length - 4, frameBytesMax }, 'a peer message is larger than a frame; it was dropped (a bug: the core sizes its messages below the frame limit)');
      return false;
    }
    return this.#enqueue(to, [frame]);
  }

  #enqueue(to: RegionId, frames: readonly Buffer[]): boolean {
    const link = this.#links.get(to);
    if (link === undefined) return false;
    for (const frame of frames) {
      // An empty queue always takes one frame, so no message is too big ever to be sent.
      if (link.queue.length > 0 && link.queuedBytes + frame.length > this.#o.sendQueueBytesMax) {
        link.stats.framesDropped++;
        return false;
      }
      link.queue.push(frame);
      link.queuedBytes += frame.length;
    }
    this.#flush(link);
    return true;
  }

  /** New certificates for links made from now on (SIGHUP); throws, keeping the old ones, if they do not load. */
  reloadTls(material: Parameters<PeerSockets['reload']>[0]): void {
    this.#o.sockets.reload(material);
  }

  stats(): Record<RegionId, PeerLinkStats> {
    const out: Record<RegionId, PeerLinkStats> = {};
    for (const [region, link] of this.#links) {
      out[region] = { ...link.stats, connected: link.ready, queuedBytes: link.queuedBytes, framesReceived: this.#received.get(region) ?? 0 };
    }
    return out;
  }

  #flush(link: OutboundLink): void {
    const socket = link.socket;
    if (!link.ready || socket === null || !link.writable) return;
    while (link.queue.length > 0 && link.writable) {
      const frame = link.queue.shift() as Buffer;
      link.queuedBytes -= frame.length;
      link.stats.framesSent++;
      link.writable = socket.write(frame);
    }
  }

  #connect(link: OutboundLink): void {
    if (this.#stopped) return;
    const socket = this.#o.sockets.connect(
      link.address,
      link.region,
      () => socket.write(encodeFrame({ t: 'hello', cluster: this.#o.cluster, region: this.#o.region, node: this.#o.node, protocol: protocolVersion } satisfies Hello)),
      this.#o.peerNodes?.get(link.region),
    );
    socket.setNoDelay(true);
    link.socket = socket;
    const reader = new FrameReader(helloBytesMax);
    const deadline = setTimeout(() => {
      this.#o.log.warn({ peer: link.region, address: `${link.address.host}:${link.address.port}` }, 'peer did not answer our handshake in time; reconnecting');
      socket.destroy();
    }, handshakeMs);
    socket.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        this.#o.log.warn({ peer: link.region, err: (err as Error).message }, 'peer sent a bad frame; dropping the link');
        socket.destroy();
        return;
      }
      for (const f of frames) {
        const msg = f as Welcome | Refused;
        if (msg.t === 'welcome' && msg.region === link.region) {
          clearTimeout(deadline);
          link.ready = true;
          link.writable = true;
          link.backoffMs = this.#o.backoffMsMin;
          this.#o.log.info({ peer: link.region }, 'peer link up');
          this.#flush(link);
        } else if (msg.t === 'welcome') {
          this.#o.log.error({ peer: link.region, answeredBy: msg.region }, 'the address configured for this peer is another region; check the configuration');
          socket.destroy();
        } else if (msg.t === 'refused') {
          link.stats.refusals++;
          this.#o.log.error({ peer: link.region, reason: msg.reason }, 'peer refused our link; check that both use the same cluster configuration');
          socket.destroy();
        }
      }
    });
    socket.on('drain', () => {
      link.writable = true;
      this.#flush(link);
    });
    socket.on('error', () => undefined); // 'close' follows; reconnecting is the answer
    socket.on('close', () => {
      clearTimeout(deadline);
      if (link.ready) this.#o.log.warn({ peer: link.region }, 'peer link down; reconnecting');
      link.ready = false;
      link.socket = null;
      if (this.#stopped) return;
      const delay = link.backoffMs * (0.5 + Math.random());
      link.backoffMs = Math.min(this.#o.backoffMsMax, link.backoffMs * 2);
      link.timer = setTimeout(() => this.#connect(link), delay);
    });
  }

  #accept(socket: net.Socket, identity: PeerIdentity | null): void {
    socket.setNoDelay(true);
    const link = new InboundLink(socket, identity);
    this.#inbound.add(socket);
    socket.on('close', () => this.#closed(link));
    socket.on('error', () => undefined);
    const reader = new FrameReader(helloBytesMax);
    // Set when the hello is refused: nothing after it is read, let alone delivered.
    let refused = false;
    const deadline = setTimeout(() => socket.destroy(), handshakeMs);
    socket.on('close', () => clearTimeout(deadline));
    socket.on('data', (chunk: Buffer) => {
      link.lastReceivedMs = performance.now();
      if (refused) return;
      let frames: unknown[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        this.#o.log.warn({ peer: link.region, err: (err as Error).message }, 'peer sent a bad frame; dropping the link');
        socket.destroy();
        return;
      }
      for (const f of frames) {
        const from = link.region;
        // Only a welcomed link's frames reach onMessage; before that, the only frame read is the hello.
        if (from === null) {
          refused = this.#handshake(link, f as Hello) === null;
          if (refused) return;
          clearTimeout(deadline);
          reader.limit = frameBytesMax;
          continue;
        }
        const wire = f as Wire;
        const problem = wireProblem(wire);
        if (problem !== null) {
          this.badMessages++;
          this.#o.log.error({ peer: from, problem }, 'peer sent a malformed message; dropping the link (check that both run the same Tern version)');
          socket.destroy();
          return;
        }
        this.#received.set(from, (this.#received.get(from) ?? 0) + 1);
        this.#o.onMessage(from, wire.t === 'msg' ? { ch: 'async', m: wire.m } : wire.t === 'strong' ? { ch: 'strong', m: wire.m } : { ch: 'node', m: wire.m });
      }
    });
  }

  /** Checks a hello; answers welcome (and returns the peer's region, now the link's) or refused (and null). */
  #handshake(link: InboundLink, hello: Hello): RegionId | null {
    const socket = link.socket;
    const refuse = (reason: string): null => {
      this.refusedInbound++;
      this.#o.log.warn({ remote: link.address, cluster: hello?.cluster, region: hello?.region, reason }, 'refused a peer link');
      socket.end(encodeFrame({ t: 'refused', reason } satisfies Refused));
      return null;
    };
    if (typeof hello !== 'object' || hello === null || hello.t !== 'hello') return refuse('expected a hello');
    if (hello.protocol !== protocolVersion) return refuse(`protocol ${String(hello.protocol)} is not ${protocolVersion}`);
    if (hello.cluster !== this.#o.cluster) return refuse(`this node belongs to cluster ${this.#o.cluster}, not ${String(hello.cluster)}`);
    if (!this.#links.has(hello.region)) return refuse(`region ${String(hello.region)} is not a peer of ${this.#o.region} in this cluster`);
    const id = link.identity;
    if (this.#o.sockets.secure) {
      // The hello must claim what the certificate names, and that must be the configured node.
      if (id === null || id.region !== hello.region || id.node !== hello.node) return refuse(`the hello claims ${String(hello.region)}/${String(hello.node)} but the certificate names ${id === null ? 'no node' : `${id.region}/${id.node}`}`);
      const configured = this.#o.peerNodes?.get(hello.region);
      if (configured !== undefined && configured !== id.node) return refuse(`the certificate names node ${id.node}, but the configuration's node for ${hello.region} is ${configured}`);
    }
    const taken = this.#claim(link, hello.region);
    if (taken !== null) return refuse(taken);
    socket.write(encodeFrame({ t: 'welcome', region: this.#o.region } satisfies Welcome));
    return hello.region;
  }

  /**
   * Makes `link` its region's one inbound link, or says why not: the region's link is live. A link
   * silent for longer than `inboundSilenceMsMax` is dead (see the header) and gives way.
   */
  #claim(link: InboundLink, region: RegionId): string | null {
    const old = this.#inboundFrom.get(region);
    if (old !== undefined) {
      // Silence counts only while this process ran: after a stall of its own (a long step, a GC),
      // the old link's frames may be waiting in its socket, read after this hello in the same turn.
      // A link is dead when it was silent for the whole limit up to the last awake tick.
      const silentMs = this.#silentMs(old);
      if (silentMs <= inboundSilenceMsMax) return `region ${region} is already connected from ${old.address}`;
      this.#o.log.info(
        { peer: region, old: old.address, new: link.address, silentMs: Math.round(silentMs) },
        `replaced the peer's inbound link: nothing received on the old one for over ${inboundSilenceMsMax} ms`,
      );
      old.socket.destroy();
    }
    link.region = region;
    this.#inboundFrom.set(region, link);
    return null;
  }

  /** How long `link` was silent while this process ran (a stall of its own does not count: see #claim). */
  #silentMs(link: InboundLink): number {
    return Math.min(link.silentMs(), this.#awakeMs - link.lastReceivedMs + awakeTickMs);
  }

  /** Welcomed links silent past inboundIdleMsMax are closed: no socket sits idle for ever. */
  #closeIdle(): void {
    for (const link of this.#inboundFrom.values()) {
      if (this.#silentMs(link) <= this.#o.inboundIdleMsMax) continue;
      this.#o.log.warn({ peer: link.region, remote: link.address, idleMs: this.#o.inboundIdleMsMax }, 'closed an inbound peer link silent for too long; the peer dials again if it lives');
      link.socket.destroy();
    }
  }

  /** A closed link frees its region's slot, unless a newer link holds it already. */
  #closed(link: InboundLink): void {
    this.#inbound.delete(link.socket);
    if (link.region !== null && this.#inboundFrom.get(link.region) === link) this.#inboundFrom.delete(link.region);
  }
}

function wireProblem(wire: Wire): string | null {
  if (typeof wire !== 'object' || wire === null) return 'not a message frame';
  switch (wire.t) {
    case 'msg':
      return peerMessageProblem(wire.m);
    case 'strong':
      return strongMessageProblem(wire.m);
    case 'node':
      return controlMessageProblem(wire.m);
    default:
      return 'not a message frame';
  }
}
