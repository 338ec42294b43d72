// `exports` from cloudflare:workers: the Worker's own exports, as the tests call them.
declare namespace Cloudflare {
  interface Exports {
    default: Fetcher;
  }
}
