/** The iframe page's script (web-cat.client.js), bundled as text (wrangler.toml [[rules]] Text). */
declare const script: string;
export default script;
