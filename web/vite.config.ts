import { defineConfig } from "vite";

// The api role serves dist/ at `/` on the same origin as the API. During
// development, `npm run dev` serves the sources and passes /api (HTTP,
// Server-Sent Events and WebSockets) to a `hangar up` on its default address.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      "/api": {
        target: "http://127.0.0.1:8080",
        ws: true,
        configure: (proxy) => {
          // Send an event stream's headers at once, not with its first event,
          // so that EventSource opens as it does against the server itself.
          proxy.on("proxyRes", (proxyRes, _req, res) => {
            if (String(proxyRes.headers["content-type"] ?? "").startsWith("text/event-stream")) {
              queueMicrotask(() => res.flushHeaders());
            }
          });
        },
      },
    },
  },
});
