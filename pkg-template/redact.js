// Credentials never reach a log line: what the watcher and the CLI print goes through `redactor`,
// which masks every secret they were given (the password of a connection URL, PGPASSWORD, purge
// tokens and secrets, header values), in the forms an error message might quote it.

/** The password of a `postgres://user:password@host/db` URL (decoded), or undefined. */
export function urlPassword(url) {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    // Not a URL: a libpq keyword string (`password=…`) is masked by its own pattern below.
    return /(?:^|\s)password\s*=\s*'?([^'\s]+)/.exec(String(url ?? ""))?.[1];
  }
}

/** `url` without credentials, query or fragment: safe to print in a log line or an error. */
export function safeUrl(url) {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "<invalid URL>";
  }
}

/** A function masking each of `secrets` (and its URL-encoded form) in a text as `***`. */
export function redactor(secrets) {
  const forms = new Set();
  for (const secret of secrets) {
    if (typeof secret !== "string" || secret.length === 0) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
  }
  const list = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = String(text);
    for (const form of list) out = out.split(form).join("***");
    return out;
  };
}
