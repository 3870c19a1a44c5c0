// Timer values of RFC 3261 §17 (Table 4, §A) and RFC 6026 (Timers L and M), derived from T1, T2 and T4.

export interface TimerConfig {
  /** RTT estimate, default 500 ms. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  t2: number;
  /** Maximum time a message remains in the network, default 5 s. */
  t4: number;
  /** Timer D for unreliable transports: "at least 32 seconds" (§17.1.1.2), default 32 s. */
  d: number;
}

export const DEFAULT_TIMER_CONFIG: Readonly<TimerConfig> = Object.freeze({
  t1: 500,
  t2: 4000,
  t4: 5000,
  d: 32000,
});

/** The resolved timers for one kind of transport. A retransmit timer of 0 means "not used". */
export interface TimerValues {
  readonly reliable: boolean;
  readonly t1: number;
  readonly t2: number;
  /** INVITE request retransmit, initial value (doubles without cap). */
  readonly a: number;
  /** INVITE transaction timeout. */
  readonly b: number;
  /** Wait time for response retransmissions in the client INVITE Completed state. */
  readonly d: number;
  /** Non-INVITE request retransmit, initial value (doubles up to T2). */
  readonly e: number;
  /** Non-INVITE transaction timeout. */
  readonly f: number;
  /** INVITE response retransmit, initial value (doubles up to T2). */
  readonly g: number;
  /** Wait time for ACK receipt. */
  readonly h: number;
  /** Wait time for ACK retransmissions. */
  readonly i: number;
  /** Wait time for non-INVITE request retransmissions. */
  readonly j: number;
  /** Wait time for non-INVITE response retransmissions. */
  readonly k: number;
  /** RFC 6026: server INVITE Accepted state lifetime. */
  readonly l: number;
  /** RFC 6026: client INVITE Accepted state lifetime. */
  readonly m: number;
}

export function resolveTimerConfig(partial: Partial<TimerConfig> = {}): TimerConfig {
  const config = { ...DEFAULT_TIMER_CONFIG, ...partial };
  if (!(config.t1 > 0)) throw new RangeError(`t1 must be positive, got ${config.t1}`);
  if (!(config.t2 >= config.t1)) throw new RangeError(`t2 must be at least t1, got ${config.t2}`);
  if (!(config.t4 >= 0)) throw new RangeError(`t4 must not be negative, got ${config.t4}`);
  if (!(config.d >= 0)) throw new RangeError(`d must not be negative, got ${config.d}`);
  return config;
}

export function timerValues(config: TimerConfig, reliable: boolean): TimerValues {
  const { t1, t2, t4 } = config;
  const sixtyFour = 64 * t1;
  // Reliable transports retransmit nothing, and the "absorb retransmissions" waits D, I, J, K are zero.
  return Object.freeze({
    reliable,
    t1,
    t2,
    a: reliable ? 0 : t1,
    b: sixtyFour,
    d: reliable ? 0 : config.d,
    e: reliable ? 0 : t1,
    f: sixtyFour,
    g: reliable ? 0 : t1,
    h: sixtyFour,
    i: reliable ? 0 : t4,
    j: reliable ? 0 : sixtyFour,
    k: reliable ? 0 : t4,
    l: sixtyFour,
    m: sixtyFour,
  });
}

/** The next interval of a doubling retransmit timer capped at T2 (timers E and G). */
export function backoff(current: number, t2: number): number {
  return Math.min(2 * current, t2);
}
