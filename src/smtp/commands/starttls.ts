// STARTTLS: upgrade in place with the sensor's certificate; the session state is forgotten as RFC 3207 says.
import type { Session } from "../session.js";

export async function starttls(s: Session, arg: string): Promise<void> {
  if (s.o.secureContext === null) return s.error("starttlsUnavailable");
  if (s.tls !== null) return s.error("starttlsAlready");
  if (arg !== "") return s.error("starttlsSyntax");
  s.reply("starttlsGo");
  await s.upgradeTls();
}
