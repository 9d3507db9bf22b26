import { jwtSuite } from "../../unit/security/jwt-cases.js";

// The same suite as in Node, here inside workerd, whose WebCrypto the mesh actually uses.
jwtSuite("workerd");
