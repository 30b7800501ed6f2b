// The outbound allow-list: which destinations a delivery may reach. DNS is faked; the only socket is on loopback.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { describe, it } from "node:test";
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

describe("outboundFetch", () => {
  it("refuses anything but http and https URLs before any request", async () => {
    for (const url of ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hi"]) {
      await assert.rejects(outboundFetch("rdap", url), OutboundRefused, url);
    }
  });
});
