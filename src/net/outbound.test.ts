// The outbound allow-list: which destinations a delivery may reach. DNS is faked; the only socket is on loopback.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { nonGlobalSample } from "../../test/helpers/ip-forms.js";
import { createTransport } from "../delivery/transport.js";
import { createOutbound, nonGlobalReason, outboundFetch, OutboundRefused, OutboundTemporary, type Resolver, type Route } from "./outbound.js";

function enodata(): Error {
  return Object.assign(new Error("no data"), { code: "ENODATA" });
}

function fakeResolver(zone: { mx?: Record<string, Array<{ exchange: string; priority: number }>>; a?: Record<string, string[]>; aaaa?: Record<string, string[]> }): Resolver {
  return {
    resolveMx: async (d) => {
      const r = zone.mx?.[d];
      if (r) return r;
      if (zone.a?.[d] || zone.aaaa?.[d]) throw enodata();
      throw Object.assign(new Error("nx"), { code: "ENOTFOUND" });
    },
    resolve4: async (h) => {
      const r = zone.a?.[h];
      if (!r) throw enodata();
      return r;
    },
    resolve6: async (h) => {
      const r = zone.aaaa?.[h];
      if (!r) throw enodata();
      return r;
    },
    lookup: async (h) => zone.a?.[h] ?? [],
  };
}

const base = { smarthost: null, allowPrivateMx: false, refuseIps: ["198.51.100.23"], timeoutMs: 1000 };

