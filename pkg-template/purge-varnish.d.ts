// Types for the Varnish (vmod xkey) purger (purge-varnish.js).
import type { HttpPurgeOptions, PurgeableSet, PurgeFailure, PurgeResult } from "./purge.js";

export interface VarnishPurgeOptions extends Omit<HttpPurgeOptions, "token" | "apiBase" | "batchSize"> {
  /** The Varnish listen address to send the purge to, e.g. "http://127.0.0.1:6081/". */
  url: string;
  /** The request header carrying the tags. Default "xkey-purge", or "xkey-softpurge" when soft. */
  header?: string;
  /** Soft purge (xkey.softpurge: stale, served within grace while refetched). Default false. */
  soft?: boolean;
  /** Default "PURGE". */
  method?: string;
  /** Most bytes of one header line (name, ": ", tags). Default 8000, under Varnish's 8 KB http_req_hdr_len. */
  maxHeaderBytes?: number;
}

export function purgeVarnish(
  config: VarnishPurgeOptions,
  set: PurgeableSet,
  opts?: { soft?: boolean },
): Promise<PurgeResult>;

export interface VarnishPlan {
  backend: "varnish";
  method: string;
  soft: boolean;
  header: string;
  /** One request each: `items` joined by a space is the header value. */
  batches: Array<{ kind: string; items: string[] }>;
  failed: PurgeFailure[];
}

export function planVarnish(set: PurgeableSet, config?: Partial<VarnishPurgeOptions>): VarnishPlan;

export declare const VARNISH_MAX_HEADER_BYTES: 8000;
