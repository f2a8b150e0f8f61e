vcl 4.1;

# feedsvc behind Varnish 7 (Debian 12: `varnish` 7.1 and `varnish-modules` 0.20, which brings vmod xkey).
#
# Install:
#
#     apt-get install varnish varnish-modules
#     cp deploy/varnish/feedsvc.vcl /etc/varnish/feedsvc.vcl
#     varnishd -C -f /etc/varnish/feedsvc.vcl >/dev/null 2>&1 && echo compiles
#     systemctl edit varnish      # an empty `ExecStart=`, then
#                                 # ExecStart=/usr/sbin/varnishd -F -a :80 -a 127.0.0.1:6081 \
#                                 #   -f /etc/varnish/feedsvc.vcl -s malloc,1g
#     systemctl restart varnish
#
# `-a` is where clients come in (port 80, or behind a TLS terminator); keep a loopback listener such as
# 127.0.0.1:6081 for purges. `-s malloc,1g`: objects live in memory; 1 GB holds every feed variant
# of a whole state many times over (a feed is 30-300 KB, per encoding). No other parameter is needed
# (`http_gzip_support` may stay on: encodings are handled below). The shared-memory log costs each
# request most: `-p vsl_mask=-ReqHeader,-RespHeader,-BereqHeader,-BerespHeader,-Timestamp` leaves
# out what only varnishlog and varnishncsa read (docs/operations.md, "Varnish parameters").
#
# feedsvc itself: `feedsvc serve --host 127.0.0.1 --port 8000` (the backend below) with
#
#     FEEDSVC_BASE_URL=https://<public host>              links in feeds come from it, not from Host
#     FEEDSVC_PROXY_COUNT=1                                trust Varnish's X-Forwarded-For (one proxy)
#     FEEDSVC_CACHE_PURGE_URLS=http://127.0.0.1:6081/      the worker purges here on every change
#
# Several app servers (one PostgreSQL): requests are spread over the backends of the director
# `app_servers` (round robin; a backend whose probe fails is left out). Keep this file as it is,
# with `feedsvc` pointing at the first app server, and load a file of your own
# (`-f /etc/varnish/site.vcl`) that includes this one and adds the others:
#
#     vcl 4.1;
#     include "/etc/varnish/feedsvc.vcl";
#     backend app2 { .host = "10.0.0.12"; .port = "8000"; .probe = feedsvc_health; }
#     sub vcl_init { app_servers.add_backend(app2); }
#
# (A subroutine defined twice runs both bodies in the order they come: this file's first.) Every
# app server's delivery worker purges every Varnish: list each one's purge listener in
# FEEDSVC_CACHE_PURGE_URLS, and the workers' addresses in `acl purgers` below.
# tests/test_scale_out.py runs exactly this shape.
#
# and its delivery worker running (beside `feedsvc serve`, or `feedsvc worker`): it purges the keys of
# every change, and at every embargo lift, before it pings the WebSub hubs. On PostgreSQL the app
# trusts its change counters for FEEDSVC_FEED_STATE_TTL; Varnish's fetches say `Cache-Control:
# no-cache`, which makes the app read them afresh, so a copy fetched right after a purge is current.
#
# What this does, in short:
#
# - Feeds and public pages are cached as long as the app's Cache-Control says: a max-age that ends at
#   the next point of the expiry grid (FEEDSVC_FEED_EXPIRY_GRID, every full minute by default), never
#   at an embargo lift, which it would give away. Varnish sends clients the app's Cache-Control with a
#   correct `Age`, so no copy downstream outlives a grid point either. At an embargo's instant the
#   worker purges its subjects (docs/feeds.md#embargoes-and-caching); nothing is purged before it.
# - Every feed and page names the subjects it shows in an `xkey` header ("city:3 catalog", a release
#   page "city:3 topic:5 release:42 catalog", ...; spelled by feedsvc/store/keys.py). A purge names
#   the keys of a change, and exactly the objects tagged with one of them go: an edit in München leaves
#   Rosenheim's feeds in the cache. `xkey` never reaches clients.
#       PURGE / HTTP/1.1
#       xkey-purge: all city:3 region:2 topic:5 city:3:topic:5
#   answers 200 with `X-Purged: <objects purged>` (403 from addresses outside `purgers`).
# - Stale copies: within the app's `stale-while-revalidate` (archive pages) a stale copy is served while it is
#   refreshed in the background (with If-None-Match: a 304 from the app costs a counter check). Past
#   that, a client waits for a fresh copy, unless the app is down (health probe on
#   /healthz?only=database, or an error answer): then the stale copy is served for up to the app's
#   `stale-if-error` (a day).
# - One copy per encoding class (br, gzip, identity), the app asked with exactly that class: it
#   compresses each feed once per change itself, so Varnish never compresses.
# - Conditional GETs from clients (If-None-Match, If-Modified-Since) are answered 304 by Varnish
#   from the cached copy's ETag and Last-Modified.
# - Never cached: the API (/api/), the publish desk (/publish, its session cookie lives there),
#   /healthz and /metrics, anything with Authorization (journalists' feeds), and whatever the app
#   does not mark `public`.
#
# X-Cache on every answer: HIT (from the cache; "HIT stale" past max-age), MISS, PASS.

