// Bounds on what the parser accepts, so hostile input costs little.
export interface ParseLimits {
  /** Largest datagram or stream message, headers and body together. */
  maxMessageBytes: number;
  /** Most header fields in one message. */
  maxHeaders: number;
  /** Longest header line after unfolding. */
  maxLineLength: number;
}

export const DEFAULT_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxMessageBytes: 65_535,
  maxHeaders: 128,
  maxLineLength: 8192,
});
