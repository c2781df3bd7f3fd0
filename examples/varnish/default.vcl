# Varnish in front of a GraphQL origin, purged by cascade-edge through vmod xkey.
#
#   Debian/Ubuntu: apt-get install varnish varnish-modules     (vmod xkey is in varnish-modules)
#   varnishd -F -a :6081 -f /etc/varnish/default.vcl -s malloc,256m
#
# - GraphQL GET requests (query and variables in the URL) are cached when the origin tagged the
#   response: its `xkey` header (or `Surrogate-Key`, for origins written for Fastly) lists the
#   tags, space-separated, as tagsForResponse(engine, result, { format: "fastly" }).header renders
#   them. An untagged GraphQL response is never cached: nothing could purge it.
# - POST (mutations, and queries sent by POST) is passed to the origin, never cached.
# - PURGE from an address in the `purgers` ACL with an `xkey-purge` header removes every object
#   carrying one of the listed tags; `xkey-softpurge` marks them stale instead, so they are served
#   within grace while one background fetch refreshes them. That is what
#   purgeVarnish({ url: "http://127.0.0.1:6081/" }, set) and `cascade-edge pg watch --purge varnish`
#   send.
# - A purge request's header line must stay under the `http_req_hdr_len` parameter (8 KB by default);
#   purgeVarnish splits larger tag lists across requests (maxHeaderBytes, default 8000).
vcl 4.1;

import xkey;

# The GraphQL origin (a Node server with GraphQL Yoga, for instance).
backend origin {
    .host = "127.0.0.1";
    .port = "4000";
}

# Who may purge: the watcher's or the origin's address. Everyone else gets 403.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    unset req.http.x-cache;
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.xkey-purge) {
            set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        } elsif (req.http.xkey-softpurge) {
            set req.http.n-gone = xkey.softpurge(req.http.xkey-softpurge);
        } else {
            return (synth(400, "PURGE needs an xkey-purge or xkey-softpurge header"));
        }
        return (synth(200, "Invalidated " + req.http.n-gone + " objects"));
    }
    if (req.url ~ "^/graphql" && req.method != "GET" && req.method != "HEAD") {
        # Mutations (and queries sent by POST) go to the origin every time.
        return (pass);
    }
    # Everything else follows Varnish's built-in rules: a request with a Cookie or an Authorization
    # header is passed, so per-user GraphQL responses are never shared.
}

sub vcl_hash {
    # The origin answers application/graphql-response+json or application/json depending on Accept.
    if (req.url ~ "^/graphql") {
        hash_data(req.http.Accept);
    }
    # The built-in vcl_hash then adds the URL (query and variables) and the Host.
}

sub vcl_hit {
    if (obj.ttl <= 0s) {
        # Served from grace: stale after a soft purge (or expiry) while a background fetch refreshes it.
        set req.http.x-cache = "STALE";
    }
}

sub vcl_pass {
    set req.http.x-cache = "PASS";
}

sub vcl_backend_response {
    if (!beresp.http.xkey && beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
    if (bereq.url ~ "^/graphql" && !beresp.http.xkey) {
        # Without tags no purge could reach it: do not cache (and do not queue requests behind it).
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    # A tagged response lives until a purge removes it or its Cache-Control max-age / s-maxage ends;
    # `stale-while-revalidate` in Cache-Control sets how long it is served stale after a soft purge.
}

sub vcl_deliver {
    if (!req.http.x-cache) {
        if (obj.hits > 0) {
            set req.http.x-cache = "HIT";
        } else {
            set req.http.x-cache = "MISS";
        }
    }
    set resp.http.X-Cache = req.http.x-cache;
    # The tags are for Varnish; clients need not see the data model.
    unset resp.http.xkey;
}