import directors;
import std;
import xkey;

# Whether an app server can answer: 503 while the database is unreachable; delivery lag (a hub
# that is down) must not take serving down, so the probe asks for the database alone.
probe feedsvc_health {
    .url = "/healthz?only=database";
    .interval = 2s;
    .timeout = 2s;
    .window = 5;
    .threshold = 3;
    .initial = 3;                   # healthy from the start
}

backend feedsvc {
    .host = "127.0.0.1";
    .port = "8000";
    .connect_timeout = 5s;          # the app is on this machine: fail fast
    .first_byte_timeout = 30s;      # = gunicorn's --timeout
    .between_bytes_timeout = 30s;
    .probe = feedsvc_health;
}

sub vcl_init {
    # No return here: a file that includes this one adds its backends after (see above).
    new app_servers = directors.round_robin();
    app_servers.add_backend(feedsvc);
}

# Who may purge: the delivery worker, on this machine.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    set req.backend_hint = app_servers.backend();
    if (req.restarts == 0) {
        # Set only by this VCL, on restarts (see vcl_hit and vcl_deliver).
        unset req.http.x-feedsvc-grace;
        unset req.http.x-feedsvc-encoding;
    }
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "No xkey-purge header"));
        }
        set req.http.x-feedsvc-purged = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged"));
    }
    if (req.http.host ~ "[[:upper:]]") {
        set req.http.host = req.http.host.lower();
    }
    if (req.method == "PRI") {
        return (synth(405));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        # Writes (the API, the publish form) always reach the app.
        return (pass);
    }
    if (req.url ~ "^/(api|publish)(/|\?|$)" || req.url ~ "^/(healthz|metrics)(\?|$)") {
        return (pass);
    }
    if (req.http.Authorization) {
        # A journalist's feed shows embargoed releases: never shared.
        return (pass);
    }
    if (req.http.Sec-Fetch-Dest == "document" && req.url ~ "/feed\.(atom|rss)(\?|$)") {
        # A person opened the feed in a browser: the app labels those bytes so that the browser
        # applies the feed's stylesheet (private, never stored); readers keep the cached copy.
        return (pass);
    }
    # Public pages and feeds do not depend on cookies (the publish desk's lives under /publish).
    unset req.http.Cookie;

    # The app's encodings, in its order of preference: br, gzip, identity ("x;q=0" means "not x").
    if (req.http.Accept-Encoding ~ "(?i)(^|,)\s*br\s*(;|,|$)"
        && req.http.Accept-Encoding !~ "(?i)(^|,)\s*br\s*;\s*q\s*=\s*0(\.0*)?\s*(,|$)") {
        set req.http.x-feedsvc-encoding = "br";
    } elsif (req.http.Accept-Encoding ~ "(?i)(^|,)\s*gzip\s*(;|,|$)"
        && req.http.Accept-Encoding !~ "(?i)(^|,)\s*gzip\s*;\s*q\s*=\s*0(\.0*)?\s*(,|$)") {
        set req.http.x-feedsvc-encoding = "gzip";
    } else {
        set req.http.x-feedsvc-encoding = "identity";
    }
    if (req.http.x-feedsvc-encoding == "identity") {
        unset req.http.Accept-Encoding;
    } else {
        set req.http.Accept-Encoding = req.http.x-feedsvc-encoding;
    }

    if (req.http.x-feedsvc-grace == "none") {
        # Restarted from vcl_hit: a stale copy must not be served, fetch a fresh one.
        set req.grace = 0s;
    } else {
        # The object's own grace (req.grace outlives a restart, so say it each time).
        set req.grace = 3650d;
    }
    return (hash);
}

sub vcl_hash {
    hash_data(req.url);
    if (req.http.host) {
        hash_data(req.http.host);
    } else {
        hash_data(server.ip);
    }
    # One object per encoding class. (With http_gzip_support on, Varnish ignores Vary: Accept-Encoding,
    # so the class must be part of the hash.)
    hash_data(req.http.x-feedsvc-encoding);
    return (lookup);
}

