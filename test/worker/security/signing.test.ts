import { describe, expect, it } from "vitest";
import { utf8 } from "../../../src/security/encoding.js";
import { UNSIGNED_PAYLOAD } from "../../../src/security/signing/canonical.js";
import { signatureHeaders, signRequest } from "../../../src/security/signing/signer.js";
import { VECTOR } from "../../unit/security/signing-vector.js";

describe("mesh request signing in workerd", () => {
  it("produces the vector computed with node:crypto", async () => {
    const headers = await signatureHeaders(VECTOR.secret, {
      method: VECTOR.method,
      url: VECTOR.url,
      body: utf8(VECTOR.body),
      now: VECTOR.now,
    });
    expect(headers).toEqual({
      "x-mesh-signature": `t=1767225600,v1=${VECTOR.signature}`,
      "x-mesh-content-sha256": VECTOR.contentSha256,
    });
  });

  it("signs a buffered request body and streams an unsized one unsigned", async () => {
    const sized = await signRequest(
      new Request(VECTOR.url, { method: "POST", body: VECTOR.body, headers: { "content-length": String(VECTOR.body.length) } }),
      VECTOR.secret,
      { now: VECTOR.now, maxSignedBodyBytes: 1024 },
    );
    expect(sized.headers.get("x-mesh-signature")).toBe(`t=1767225600,v1=${VECTOR.signature}`);
    expect(await sized.text()).toBe(VECTOR.body);

    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const streamed = await signRequest(new Request(VECTOR.url, { method: "POST", body: readable }), VECTOR.secret, {
      now: VECTOR.now,
      maxSignedBodyBytes: 1024,
    });
    expect(streamed.headers.get("x-mesh-content-sha256")).toBe(UNSIGNED_PAYLOAD);
    const [, text] = await Promise.all([
      writer.write(new TextEncoder().encode("streamed")).then(() => writer.close()),
      streamed.text(),
    ]);
    expect(text).toBe("streamed");
  });
});
