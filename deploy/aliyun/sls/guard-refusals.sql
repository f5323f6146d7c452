functionName: handshake-janitor and "invocation summary" |
SELECT
  from_unixtime(__time__) AS time,
  json_extract_scalar(message, '$.dry_run') AS selected,
  json_extract_scalar(message, '$.error') AS error,
  json_extract_scalar(message, '$.trigger') AS trigger,
  json_extract_scalar(message, '$.invocation_id') AS invocation_id
FROM log
WHERE json_extract_scalar(message, '$.message') = 'invocation summary'
  AND json_extract_scalar(message, '$.guard_refused') = '1'
ORDER BY time DESC
LIMIT 1000
