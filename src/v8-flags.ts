// V8 settings for the relaytrap process, applied before anything else is loaded (cli.ts imports this first; the
// sensor, mailparser and the rest are imported after it). Workers share the process's flags.
//
// --no-allocation-site-pretenuring: V8 decides, per allocation site, to allocate objects straight into the old
// generation when many of them survive a scavenge. mailparser creates a MIME node object per part at one site; under a
// steady stream of messages V8 starts pretenuring it, everything each message references gets promoted, and full GCs
// run far more often and stay on. Off, parse + analyze ran at ~4,600 msg/s instead of ~3,500 on the bench corpus
// (bench/RESULTS.md, "Analyzer throughput"). Set at run time it is read at the next GC, so it applies from here on.
import { setFlagsFromString } from "node:v8";

export const V8_FLAGS = ["--no-allocation-site-pretenuring"] as const;

for (const flag of V8_FLAGS) setFlagsFromString(flag);
