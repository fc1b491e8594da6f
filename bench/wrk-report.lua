-- wrk script for the foundation benchmarks (issue #2): prints one Markdown
-- table row with p50, p95 and p99 (wrk's --latency shows no p95), requests
-- per second and errors. The label comes from the environment's WRK_LABEL.
done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local errs = string.format("non-2xx/3xx×%d connect×%d read×%d write×%d timeout×%d", e.status, e.connect, e.read, e.write, e.timeout)
  io.write(string.format("| `%s` | %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %s |\n",
    os.getenv("WRK_LABEL") or "?", os.getenv("WRK_CONNS") or "?", summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000, errs))
end
