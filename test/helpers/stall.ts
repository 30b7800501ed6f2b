// Measures how long the event loop was held: a 10 ms interval records the longest gap between its ticks. (perf_hooks'
// monitorEventLoopDelay misses a stall that ends right before it is read: its histogram gets the sample a tick later.)

export interface StallMeter {
  /** Waits for the next tick (so a stall that just ended is counted), stops, and gives the longest gap in ms. */
  stop(): Promise<number>;
}

export function stallMeter(intervalMs = 10): StallMeter {
  let last = performance.now();
  let longest = 0;
  let onTick: (() => void) | null = null;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    onTick?.();
    onTick = null;
  }, intervalMs);
  return {
    async stop() {
      await new Promise<void>((resolve) => (onTick = resolve));
      clearInterval(timer);
      return longest;
    },
  };
}
