functionName: handshake-janitor and "invocation summary" |
SELECT
  date_trunc('day', __time__) AS day,
  count(1) AS invocations,
  sum(cast(json_extract_scalar(message, '$.cancelled') AS bigint)) AS cancelled,
  sum(cast(json_extract_scalar(message, '$.skipped') AS bigint)) AS skipped,
  sum(cast(json_extract_scalar(message, '$.not_found') AS bigint)) AS not_found,
  sum(cast(json_extract_scalar(message, '$.invalid') AS bigint)) AS invalid,
  sum(cast(json_extract_scalar(message, '$.dry_run') AS bigint)) AS dry_run,
  sum(cast(json_extract_scalar(message, '$.failed') AS bigint)) AS failed,
  sum(cast(json_extract_scalar(message, '$.guard_refused') AS bigint)) AS guard_refused,
  max(cast(json_extract_scalar(message, '$.duration_ms') AS bigint)) AS max_duration_ms
FROM log
WHERE json_extract_scalar(message, '$.message') = 'invocation summary'
GROUP BY day
ORDER BY day DESC
LIMIT 1000
