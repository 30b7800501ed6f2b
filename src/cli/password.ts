// `hash-password`: a scrypt hash for web.users, asked twice without echo on a terminal.
import { UsageError, die, parse } from "./args.js";

/** Two answers read from the terminal without echo (prompts on stderr); Ctrl-C exits 130, Ctrl-D is an error. */
export async function askHiddenTwice(first: string, second: string): Promise<[string, string]> {
  const { createInterface } = await import("node:readline");
  const { Writable } = await import("node:stream");
  let muted = false;
  // readline echoes what is typed through its output: nothing gets through while a password is being typed.
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stderr.write(chunk as Buffer);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  rl.on("SIGINT", () => {
    process.stderr.write("\n");
    process.exit(130);
  });
  // Lines are queued by the iterator: a second line typed ahead is not lost.
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (prompt: string): Promise<string> => {
    muted = false;
    process.stderr.write(prompt);
    muted = true;
    const next = await lines.next();
    muted = false;
    process.stderr.write("\n");
    if (next.done) throw new UsageError("hash-password: no password given");
    return next.value;
  };
  try {
    return [await ask(first), await ask(second)];
  } finally {
    rl.close();
  }
}

export async function cmdHashPassword(argv: string[]): Promise<void> {
  parse(argv, {});
  let password: string;
  if (process.stdin.isTTY) {
    const [a, b] = await askHiddenTwice("Password: ", "Again: ");
    if (a !== b) die("hash-password: the two passwords differ", 1);
    password = a;
  } else {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  }
  if (password === "") throw new UsageError("hash-password: expected a password on stdin");
  const { hashPassword } = await import("../web/auth.js");
  process.stdout.write((await hashPassword(password)) + "\n");
}
