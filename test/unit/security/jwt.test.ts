import { jwtSuite } from "./jwt-cases.js";

jwtSuite("Node");
