functionName: handshake-janitor and "invocation summary" |
SELECT
  count(1) AS invocations,
  coalesce(sum(cast(json_extract_scalar(message, '$.failed') AS bigint)), 0) AS failed,
  coalesce(sum(cast(json_extract_scalar(message, '$.guard_refused') AS bigint)), 0) AS guard_refused,
  coalesce(sum(CASE WHEN json_extract_scalar(message, '$.level') = 'error' THEN 1 ELSE 0 END), 0) AS failed_invocations
FROM log
WHERE json_extract_scalar(message, '$.message') = 'invocation summary'
