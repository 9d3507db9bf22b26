/**
 * One pinned signature, computed independently with node:crypto's createHmac
 * when the format was designed. Both the Node and the workerd suites check the
 * signer against it, so the format cannot change without this file changing.
 */
export const VECTOR = {
  secret: "test-signing-secret",
  now: 1_767_225_600_000,
  method: "post",
  url: "https://origin.example/v1/items?id=7&x=a%20b",
  body: '{"item":7}',
  contentSha256: "14cf0557b7cbeb6c2d0cb30c6a20eb60ca1f6b0e6d08d58fe538589c5891137f",
  signature: "15eb1ce8cef6b1ceb1b1ad78333d314ef2e25af0dcc1d868476552d11855bcf6",
  canonical: [
    "MESH-HMAC-SHA256",
    "1767225600",
    "POST",
    "/v1/items?id=7&x=a%20b",
    "14cf0557b7cbeb6c2d0cb30c6a20eb60ca1f6b0e6d08d58fe538589c5891137f",
  ].join("\n"),
} as const;
