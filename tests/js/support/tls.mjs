// Throwaway TLS material for tests, made with the openssl command line in a directory the caller
// owns (and removes): a CA, a server certificate it signs for 127.0.0.1 and localhost, and a second,
// unrelated CA (the "wrong CA" a client may be given).
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { skipUnlessRequired } from "./servers.mjs";

/** False when openssl can run, else the reason to skip. */
export function opensslMissing() {
  return skipUnlessRequired(spawnSync("sh", ["-c", "command -v openssl"]).status !== 0, "openssl is not installed (Debian's openssl package)");
}

const openssl = (args, cwd) => execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });

function makeCa(dir, name) {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.crt`], dir);
}

/**
 * Writes into `dir`: ca.crt (+ ca.key), server.crt + server.key (CN localhost, SAN localhost and
 * 127.0.0.1, signed by ca), other-ca.crt (+ other-ca.key). Resolves their paths.
 */
export function makeCertificates(dir) {
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  writeFileSync(join(dir, "san.cnf"), "subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n");
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"], dir);
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.crt"], dir);
  return { ca: join(dir, "ca.crt"), cert: join(dir, "server.crt"), key: join(dir, "server.key"), otherCa: join(dir, "other-ca.crt") };
}
