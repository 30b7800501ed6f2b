// Loopback classification by parsed address (ipaddr.js), and listen hosts judged by what they resolve to (issue 14).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as address from "./address.js";

describe("isLoopback", () => {
  test("IP literals in 127.0.0.0/8 and ::1, in any spelling, are loopback", () => {
    for (const ip of ["127.0.0.1", "127.255.0.9", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::FFFF:7f00:1"]) assert.equal(address.isLoopback(ip), true, ip);
  });

  test("a host name is never loopback by its spelling", () => {
    for (const host of ["127.rt-trap", "127.0.0.1.nip.example", "localhost", "127.0.0.1x", "::2", "0.0.0.0", "::", "128.0.0.1", "192.0.2.1"]) {
      assert.equal(address.isLoopback(host), false, host);
    }
  });
});