sub vcl_hit {
    # Past max-age: within the app's stale-while-revalidate the stale copy is served (and refreshed in
    # the background). Beyond it the app must answer, unless it is down (stale-if-error). A feed's first
    # page and a page have no stale-while-revalidate: they are never served past a grid point (an
    # embargo instant); only archive pages have it.
    if (obj.ttl <= 0s
        && !req.http.x-feedsvc-grace
        && std.healthy(req.backend_hint)
        && obj.ttl + std.duration(obj.http.x-feedsvc-swr, 0s) <= 0s) {
        set req.http.x-feedsvc-grace = "none";
        return (restart);
    }
    return (deliver);
}

sub vcl_backend_fetch {
    # The app is asked in exactly the encoding class of the object's hash (Varnish's own gzip support
    # would otherwise ask for gzip).
    if (bereq.http.x-feedsvc-encoding == "identity") {
        unset bereq.http.Accept-Encoding;
    } elsif (bereq.http.x-feedsvc-encoding) {
        set bereq.http.Accept-Encoding = bereq.http.x-feedsvc-encoding;
    }
    unset bereq.http.x-feedsvc-encoding;
    unset bereq.http.x-feedsvc-grace;
    if (!bereq.uncacheable) {
        # A copy for everybody must show the feed as of now: the app then reads its change
        # counters afresh instead of trusting them for FEEDSVC_FEED_STATE_TTL (PostgreSQL).
        set bereq.http.Cache-Control = "no-cache";
    }
    if (bereq.method == "GET") {
        unset bereq.body;
    }
    return (fetch);
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.status >= 500 && bereq.is_bgfetch) {
        # A background refresh failed: keep serving the stale copy (stale-if-error).
        return (abandon);
    }
    if (beresp.http.Cache-Control !~ "(?i)(^|,)\s*public\s*(,|$)"
        || beresp.http.Cache-Control ~ "(?i)(private|no-store|no-cache)"
        || beresp.http.Set-Cookie
        || beresp.http.Vary == "*") {
        # Not for sharing: not stored, and the next request is not held back waiting for this one.
        set beresp.ttl = 120s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # beresp.ttl is the app's max-age already (minus any Age). Varnish took stale-while-revalidate as
    # grace, or 10 s without it: keep the app's figure for vcl_hit, and keep the object for as long as
    # stale-if-error allows (served only while the app is down).
    if (beresp.http.Cache-Control ~ "(?i)stale-while-revalidate\s*=\s*[0-9]+") {
        set beresp.http.x-feedsvc-swr = regsub(beresp.http.Cache-Control,
            "(?i)^.*stale-while-revalidate\s*=\s*([0-9]+).*$", "\1s");
    } else {
        set beresp.http.x-feedsvc-swr = "0s";
    }
    if (beresp.http.Cache-Control ~ "(?i)stale-if-error\s*=\s*[0-9]+") {
        set beresp.grace = std.duration(regsub(beresp.http.Cache-Control,
            "(?i)^.*stale-if-error\s*=\s*([0-9]+).*$", "\1s"), 0s);
    } else {
        set beresp.grace = std.duration(beresp.http.x-feedsvc-swr, 0s);
    }
    if (beresp.grace < std.duration(beresp.http.x-feedsvc-swr, 0s)) {
        set beresp.grace = std.duration(beresp.http.x-feedsvc-swr, 0s);
    }
    return (deliver);
}

sub vcl_backend_error {
    if (bereq.is_bgfetch) {
        # The app is unreachable: keep serving the stale copy.
        return (abandon);
    }
    set beresp.http.Content-Type = "text/plain; charset=utf-8";
    set beresp.http.Retry-After = "5";
    set beresp.http.Cache-Control = "no-store";
    set beresp.body = "feedsvc is unreachable, try again shortly";
    return (deliver);
}

sub vcl_deliver {
    if (resp.status >= 500 && req.http.x-feedsvc-grace == "none") {
        # Fetching a fresh copy failed: the stale one, as stale-if-error promises.
        set req.http.x-feedsvc-grace = "stale-if-error";
        return (restart);
    }
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
        if (obj.ttl <= 0s) {
            set resp.http.X-Cache = "HIT stale";
        }
    } else {
        set resp.http.X-Cache = "MISS";
    }
    unset resp.http.xkey;
    unset resp.http.x-feedsvc-swr;
    unset resp.http.Via;
    return (deliver);
}

sub vcl_synth {
    if (req.method == "PURGE") {
        set resp.http.X-Purged = req.http.x-feedsvc-purged;
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        if (resp.status == 200) {
            set resp.body = "purged " + req.http.x-feedsvc-purged + " objects";
        } else {
            set resp.body = resp.reason;
        }
        return (deliver);
    }
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    set resp.body = "" + resp.status + " " + resp.reason;
    return (deliver);
}
