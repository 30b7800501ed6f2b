#!/usr/bin/env node
// relaytrap command line: which command, its help, and how an error ends (one line, exit 1; usage errors and bad
// config exit 2). Each command's parsing is in src/cli/; the work is done by createSensor, exportMessages, ...
import "./v8-flags.js";
import { die, UsageError } from "./cli/args.js";
import { cmdCollector, cmdCollectorDropbox, cmdCollectorToken } from "./cli/collector.js";
import { cmdDelivery } from "./cli/delivery.js";
import { cmdDemo } from "./cli/demo.js";
import { COMMANDS, commandHelp, HELP } from "./cli/help.js";
import { cmdHashPassword } from "./cli/password.js";
import { cmdFeed, cmdReport } from "./cli/reports.js";
import { cmdCheckConfig, cmdDoctor, cmdRun } from "./cli/run.js";
import { cmdAnalyze, cmdExport, cmdImport, cmdReanalyze } from "./cli/store.js";
import { ConfigError } from "./config/load.js";

/** The command being run: a usage error ends with its usage line. */
let current: string | undefined;

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h") {
    process.stdout.write(HELP + "\n");
    return;
  }
  if (cmd === "help") {
    if (rest[0] === "--help" || rest[0] === "-h") rest[0] = "help";
    const c = rest[0] !== undefined && Object.hasOwn(COMMANDS, rest[0]) ? COMMANDS[rest[0]] : undefined;
    if (rest[0] !== undefined && !c) throw new UsageError(`help: unknown command "${rest[0]}"`);
    process.stdout.write(c ? commandHelp(c) : HELP + "\n");
    return;
  }
  const help = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!help) throw new UsageError(`unknown command "${cmd}"`);
  current = cmd;
  // --help / -h anywhere before a "--" shows the command's help, whatever else is on the line.
  const end = rest.indexOf("--");
  if ((end === -1 ? rest : rest.slice(0, end)).some((a) => a === "--help" || a === "-h")) {
    process.stdout.write(commandHelp(help));
    return;
  }
  switch (cmd) {
    case "run":
      return cmdRun(rest);
    case "export":
      return cmdExport(rest);
    case "analyze":
      return cmdAnalyze(rest);
    case "reanalyze":
      return cmdReanalyze(rest);
    case "check-config":
      return cmdCheckConfig(rest);
    case "doctor":
      return cmdDoctor(rest);
    case "delivery":
      return cmdDelivery(rest);
    case "import":
      return cmdImport(rest);
    case "demo":
      return cmdDemo(rest);
    case "hash-password":
      return cmdHashPassword(rest);
    case "collector":
      return cmdCollector(rest);
    case "collector-token":
      return cmdCollectorToken(rest);
    case "collector-dropbox":
      return cmdCollectorDropbox(rest);
    case "report":
      return cmdReport(rest);
    case "feed":
      return cmdFeed(rest);
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) die(err.message.split("\n").join("\nrelaytrap: "), 2);
  if (err instanceof UsageError) {
    const usage = current !== undefined ? COMMANDS[current]?.usage : undefined;
    die(`${err.message}\n${usage ? `usage: ${usage}  (relaytrap ${current} --help)` : "usage: relaytrap COMMAND [options]  (relaytrap help)"}`, 2);
  }
  die((err as Error).stack ?? String(err), 1);
});
