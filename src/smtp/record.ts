// What a session leaves behind: its transcript (capped at limits.maxTranscriptBytes; later lines are counted out, not
// kept) and the SessionRecord handed to the store when it ends.
import type { SessionRecord, TranscriptLine } from "../store/types.js";
import type { Session } from "./session.js";

/** Transcript lines longer than this are cut (with an ellipsis). */
export const MAX_TRANSCRIPT_LINE = 1024;
/** Bookkeeping bytes counted per transcript line on top of its text. */
const TRANSCRIPT_LINE_OVERHEAD = 16;

export interface Transcript {
  readonly lines: TranscriptLine[];
  readonly truncated: boolean;
  record(dir: "c" | "s", line: string): void;
}

export function createTranscript(maxBytes: number, startedAt: number): Transcript {
  const lines: TranscriptLine[] = [];
  let bytes = 0;
  let truncated = false;
  return {
    lines,
    get truncated() {
      return truncated;
    },
    record(dir, line) {
      if (truncated) return;
      const l = line.length > MAX_TRANSCRIPT_LINE ? line.slice(0, MAX_TRANSCRIPT_LINE) + "…" : line;
      bytes += l.length + TRANSCRIPT_LINE_OVERHEAD;
      if (bytes > maxBytes) {
        truncated = true;
        return;
      }
      lines.push({ dir, line: l, t: Date.now() - startedAt });
    },
  };
}

export function sessionRecord(s: Session, endedAt: number): SessionRecord {
  return {
    id: s.id,
    protocol: s.o.protocol,
    channel: s.o.channel,
    startedAt: s.startedAt,
    endedAt,
    srcIp: s.ctx.src_ip,
    srcPort: s.ctx.src_port,
    destIp: s.ctx.dest_ip,
    destPort: s.ctx.dest_port,
    target: s.o.target ?? null,
    helo: s.helo,
    rdns: s.rdns,
    tls: s.tls,
    auth: s.auth,
    transcript: s.transcript.lines,
    transcriptTruncated: s.transcript.truncated,
    commands: s.commands,
    messages: s.messages,
    closeReason: s.closeReason,
  };
}