describe("outbound allow-list", () => {
  it("classifies non-global addresses", () => {
    for (const [ip, why] of [
      ["127.0.0.1", "loopback"],
      ["::1", "loopback"],
      ["10.1.2.3", "private"],
      ["172.20.0.1", "private"],
      ["192.168.1.1", "private"],
      ["169.254.1.1", "link-local"],
      ["fe80::1", "link-local"],
      ["fd00::1", "private (ULA)"],
      ["0.0.0.0", "unspecified"],
      ["224.0.0.1", "multicast"],
      ["::ffff:127.0.0.1", "loopback"],
      ["::ffff:8.8.8.8", null],
    ] as const) {
      assert.equal(nonGlobalReason(ip), why, ip);
    }
    assert.equal(nonGlobalReason("8.8.8.8"), null);
    assert.equal(nonGlobalReason("2a00:1450:4001::1"), null);
  });

  it("judges IPv4 inside IPv6 by the IPv4, in any spelling, and refuses tunnels and shorthands (issue 14)", () => {
    for (const [ip, why] of [
      ["0::ffff:127.0.0.1", "loopback"],
      ["0:0:0:0:0:ffff:7f00:1", "loopback"],
      ["::FFFF:7F00:1", "loopback"],
      ["::ffff:8.8.8.8", null],
      ["::127.0.0.1", "IPv4-compatible (deprecated) 127.0.0.1"],
      ["::808:808", "IPv4-compatible (deprecated) 8.8.8.8"],
      ["::ffff:0:7f00:1", "IPv4-translated 127.0.0.1"],
      ["64:ff9b::a00:1", "NAT64 of 10.0.0.1: private"],
      ["64:ff9b::8.8.8.8", null],
      ["64:ff9b:1::808:808", "local-use NAT64 (64:ff9b:1::/48)"],
      ["2002:7f00:1::1", "6to4 (deprecated) of 127.0.0.1"],
      ["2002:808:808::1", "6to4 (deprecated) of 8.8.8.8"],
      ["2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo of 127.0.0.1"],
      ["2001:db8::1", "documentation"],
      ["3fff::1", "documentation"],
      ["5f00::1", "SRv6 SIDs"],
      ["4000::1", "not global unicast (outside 2000::/3)"],
      ["192.88.99.1", "reserved"],
      ["192.31.196.1", "AS112"],
      ["255.255.255.255", "broadcast"],
      ["fe80::1%lo", "not an IP address"],
      ["0x7f.1", "not an IP address"],
      ["2130706433", "not an IP address"],
      ["0177.0.0.1", "not an IP address"],
      ["127.1", "not an IP address"],
      ["127.0.0.01", "not an IP address"],
    ] as const) {
      assert.equal(nonGlobalReason(ip), why, ip);
    }
  });

  it("refuses the sensor's own address in any spelling, also inside IPv6; allowPrivateMx never opens tunnels", async () => {
    for (const own of ["::ffff:198.51.100.23", "64:ff9b::c633:6417", "2002:c633:6417::1", "198.51.100.23"]) {
      const ob = createOutbound({ ...base, allowPrivateMx: true, resolver: fakeResolver({ a: { "own.example": [own] } }) });
      await assert.rejects(ob.routes("own.example"), OutboundRefused, own);
    }
    const lab = createOutbound({ ...base, allowPrivateMx: true, resolver: fakeResolver({}) });
    assert.deepEqual((await lab.routes("[IPv6:0:0:0:0:0:ffff:a00:5]")).map((r) => r.ip), ["10.0.0.5"], "canonical form is dialled");
    for (const d of ["[IPv6:2002:a00:5::1]", "[IPv6:::10.0.0.5]", "[IPv6:ff02::1]", "[0.0.0.0]", "[::1]", "[IPv6:127.0.0.1]", "[0x7f.1]"]) {
      await assert.rejects(lab.routes(d), OutboundRefused, d);
    }
    const ob = createOutbound({ ...base, resolver: fakeResolver({ a: { "nat64.example": ["64:ff9b::808:808"] } }) });
    assert.deepEqual((await ob.routes("nat64.example")).map((r) => r.ip), ["64:ff9b::808:808"], "DNS64 answers for public IPv4 are kept");
  });

  it("routes by MX priority to public addresses", async () => {
    const ob = createOutbound({
      ...base,
      resolver: fakeResolver({
        mx: { "yahoo.example": [{ exchange: "mx2.yahoo.example", priority: 20 }, { exchange: "mx1.yahoo.example", priority: 10 }] },
        a: { "mx1.yahoo.example": ["8.8.4.4"], "mx2.yahoo.example": ["8.8.8.8"] },
      }),
    });
    const routes = await ob.routes("Yahoo.Example");
    assert.deepEqual(routes.map((r) => [r.host, r.ip, r.port, r.via]), [
      ["mx1.yahoo.example", "8.8.4.4", 25, "mx"],
      ["mx2.yahoo.example", "8.8.8.8", 25, "mx"],
    ]);
  });

  it("refuses MX hosts on private, loopback and link-local addresses, and the sensor's own", async () => {
    const zone = {
      mx: { "evil.example": [{ exchange: "mx.evil.example", priority: 10 }] },
      a: { "mx.evil.example": ["127.0.0.1", "10.0.0.5", "169.254.0.9", "198.51.100.23"] },
      aaaa: { "mx.evil.example": ["::1", "fe80::1"] },
    };
    const ob = createOutbound({ ...base, resolver: fakeResolver(zone) });
    await assert.rejects(ob.routes("evil.example"), (e: Error) => e instanceof OutboundRefused && /refused destination/.test(e.message));
    // Mixed: only the public address is kept.
    const mixed = createOutbound({ ...base, resolver: fakeResolver({ ...zone, a: { "mx.evil.example": ["127.0.0.1", "8.8.8.8"] }, aaaa: {} }) });
    assert.deepEqual((await mixed.routes("evil.example")).map((r) => r.ip), ["8.8.8.8"]);
  });

  it("allowPrivateMx lets private MX addresses through, never the sensor's own", async () => {
    const ob = createOutbound({
      ...base,
      allowPrivateMx: true,
      resolver: fakeResolver({ mx: { "lab.example": [{ exchange: "mx.lab.example", priority: 1 }] }, a: { "mx.lab.example": ["10.0.0.5", "198.51.100.23"] } }),
    });
    assert.deepEqual((await ob.routes("lab.example")).map((r) => r.ip), ["10.0.0.5"]);
  });

  it("uses the domain as implicit MX, refuses null MX, unknown domains and private literals", async () => {
    const ob = createOutbound({
      ...base,
      resolver: fakeResolver({ mx: { "null.example": [{ exchange: "", priority: 0 }] }, a: { "plain.example": ["8.8.8.8"] } }),
    });
    assert.deepEqual((await ob.routes("plain.example")).map((r) => [r.ip, r.via]), [["8.8.8.8", "implicit-mx"]]);
    await assert.rejects(ob.routes("null.example"), /null MX/);
    await assert.rejects(ob.routes("nx.example"), (e: Error) => e instanceof OutboundRefused && /no such domain/.test(e.message));
    await assert.rejects(ob.routes("[127.0.0.1]"), OutboundRefused);
    await assert.rejects(ob.routes("[198.51.100.23]"), /sensor's own/);
    assert.deepEqual((await ob.routes("[8.8.8.8]")).map((r) => r.via), ["literal"]);
  });

  it("a DNS timeout is temporary", async () => {
    const never = new Promise<never>(() => {});
    const ob = createOutbound({ ...base, timeoutMs: 50, resolver: { resolveMx: () => never, resolve4: () => never, resolve6: () => never, lookup: () => never } });
    await assert.rejects(ob.routes("slow.example"), OutboundTemporary);
  });

  it("a configured smarthost is used for every domain, loopback included", async () => {
    const ob = createOutbound({ ...base, smarthost: "127.0.0.1:2526", resolver: fakeResolver({}) });
    assert.deepEqual(await ob.routes("yahoo.com"), [{ host: "127.0.0.1", ip: "127.0.0.1", port: 2526, via: "smarthost" }]);
  });

  it("connect() dials approved routes only", async () => {
    const server = createServer((s) => {
      s.on("error", () => {});
      s.end("220 hi\r\n");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as AddressInfo).port;
    try {
      const ob = createOutbound({ ...base, smarthost: `127.0.0.1:${port}` });
      const forged: Route = { host: "127.0.0.1", ip: "127.0.0.1", port, via: "smarthost" };
      await assert.rejects(ob.connect(forged), /not an approved route/);
      const [route] = await ob.routes("example.com");
      const socket = await ob.connect(route!);
      assert.equal(socket.remoteAddress, "127.0.0.1");
      socket.destroy();
    } finally {
      server.close();
    }
  });
});

/** A loopback listener standing in for every SMTP destination, and a dial function for createOutbound that records
 * every destination asked for and connects to the listener instead: nothing leaves the machine, even on a regression. */
async function startStandIn(): Promise<{ server: Server; dials: string[]; dial: NonNullable<Parameters<typeof createOutbound>[0]["dial"]>; accepted(): Promise<number> }> {
  let connections = 0;
  let barrier: (() => void) | null = null;
  const server = createServer((s) => {
    s.on("error", () => {});
    if (barrier) {
      // The barrier connection: the listener accepts in order, so every earlier dial has been counted by now.
      barrier();
      barrier = null;
    } else connections++;
    s.destroy();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const dials: string[] = [];
  return {
    server,
    dials,
    dial: (opts) => {
      dials.push(`${opts.host}:${opts.port}`);
      return connect({ host: "127.0.0.1", port });
    },
    async accepted() {
      const seen = new Promise<void>((r) => (barrier = r));
      const s = connect({ host: "127.0.0.1", port });
      s.on("error", () => {});
      await seen;
      s.destroy();
      return connections;
    },
  };
}

/** A resolver that answers every name with the given address text: MX to a host of its own, A and AAAA the text. */
function hostileResolver(text: string): Resolver {
  return {
    resolveMx: async (d) => [{ exchange: `mx.${d}`, priority: 0 }],
    resolve4: async () => [text],
    resolve6: async () => [text],
    lookup: async () => [text],
  };
}

/** Every way a recipient can lead to an address: literal, tagged literal, bare domain, MX's A/AAAA, implicit MX. */
function recipientsFor(form: string): Array<{ to: string; resolver: Resolver }> {
  const none = fakeResolver({});
  return [
    { to: `x@[${form}]`, resolver: none },
    { to: `x@[IPv6:${form}]`, resolver: none },
    { to: `x@[ipv6:${form}]`, resolver: none },
    { to: `x@${form}`, resolver: none },
    { to: "x@evil.example", resolver: hostileResolver(form) },
    { to: "x@plain.example", resolver: fakeResolver({ a: { "plain.example": [form] }, aaaa: { "plain.example": [form] } }) },
  ];
}

describe("outbound allow-list: no textual form of a non-global address is dialled (issue 14)", () => {
  let standIn: Awaited<ReturnType<typeof startStandIn>>;
  before(async () => {
    standIn = await startStandIn();
  });
  after(() => {
    standIn.server.close();
  });

  /** Sends through the real transport and outbound; resolves with the error (a send must never succeed here). */
  async function attempt(to: string, resolver: Resolver, over: Partial<Parameters<typeof createOutbound>[0]> = {}): Promise<Error> {
    const outbound = createOutbound({ ...base, refuseIps: [], resolver, dial: standIn.dial, ...over });
    const transport = createTransport({ outbound, name: "mail.example.org", timeoutMs: 1000 });
    try {
      await transport.send({ from: "", to, data: Buffer.from("Subject: t\r\n\r\nt\r\n") });
    } catch (err) {
      return err as Error;
    }
    throw new Error(`${to}: delivered`);
  }

  it("a dial, when one happens, is seen (allowPrivateMx, loopback literal)", async () => {
    const before = await standIn.accepted();
    await attempt("x@[127.0.0.1]", fakeResolver({}), { allowPrivateMx: true });
    assert.deepEqual(standIn.dials.splice(0), ["127.0.0.1:25"]);
    assert.equal(await standIn.accepted(), before + 1);
  });

  it("refuses the reported forms before connect()", async () => {
    const before = await standIn.accepted();
    for (const form of ["0::ffff:127.0.0.1", "0:0:0:0:0:ffff:7f00:1", "::127.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::1", "::ffff:7f00:1", "0x7f.1", "2130706433", "0177.0.0.1", "127.1"]) {
      for (const { to, resolver } of recipientsFor(form)) {
        const err = await attempt(to, resolver);
        assert.deepEqual(standIn.dials.splice(0), [], `${to} (${form}) was dialled: ${err.message}`);
      }
    }
    assert.equal(await standIn.accepted(), before, "a refused destination was dialled");
  });

  it("property: any textual form of any non-global address is refused before a socket is opened", async () => {
    const before = await standIn.accepted();
    await fc.assert(
      fc.asyncProperty(nonGlobalSample, async (sample) => {
        for (const form of sample.forms) {
          for (const { to, resolver } of recipientsFor(form)) {
            const err = await attempt(to, resolver);
            assert.deepEqual(standIn.dials.splice(0), [], `${sample.label}: ${to} was dialled: ${err.message}`);
          }
        }
      }),
      { numRuns: 60, includeErrorInReport: true },
    );
    assert.equal(await standIn.accepted(), before, "a refused destination was dialled");
  });
});

describe("outboundFetch", () => {
  it("refuses anything but http and https URLs before any request", async () => {
    for (const url of ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hi"]) {
      await assert.rejects(outboundFetch("rdap", url), OutboundRefused, url);
    }
  });
});
