import { describe, expect, it } from "vitest";
import { isRewindError, MissingPeerError } from "../../src/index.js";
import { importOptionalPeer } from "../../src/optional-peer.js";

describe("optional peer dependencies", () => {
  it("a peer that is not installed is a MissingPeerError naming it and what needs it", async () => {
    const missing = "rewind-test-package-that-is-not-installed";
    const error = await importOptionalPeer(missing, "this feature", () => import(missing)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MissingPeerError);
    expect(isRewindError(error, "MISSING_PEER")).toBe(true);
    expect(error).toMatchObject({ peer: missing });
    expect((error as Error).message).toContain(`this feature needs the ${missing} package`);
    expect((error as Error).message).toContain(`npm install ${missing}`);
    expect((error as Error).cause).toMatchObject({ code: "ERR_MODULE_NOT_FOUND" });
  });

  it("an installed peer is returned as its module", async () => {
    const fc = await importOptionalPeer("fast-check", "this feature", () => import("fast-check"));
    expect(typeof fc.assert).toBe("function");
  });
});
